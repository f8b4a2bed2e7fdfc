"""The fleet's alert rules: promtool checks them and runs their unit tests (every alert fires in one case;
promtool fails on any alert the case does not expect, so the quiet kiosks in each case stay quiet)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.test_metrics import EXPECTED

CONFIG = Path(__file__).resolve().parent.parent / "config"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus) missing")


@needs_promtool
def test_promtool_checks_the_rules_and_runs_their_tests() -> None:
    rules = CONFIG / "prometheus" / "alerts.yml"
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(
        ["promtool", "test", "rules", "alerts.test.yml"], cwd=rules.parent, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_alert_has_a_case_that_fires() -> None:
    rules = yaml.safe_load((CONFIG / "prometheus" / "alerts.yml").read_text())
    tests = yaml.safe_load((CONFIG / "prometheus" / "alerts.test.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    firing = {c["alertname"] for t in tests["tests"] for c in t["alert_rule_test"] if c.get("exp_alerts")}
    assert alerts == firing
    assert {"KioskDown", "KioskOfflineTooLong", "KioskVaultEmpty", "KioskSlotJammed", "KioskDoorOpened"} <= alerts


def test_rules_and_dashboard_use_only_metrics_the_kiosk_exports() -> None:
    ours = set(EXPECTED) | {f"{n}_total" for n, (k, _) in EXPECTED.items() if k == "counter"}
    ours |= {f"kiosk_journey_seconds_{s}" for s in ("bucket", "count", "sum")}
    texts = [(CONFIG / "prometheus" / "alerts.yml").read_text()]
    dashboard = json.loads((CONFIG / "grafana" / "loket-fleet.json").read_text())
    texts += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {m for text in texts for m in re.findall(r"\bkiosk_[a-z_]+", text)}
    assert used and used <= ours, used - ours

"""The gateway's systemd unit (systemd/gateway/loket-gateway.service) passes `systemd-analyze verify` and
meets its `systemd-analyze security` exposure goal, which docs/gateway-deployment.md states."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "gateway" / "loket-gateway.service"
INSTALLED = "/opt/loket-gateway/venv/bin/loket-gateway"
GOAL = 2.5

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


def _installed_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this test run's loket-gateway (verify checks that it exists)."""
    here = Path(sys.executable).with_name("loket-gateway")
    assert here.exists()
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(here)))
    return unit


def _exposure(unit: Path, threshold: int) -> tuple[int, float]:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--threshold={threshold}", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", out.stdout)
    assert found, out.stdout + out.stderr
    return out.returncode, float(found.group(1))


def test_the_gateway_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    unit = _installed_here(tmp_path)
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    text = UNIT.read_text()
    for directive in (
        "Type=notify",
        "User=loket-gateway",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "--handshake-timeout",
        "ExecStartPre=" + INSTALLED + " migrate",
    ):
        assert directive in text, directive


def test_the_gateway_unit_meets_its_exposure_goal_as_the_deployment_doc_says(tmp_path: Path) -> None:
    status, exposure = _exposure(UNIT, round(GOAL * 10))
    assert status == 0 and exposure <= GOAL, exposure
    assert _exposure(UNIT, round(exposure * 10) - 1)[0] != 0  # the threshold really is checked
    doc = (ROOT / "docs" / "gateway-deployment.md").read_text()
    assert f"exposure {exposure}" in doc

"""`kiosk bench powercut`: the kiosk killed with SIGKILL mid-work and restarted, through the CLI; a short
run holds every count at 0, and a deliberately broken kiosk is caught."""

from __future__ import annotations

import json

import pytest

from kiosk.bench.powercut import GOALS
from kiosk.cli import main


def bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["bench", "powercut", *args, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1])


def test_a_short_run_of_kills_holds_every_count_at_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = bench(capsys, "--kills", "6", "--seed", "3")
    assert result["kills"] == 6
    assert {goal: result[goal] for goal in GOALS} == dict.fromkeys(GOALS, 0)
    assert code == 0
    assert result["tickets_used"] > 0 and result["journal_rows"] > 0
    assert sum(result["kills_by_phase"].values()) == 6


def test_a_kiosk_that_skips_reconciliation_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    # every kill just after a release's gate opened: the intent is written, its outcome is not
    code, result = bench(capsys, "--kills", "3", "--only", "release.gate_opened", "--broken", "skip_reconcile")
    assert result["kills_by_phase"].get("release", 0) >= 1
    assert result["open_intents"] >= 1
    assert code == 1


def test_a_ticket_spent_in_two_transactions_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    # the used-ticket row, a kill, then (never) its journal row and event: the bug issue 14 found
    code, result = bench(capsys, "--kills", "2", "--only", "ticket.split", "--broken", "ticket_split")
    assert result["tickets_without_event"] >= 1
    assert code == 1


def test_an_unknown_phase_is_refused_with_the_phases_named() -> None:
    with pytest.raises(SystemExit, match="reconcile"):
        main(["bench", "powercut", "--kills", "1", "--only", "teleport"])

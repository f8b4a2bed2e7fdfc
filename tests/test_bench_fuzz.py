"""`kiosk bench fuzz [target] --inputs N` (issue 14): every outside edge fed broken input through the CLI; a
short run of each finds no crash and no hang, and a crash, a slow input and a call that never ends planted
in an edge are each counted, named and turn the exit code to 1."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from kiosk.bench import fuzz_harness, fuzz_inputs
from kiosk.cli import main
from kiosk.identity.base45 import b45decode
from kiosk.identity.nik import parse_nik

TARGETS = ("ticket", "nik", "base45", "apdu", "config", "gateway")


def fuzz(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["bench", "fuzz", *args, "--json"])
    (line,) = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(line)


@pytest.mark.parametrize(
    ("target", "inputs"),
    [("ticket", 1500), ("nik", 3000), ("base45", 3000), ("apdu", 1000), ("config", 100), ("gateway", 12)],
)
def test_a_short_run_of_each_target_finds_no_crash_and_no_hang(capsys, target, inputs):
    code, r = fuzz(capsys, target, "--inputs", str(inputs), "--seed", "5")
    assert r["target"] == target and r["inputs"] == inputs and r["seed"] == 5
    assert r["crashes"] == 0, r["crash_examples"]
    assert r["hangs"] == 0, r["hang_examples"]
    assert r["inputs_per_second"] > 0 and r["deadline_s"] > 0
    assert code == 0


def test_the_ticket_target_reaches_every_check_and_the_camera(capsys):
    _, r = fuzz(capsys, "ticket", "--inputs", "3000")
    reasons = {"accepted", "ticket_malformed", "ticket_unknown_key", "ticket_forged", "ticket_expired",
               "ticket_not_yet_valid", "ticket_wrong_office", "ticket_used"}  # fmt: skip
    assert reasons <= set(r["outcomes"])
    assert any(name.startswith("qr:") for name in r["outcomes"])  # some inputs went through a QR frame


def test_with_no_target_every_target_runs_and_the_inputs_are_the_total(capsys):
    code, r = fuzz(capsys, "--inputs", "3000")
    assert list(r["targets"]) == list(TARGETS)
    assert r["inputs"] == sum(t["inputs"] for t in r["targets"].values()) == 3000
    assert r["targets"]["gateway"]["inputs"] < r["targets"]["config"]["inputs"] < r["targets"]["ticket"]["inputs"]
    assert r["crashes"] == r["hangs"] == 0 and code == 0


def test_with_no_target_the_table_names_every_target_and_the_gateway_share(capsys):
    assert main(["bench", "fuzz", "--inputs", "600"]) == 0
    out = capsys.readouterr().out
    for target in TARGETS:
        assert f"\n  {target} " in out
    assert "a small share" in out and "(goal: 0 crashes, 0 hangs)" in out


def test_the_spread_is_exact_and_gives_every_target_an_input():
    shares = {"a": 0.5, "b": 0.499, "c": 0.001}
    assert fuzz_harness.split(1000, shares) == {"a": 500, "b": 499, "c": 1}
    assert fuzz_harness.split(10, shares) == {"a": 5, "b": 4, "c": 1}
    assert sum(fuzz_harness.split(999_999, shares).values()) == 999_999


def test_a_planted_crash_is_counted_shown_and_exits_1(capsys, monkeypatch):
    def broken(text: str) -> bytes:
        if "Z" in text:
            raise KeyError("a decoder's bug")
        return b45decode(text)

    monkeypatch.setattr(fuzz_inputs, "b45decode", broken)
    code, r = fuzz(capsys, "base45", "--inputs", "400", "--seed", "2")
    assert code == 1
    assert 0 < r["crashes"] < 400 and r["outcomes"]["crash"] == r["crashes"]
    first = r["crash_examples"][0]
    assert first["error"] == 'KeyError: "a decoder\'s bug"' and first["at"].startswith("test_bench_fuzz.py:")
    assert "Z" in first["value"] and len(r["crash_examples"]) == fuzz_harness.EXAMPLES_KEPT
    # the same seed makes the same inputs: a developer reruns the crash
    assert fuzz(capsys, "base45", "--inputs", "400", "--seed", "2")[1]["crash_examples"] == r["crash_examples"]


def test_a_planted_crash_shows_in_the_table(capsys, monkeypatch):
    monkeypatch.setattr(fuzz_inputs, "parse_nik", lambda text, today: {}[text])
    assert main(["bench", "fuzz", "nik", "--inputs", "50"]) == 1
    out = capsys.readouterr().out
    assert "crashes                 " in out and "! crash at input 0: KeyError" in out and "      input ('" in out


def test_an_answer_of_the_wrong_type_is_a_crash(capsys, monkeypatch):
    monkeypatch.setattr(fuzz_inputs, "parse_nik", lambda text, today: None)
    code, r = fuzz(capsys, "nik", "--inputs", "50")
    assert code == 1 and r["crashes"] > 0
    assert r["crash_examples"][0]["error"].startswith("WrongAnswer: answered NoneType, expected Nik or NikRefusal")


def test_a_planted_slow_input_is_counted_as_a_hang(capsys, monkeypatch):
    monkeypatch.setattr(fuzz_harness, "DEADLINE_S", 0.05)
    calls = [0]

    def slow(text: str, today: Any) -> Any:
        calls[0] += 1
        if calls[0] in (3, 7):
            time.sleep(0.1)
        return parse_nik(text, today)

    monkeypatch.setattr(fuzz_inputs, "parse_nik", slow)
    code, r = fuzz(capsys, "nik", "--inputs", "100")
    assert code == 1 and r["crashes"] == 0
    assert r["hangs"] == 2 and r["inputs"] == 100  # a slow call is counted; the run goes on
    assert all(h["took_s"] >= 0.1 for h in r["hang_examples"]) and r["longest_s"] >= 0.1


def test_a_call_that_never_ends_is_interrupted_and_the_other_targets_still_run(capsys, monkeypatch):
    monkeypatch.setattr(fuzz_harness, "HANG_LIMIT_S", 0.4)
    real = fuzz_inputs.base45_edge
    calls = [0]

    def planted(seed: int) -> fuzz_harness.Edge:
        edge = real(seed)

        def endless(text: str) -> str:
            calls[0] += 1
            while calls[0] == 5:  # the fifth input never returns (pure Python: the watchdog can stop it)
                pass
            return edge.feed(text)

        return dataclasses.replace(edge, feed=endless)

    monkeypatch.setattr(fuzz_inputs, "base45_edge", planted)
    started = time.monotonic()
    code, r = fuzz(capsys, "--inputs", "600")
    assert time.monotonic() - started < 30
    assert code == 1 and r["hangs"] == 1 and r["crashes"] == 0
    b45 = r["targets"]["base45"]
    assert b45["aborted_at_input"] == 4 and b45["inputs"] == 5
    (hang,) = b45["hang_examples"]
    assert hang["interrupted"] and hang["input"] == 4 and hang["took_s"] >= 0.4
    assert all(t["inputs"] > 0 for t in r["targets"].values())


def test_the_gateway_is_bounded_by_calls_or_by_seconds(capsys):
    code, r = fuzz(capsys, "gateway", "--inputs", "8")
    assert code == 0 and r["inputs"] == r["calls"] == 8
    started = time.monotonic()
    code, r = fuzz(capsys, "gateway", "--inputs", "100000", "--seconds", "1")
    assert code == 0 and 0 < r["calls"] < 100000 and time.monotonic() - started < 1 + 4 * 1.5


def test_the_apdu_target_names_its_atr_list(capsys):
    _, r = fuzz(capsys, "apdu", "--inputs", "500")
    assert r["atr_list"].endswith("smartcard_list.txt") and r["atr_patterns"] > 5000
    assert {"card_data", "CardReadError", "atr:unknown"} <= set(r["outcomes"])

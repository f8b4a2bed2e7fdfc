"""Staff cards: PIN hashing, the lockout rules, and operator mode through the real core and store."""

import subprocess
import sys

import pytest

from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Step
from kiosk.identity.operator import (
    FIRST_LOCKOUT_S,
    MAX_FAILURES,
    Attempts,
    Operator,
    hash_pin,
    judge,
    lockout_for,
    pause_after,
    verify_pin,
)
from kiosk.sim.world import DEMO_OPERATOR_PIN, DEMO_OPERATOR_UID
from kiosk.store import Store

OP = Operator("Yohana", "04AA0000000001", hash_pin("1357", n=2**10))
T = 1_790_000_000.0


def test_pin_hash_is_salted_and_verifies():
    a, b = hash_pin("1357", n=2**10), hash_pin("1357", n=2**10)
    assert a != b and "1357" not in a
    assert verify_pin("1357", a) and not verify_pin("1358", a)
    assert not verify_pin("1357", "plain-text-1357") and not verify_pin("1357", "scrypt$x$8$1$AA==$AA==")


def test_wrong_pins_pause_longer_and_the_fifth_locks():
    attempts, now = Attempts(), T
    pauses = []
    for _n in range(1, MAX_FAILURES + 1):
        verdict, attempts = judge(OP, "0000", attempts, now)
        assert not verdict.ok
        pauses.append(verdict.locked_until - now)
        now = verdict.locked_until
    assert pauses == [1, 2, 4, 8, FIRST_LOCKOUT_S]
    assert verdict.reason == "locked" and attempts.lockouts == 1


def test_right_pin_during_lockout_is_not_even_checked():
    verdict, _attempts = judge(OP, "1357", Attempts(0, 1, T + 100), T)
    assert (verdict.ok, verdict.reason) == (False, "locked")
    verdict, _ = judge(OP, "1357", Attempts(2, 0, T + 2), T)
    assert verdict.reason == "wait"


def test_each_lockout_is_longer_and_success_resets():
    assert [lockout_for(n) for n in (1, 2, 3)] == [300, 600, 1200]
    assert lockout_for(50) == 24 * 3600
    assert pause_after(0) == 0
    verdict, attempts = judge(OP, "1357", Attempts(3, 2, T - 1), T)
    assert verdict.ok and attempts == Attempts()


def test_unknown_card_is_refused():
    verdict, _ = judge(None, "1357", Attempts(), T)
    assert verdict.reason == "unknown_card"


def enter(world, clock, pin):
    clock.advance(20)
    world.kiosk.dispatch(ev.PinEntered(pin))
    return world.kiosk.pump()


def test_operator_mode_opens_with_card_and_pin(world, clock):
    world.reader.insert(DEMO_OPERATOR_UID)
    s = world.kiosk.pump()
    assert s.step == Step.OPERATOR_PIN and s.operator == "Petugas Demo"
    s = enter(world, clock, "0000")
    assert s.step == Step.OPERATOR_PIN and s.notice == Reason.PIN_WRONG
    s = enter(world, clock, DEMO_OPERATOR_PIN)
    assert s.step == Step.OPERATOR
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    kinds = [row[2] for row in world.store.journal_rows()]
    assert kinds[-4:] == ["operator_pin_wrong_pin", "operator_pin_ok", "operator_mode", "operator_exit"]
    assert world.kiosk.counters.outcomes == {"operator": 1}  # not a resident's visit


def test_lockout_is_journaled_and_survives_a_restart(world, clock, tmp_path):
    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    for _ in range(MAX_FAILURES):
        s = enter(world, clock, "9999")
    assert s.step == Step.REFUSED and s.reason == Reason.OPERATOR_LOCKED
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    s = enter(world, clock, DEMO_OPERATOR_PIN)  # right PIN, but locked
    assert s.reason == Reason.OPERATOR_LOCKED
    reopened = Store(world.store.path)  # a restart does not lift the lock
    _failures, lockouts, until = reopened.operator_attempts(DEMO_OPERATOR_UID)
    reopened.close()
    assert lockouts == 1 and until > clock()
    assert [r for r in world.store.journal_rows() if r[2] == "operator_pin_locked"]
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    clock.advance(FIRST_LOCKOUT_S + 1)
    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    assert enter(world, clock, DEMO_OPERATOR_PIN).step == Step.OPERATOR


def test_typing_too_soon_after_a_wrong_pin_is_asked_to_wait(world, clock):
    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    enter(world, clock, "0000")
    enter(world, clock, "0000")  # next pause: 2 s
    world.kiosk.dispatch(ev.PinEntered(DEMO_OPERATOR_PIN))  # at once: not even checked
    s = world.kiosk.pump()
    assert s.step == Step.OPERATOR_PIN and s.notice == Reason.PIN_WAIT


def test_the_pin_is_never_journaled_or_kept(world, clock):
    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    enter(world, clock, DEMO_OPERATOR_PIN)
    assert DEMO_OPERATOR_PIN not in repr(world.kiosk.session)
    assert all(DEMO_OPERATOR_PIN not in repr(row) for row in world.store.journal_rows())


def test_resident_cards_are_not_operator_cards(world):
    world.reader.insert("04000000000009")
    assert world.kiosk.pump().step == Step.IDLE


def test_operator_pin_command_prints_a_hash_for_the_config():
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "operator-pin", "--stdin"],
        input="2468\n",
        capture_output=True,
        text=True,
        check=True,
    )
    line = out.stdout.strip()
    assert line.startswith('pin_hash = "scrypt$') and verify_pin("2468", line.split('"')[1])
    bad = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "operator-pin", "--stdin"], input="12\n", capture_output=True, text=True
    )
    assert bad.returncode == 2 and "4 to 12 digits" in bad.stderr


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ('name = "A"\ncard_uid = "XYZ"\npin_hash = "{h}"', "operators[0].card_uid"),
        ('name = "A"\ncard_uid = "04AA0000000001"\npin_hash = "1357"', "operators[0].pin_hash"),
        ('card_uid = "04AA0000000001"\npin_hash = "{h}"', "operators[0].name"),
    ],
)
def test_bad_operator_entries_name_their_key(tmp_path, entry, key):
    from kiosk.config import ConfigError, load_config
    from tests.test_config import GOOD, write

    text = GOOD + "\n[[operators]]\n" + entry.replace("{h}", hash_pin("1357", n=2**10)) + "\n"
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text))
    assert any(p.startswith(key) for p in exc.value.problems), exc.value.problems

"""Operator mode in the pure flow: the PIN, then load, unload and clear alarms one motion at a time."""

from __future__ import annotations

from dataclasses import replace

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import step
from kiosk.flow.model import OperatorNote, Reason, Session, Step
from kiosk.flow.operator import TAP_TO_LOAD
from tests.flowkit import CFG, T0, Walker

UID, NAME = "04AA", "Yohana"


def in_operator_mode() -> Walker:
    w = Walker()(ev.OperatorCard(UID, NAME))
    assert w.s.visit == 1 and w.s.operator_uid == UID
    assert w.journal_kinds() == ["operator_card"] and w.effects[0] == fx.Journal("operator_card", {"operator": NAME})
    w(ev.PinEntered("1357"))
    assert w.last(fx.CheckPin) == [fx.CheckPin(1, UID, "1357")]
    w(ev.PinChecked(w.s.visit, True, "ok"))
    assert w.s.step == Step.OPERATOR and w.s.operator == NAME
    assert w.effects[-1] == fx.Journal("operator_mode", {"operator": NAME})
    return w.clear()


def test_a_pin_verdict_for_another_visit_is_ignored():
    w = Walker()(ev.OperatorCard(UID, NAME))
    w(ev.PinChecked(w.s.visit + 1, True, "ok"))
    assert w.s.step == Step.OPERATOR_PIN
    w(ev.PinChecked(w.s.visit - 1, False, "locked"))
    assert w.s.step == Step.OPERATOR_PIN and w.effects[-1:] == [fx.Journal("operator_card", {"operator": NAME})]


def test_a_wrong_pin_then_the_right_one_clears_the_notice():
    w = Walker()(ev.OperatorCard(UID, NAME))
    w(ev.PinChecked(w.s.visit, False, "wrong_pin"))
    assert w.s.notice == Reason.PIN_WRONG and w.s.step == Step.OPERATOR_PIN
    w(ev.PinEntered("1358"))
    assert w.s.notice is None
    w(ev.PinChecked(w.s.visit, True, "ok"))
    assert (w.s.step, w.s.notice) == (Step.OPERATOR, None)


def test_a_pin_without_a_staff_card_asks_nothing():
    w = Walker()(ev.PinEntered("1357"))
    assert w.s.step == Step.IDLE and w.effects == []


def test_loading_waits_for_a_tap_then_checks_the_card():
    w = in_operator_mode()
    w(ev.CardInserted("04BBCCDD"))  # not loading yet: a tap means nothing
    assert w.effects == [] and w.s.operator_note is None
    w(ev.Press(ev.LOAD))
    assert (w.s.operator_task, w.s.operator_note) == ("load", TAP_TO_LOAD)
    assert OperatorNote("Tap a finished card on the reader.", (), True, False) == TAP_TO_LOAD
    w(ev.CardInserted("04BBCCDD"))
    assert w.effects == [fx.LoadCard(w.s.visit, "04BBCCDD", NAME)]
    assert w.s.operator_note == OperatorNote("Checking the card…", (), True, True)
    w(ev.CardInserted("04EEFF00"))  # busy: one card at a time
    assert w.effects == [fx.LoadCard(w.s.visit, "04BBCCDD", NAME)]
    done = OperatorNote.of("Card %(card)s is in slot %(slot)s.", card="C00009", slot=3)
    assert done == OperatorNote("Card %(card)s is in slot %(slot)s.", (("card", "C00009"), ("slot", "3")), True, False)
    w(ev.OperatorDone(w.s.visit, done), after=5)
    assert w.s.operator_note == done and w.s.last_activity == w.now
    w(ev.CardInserted("04EEFF00"))  # free again, still loading
    assert w.effects[-1] == fx.LoadCard(w.s.visit, "04EEFF00", NAME)


def test_unloading_and_clearing_alarms_ask_the_runner_and_wait():
    w = in_operator_mode()
    w(ev.Press(ev.UNLOAD))
    assert w.effects == [fx.UnloadNext(w.s.visit, NAME)] and w.s.operator_task == "unload"
    assert w.s.operator_note == OperatorNote("Opening the next slot…", (), True, True)
    w(ev.Press(ev.CLEAR_ALARMS))  # busy: ignored
    w(ev.Press(ev.FINISH))  # busy: a slot is open, operator mode stays
    w(ev.Press(ev.LOAD))
    assert w.effects == [fx.UnloadNext(w.s.visit, NAME)] and w.s.step == Step.OPERATOR
    assert w.s.operator_task == "unload"
    w(ev.OperatorDone(w.s.visit + 1, OperatorNote.of("late", busy=False)))  # another visit's answer
    assert w.s.operator_note == OperatorNote("Opening the next slot…", (), True, True)
    w(ev.OperatorDone(w.s.visit, OperatorNote.of("Slot %(slot)s is shut.", slot=2, ok=True)))
    w(ev.Press(ev.CLEAR_ALARMS))
    assert w.effects[-1] == fx.ClearAlarms(w.s.visit, NAME)
    assert w.s.operator_note == OperatorNote("Checking…", (), True, True)
    w(ev.OperatorDone(w.s.visit, OperatorNote.of("Alarms cleared.", ok=False)))
    assert w.s.operator_note == OperatorNote("Alarms cleared.", (), False, False)
    w(ev.Press(ev.FINISH))
    assert w.s.step == Step.IDLE and w.s.operator is None
    assert w.effects[-2:] == [fx.Journal("operator_exit", {"step": "operator", "operator": NAME}), fx.EndVisit()]


def test_operator_mode_keeps_its_screen_on_other_events():
    w = in_operator_mode()
    before = w.s
    for event in (ev.Press(ev.BACK), ev.Press(ev.PRINT), ev.CardRemoved(), ev.Tick()):
        w(event, after=0)
    assert w.effects == [] and w.s.step == Step.OPERATOR and w.s.operator_note == before.operator_note
    w(ev.Tick(), after=CFG.operator_timeout_s - 1)
    assert w.s.step == Step.OPERATOR


def test_the_staff_card_and_the_pin_verdicts_enter_their_steps_at_their_time():
    w = Walker()(ev.OperatorCard(UID, NAME), after=3)
    assert (w.s.step, w.s.entered_at, w.s.last_activity) == (Step.OPERATOR_PIN, w.now, w.now)
    w(ev.Tick(), after=CFG.idle_timeout_s - CFG.warn_before_s)
    assert w.s.warned is True
    w(ev.PinChecked(w.s.visit, True, "ok"), after=2)
    assert (w.s.step, w.s.entered_at, w.s.last_activity) == (Step.OPERATOR, w.now, w.now)
    assert w.s.warned is False
    w = Walker()(ev.OperatorCard(UID, NAME)).clear()
    w(ev.PinChecked(w.s.visit, False, "locked"), after=4)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.OPERATOR_LOCKED, w.now)
    ref = w.s.reference
    assert ref and w.effects == [
        fx.Journal("refused", {"reason": "operator_locked", "step": "operator_pin", "ref": ref})
    ]


def test_finishing_operator_mode_leaves_a_fresh_idle_session():
    w = in_operator_mode()
    w(ev.Press(ev.FINISH), after=6)
    assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
    assert w.effects == [fx.Journal("operator_exit", {"step": "operator", "operator": NAME}), fx.EndVisit()]


def test_operator_actions_without_a_name_are_asked_for_as_staff_unknown():
    s = Session(step=Step.OPERATOR, visit=5, entered_at=T0, last_activity=T0)
    assert step(s, ev.Press(ev.UNLOAD), T0 + 1, CFG)[1] == (fx.UnloadNext(5, "?"),)
    assert step(s, ev.Press(ev.CLEAR_ALARMS), T0 + 1, CFG)[1] == (fx.ClearAlarms(5, "?"),)
    loading = replace(s, operator_task="load", operator_note=TAP_TO_LOAD)
    assert step(loading, ev.CardInserted("04BB"), T0 + 1, CFG)[1] == (fx.LoadCard(5, "04BB", "?"),)

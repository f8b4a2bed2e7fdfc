"""The operator steps of the flow: a staff card's PIN, then operator mode (load, unload, clear alarms)."""

from __future__ import annotations

from dataclasses import replace

from kiosk.flow import events as ev
from kiosk.flow.base import FlowConfig, Result, end, goto, is_result_for, refuse
from kiosk.flow.effects import CheckPin, ClearAlarms, Journal, LoadCard, UnloadNext
from kiosk.flow.model import OperatorNote, Reason, Session, Step
from kiosk.i18n import N_


def on_operator_pin(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.PinEntered) and s.operator_uid:
        return replace(s, notice=None), (CheckPin(s.visit, s.operator_uid, e.pin),)
    if isinstance(e, ev.PinChecked) and is_result_for(s, e):
        if e.ok:
            return goto(s, Step.OPERATOR, now), (Journal("operator_mode", {"operator": s.operator}),)
        if e.reason == "locked":
            return refuse(s, now, Reason.OPERATOR_LOCKED)
        return replace(s, notice=Reason.PIN_WAIT if e.reason == "wait" else Reason.PIN_WRONG), ()
    return s, ()


TAP_TO_LOAD = OperatorNote.of(N_("Tap a finished card on the reader."), busy=False)


def on_operator(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    busy = s.operator_note is not None and s.operator_note.busy
    if isinstance(e, ev.OperatorDone) and is_result_for(s, e):
        return replace(s, operator_note=e.note, last_activity=now), ()
    if isinstance(e, ev.Press):
        if e.action == ev.FINISH and not busy:
            return end(s, now, "operator_exit", operator=s.operator)
        if busy:
            return s, ()  # one motion at a time: a slot is open
        if e.action == ev.LOAD:
            return replace(s, operator_task="load", operator_note=TAP_TO_LOAD), ()
        if e.action == ev.UNLOAD:
            note = OperatorNote.of(N_("Opening the next slot…"), busy=True)
            return replace(s, operator_task="unload", operator_note=note), (UnloadNext(s.visit, s.operator or "?"),)
        if e.action == ev.CLEAR_ALARMS:
            return replace(s, operator_note=OperatorNote.of(N_("Checking…"), busy=True)), (
                ClearAlarms(s.visit, s.operator or "?"),
            )
    if isinstance(e, ev.CardInserted) and s.operator_task == "load" and not busy:
        note = OperatorNote.of(N_("Checking the card…"), busy=True)
        return replace(s, operator_note=note), (LoadCard(s.visit, e.uid, s.operator or "?"),)
    return s, ()

"""Operator mode: the staff card's PIN, then what the kiosk holds and how it is doing."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk.flow import events as ev
from kiosk.flow.model import Session
from kiosk.screens.base import StepScreen


class OperatorPinScreen(StepScreen):
    """The staff card's PIN; digits stay in this view and go to the flow once, on OK."""

    digits = StringProperty("")
    operator = StringProperty("")

    def show(self, s: Session) -> None:
        self.operator = s.operator or ""
        if s.notice:
            self.digits = ""

    def key(self, k: str) -> None:
        if k == "del":
            self.digits = self.digits[:-1]
        elif k == "ok":
            if self.digits:
                pin, self.digits = self.digits, ""
                App.get_running_app().post(ev.PinEntered(pin))
        elif len(self.digits) < 12:
            self.digits += k

    def on_leave(self, *args: Any) -> None:
        self.digits = ""


class OperatorScreen(StepScreen):
    """Operator mode: what the kiosk holds and how it is doing; loading, unloading, clearing alarms."""

    operator = StringProperty("")
    note = ObjectProperty(None, allownone=True)  # the session's OperatorNote
    busy = BooleanProperty(False)

    def show(self, s: Session) -> None:
        self.operator = s.operator or ""
        self.note = s.operator_note
        self.busy = bool(s.operator_note and s.operator_note.busy)

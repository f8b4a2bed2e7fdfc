"""Operator mode: the staff card's PIN, then what the kiosk holds and how it is doing."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.flow import events as ev
from kiosk.flow.model import Session
from kiosk.screens.base import StepScreen
from kiosk.screens.slotgrid import cells, open_slot


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
    """Operator mode: what the kiosk holds and how it is doing, slot by slot; loading, unloading, clearing
    alarms."""

    operator = StringProperty("")
    note = ObjectProperty(None, allownone=True)  # the session's OperatorNote
    busy = BooleanProperty(False)
    slots = ListProperty([])  # the slot grid's cells (kiosk.screens.slotgrid.Cell), slot order
    columns = NumericProperty(6)  # slots to a row, as the vault is built
    actions_min = NumericProperty(0)  # the narrowest the actions' pane may be beside the grid (operator.kv)

    def show(self, s: Session) -> None:
        self.operator = s.operator or ""
        self.note = s.operator_note
        self.busy = bool(s.operator_note and s.operator_note.busy)
        self.read_vault()

    def on_pre_enter(self, *args: Any) -> None:
        App.get_running_app().bind(vault_alarms=self.read_vault, vault_cards=self.read_vault)

    def on_leave(self, *args: Any) -> None:
        App.get_running_app().unbind(vault_alarms=self.read_vault, vault_cards=self.read_vault)

    def read_vault(self, *_args: Any) -> None:
        """Every slot from the kiosk's status snapshot (the runner's read-only view), the open one marked."""
        kiosk = App.get_running_app().kiosk
        self.columns = kiosk.cfg.hardware.vault_columns
        self.slots = cells(kiosk.status().slots, open_slot(self.note), kiosk.cfg.flow.utc_offset_s)

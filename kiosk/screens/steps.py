"""One screen per journey step. Screens are views: they show the session and turn touches into events;
they decide nothing and touch no hardware. Layouts live in the .kv file of the same name."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Session, Step
from kiosk.flow.rules import booking_qr, receipt_qr, resident_district
from kiosk.screens.widgets import ChoiceButton
from kiosk.texts import REASONS, STALE_NOTE, STATUSES


class StepScreen(Screen):
    """Base of every step screen: holds the session and posts presses."""

    session = ObjectProperty(None, allownone=True)
    notice_msgid = StringProperty("")  # a hint on this screen, e.g. 'try again'
    notice_next_msgid = StringProperty("")

    def press(self, action: str, value: str = "") -> None:
        App.get_running_app().post(ev.Press(action, value))

    def on_session(self, _instance: object, s: Session | None) -> None:
        notice = s.notice if s else None
        self.notice_msgid, self.notice_next_msgid = REASONS[notice] if notice else ("", "")
        if s is not None:
            self.show(s)

    def show(self, s: Session) -> None:
        """Copy what this screen shows from the session (override)."""


class IdleScreen(StepScreen):
    """Attract screen: scan your queue ticket."""


class CardScreen(StepScreen):
    """Present the old KTP: chip on the reader, printed side to the camera, or type the NIK."""


class NikEntryScreen(StepScreen):
    """A keypad for typing the NIK (last resort)."""

    digits = StringProperty("")

    def key(self, k: str) -> None:
        if k == "del":
            self.digits = self.digits[:-1]
        elif k == "ok":
            if self.digits:
                App.get_running_app().post(ev.NikRead(self.digits, "typed"))
        elif len(self.digits) < 16:
            self.digits += k

    def on_pre_enter(self, *args: Any) -> None:
        self.digits = ""

    def on_leave(self, *args: Any) -> None:
        self.digits = ""  # nothing of the resident stays behind

    @staticmethod
    def grouped(digits: str) -> str:
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


class BusyScreen(StepScreen):
    """Waiting on the reader or the gateway."""

    what_msgid = StringProperty("")


class FaceScreen(StepScreen):
    """Face check: look at the camera."""

    can_retry = BooleanProperty(False)
    prompt_msgid = StringProperty("")  # what the liveness challenge asks for now

    def show(self, s: Session) -> None:
        self.can_retry = s.notice == Reason.FACE_RETRY
        self.prompt_msgid = s.face_prompt or ""


class ReleaseScreen(StepScreen):
    """The vault slot is open: take your card."""

    slot = NumericProperty(0)

    def show(self, s: Session) -> None:
        self.slot = s.lookup.slot if s.lookup and s.lookup.slot is not None else 0


class TapNewScreen(StepScreen):
    """Tap the new card to prove the right card left the vault."""


class HandedOverScreen(StepScreen):
    """Receipt with a QR code."""

    code = StringProperty("")
    qr = StringProperty("")

    def show(self, s: Session) -> None:
        self.code = s.handover_code or ""
        kiosk_id = App.get_running_app().kiosk_id
        self.qr = receipt_qr(kiosk_id, self.code) if self.code else ""


class ChoiceScreen(StepScreen):
    """A list of choices (offices, days, times): `choices` holds (value, label, sublabel) rows."""

    choices = ListProperty([])
    action = ""
    kind = ""

    def on_choices(self, _instance: object, rows: list[tuple[str, str, str]]) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for value, label, sub in rows:
            button = ChoiceButton(value=value, label=label, sub=sub, kind=self.kind)
            button.bind(on_release=lambda b: self.press(self.action, b.value))
            grid.add_widget(button)


class ChooseOfficeScreen(ChoiceScreen):
    action, kind = ev.CHOOSE_OFFICE, "office"

    def show(self, s: Session) -> None:
        own = resident_district(s.nik)
        self.choices = [(o.office_id, o.name, "own" if o.district == own else "") for o in s.offices]


class ChooseDayScreen(ChoiceScreen):
    action, kind = ev.CHOOSE_DAY, "day"

    def show(self, s: Session) -> None:
        self.choices = [(d, d, str(sum(t.remaining for t in s.slots if t.day == d))) for d in s.days]


class ChooseTimeScreen(ChoiceScreen):
    action, kind = ev.CHOOSE_TIME, "time"
    day = StringProperty("")

    def show(self, s: Session) -> None:
        self.day = s.day or ""
        self.choices = [(t.time, t.time, str(t.remaining)) for t in s.times]


class BookedScreen(StepScreen):
    """The booking slip."""

    code = StringProperty("")
    qr = StringProperty("")
    office = StringProperty("")
    day = StringProperty("")
    time = StringProperty("")

    def show(self, s: Session) -> None:
        b = s.booking
        if b:
            self.code, self.office, self.day, self.time = b.code, b.office.name, b.day, b.time
            self.qr = booking_qr(b.code)


class StatusScreen(StepScreen):
    """Where the card stands and what to do next."""

    what_msgid = StringProperty("")
    next_msgid = StringProperty("")
    office = StringProperty("")
    stale_msgid = StringProperty("")
    known_at = StringProperty("")

    def show(self, s: Session) -> None:
        if s.lookup:
            self.what_msgid, self.next_msgid = STATUSES[s.lookup.status]
            self.office = s.lookup.office_name or ""
            self.stale_msgid = STALE_NOTE if s.lookup.stale else ""
            self.known_at = s.lookup.known_at or ""


class RefusedScreen(StepScreen):
    """A refusal: what happened and the way forward."""

    what_msgid = StringProperty("")
    next_msgid = StringProperty("")

    def show(self, s: Session) -> None:
        if s.reason:
            self.what_msgid, self.next_msgid = REASONS[s.reason]


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


SCREENS: dict[Step, type[StepScreen]] = {
    Step.IDLE: IdleScreen,
    Step.CARD: CardScreen,
    Step.NIK_ENTRY: NikEntryScreen,
    Step.LOOKUP: BusyScreen,
    Step.FACE: FaceScreen,
    Step.RELEASE: ReleaseScreen,
    Step.TAP_NEW: TapNewScreen,
    Step.HANDED_OVER: HandedOverScreen,
    Step.CHOOSE_OFFICE: ChooseOfficeScreen,
    Step.CHOOSE_DAY: ChooseDayScreen,
    Step.CHOOSE_TIME: ChooseTimeScreen,
    Step.BOOKING: BusyScreen,
    Step.BOOKED: BookedScreen,
    Step.STATUS: StatusScreen,
    Step.REFUSED: RefusedScreen,
    Step.OPERATOR_PIN: OperatorPinScreen,
    Step.OPERATOR: OperatorScreen,
}

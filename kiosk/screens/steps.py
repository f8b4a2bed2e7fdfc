"""One screen per journey step. Screens are views: they show the session and turn touches into events;
they decide nothing and touch no hardware. Layouts live in the .kv file of the same name."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Session, Step
from kiosk.flow.rules import booking_qr, receipt_qr, resident_district
from kiosk.screens.base import StepScreen
from kiosk.screens.idle import IdleScreen
from kiosk.screens.operator import OperatorPinScreen, OperatorScreen
from kiosk.screens.widgets import ChoiceButton, say_screen_again
from kiosk.texts import REASONS, STALE_NOTE, STATUSES

# the liveness challenge's prompts (kiosk.identity.face_check.PROMPTS) that show a direction on the oval
DIRECTIONS = {
    "Blink twice.": "blink",
    "Slowly turn your head to your left, then back.": "left",
    "Slowly turn your head to your right, then back.": "right",
}


class CardScreen(StepScreen):
    """Present the old KTP: chip on the reader, printed side to the camera, or type the NIK."""


class NikEntryScreen(StepScreen):
    """An old KTP without a chip: its printed side to the camera or, on request, the NIK typed on a keypad.
    One of the two layouts is shown at a time."""

    digits = StringProperty("")
    typing = BooleanProperty(False)

    def on_kv_post(self, base_widget: Any) -> None:
        self.remove_widget(self.ids.holder)
        self.layouts = {name: self.ids[name].__self__ for name in ("show_card", "type_card")}  # ids are weak
        self.on_typing(self, self.typing)

    def on_typing(self, _instance: object, typing: bool) -> None:
        layouts = getattr(self, "layouts", None)
        if layouts is None:
            return
        show, hide = (
            (layouts["type_card"], layouts["show_card"]) if typing else (layouts["show_card"], layouts["type_card"])
        )
        if hide.parent is not None:
            self.remove_widget(hide)
        if show.parent is None:
            self.add_widget(show)
        say_screen_again()

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
        self.typing = False

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
    direction = StringProperty("")  # drawn on the oval: left, right or blink

    def show(self, s: Session) -> None:
        self.can_retry = s.notice == Reason.FACE_RETRY
        self.prompt_msgid = s.face_prompt or ""
        self.direction = DIRECTIONS.get(self.prompt_msgid, "")


class ReleaseScreen(StepScreen):
    """The vault slot is open: take your card."""

    slot = NumericProperty(0)
    rows = NumericProperty(4)
    cols = NumericProperty(6)

    def show(self, s: Session) -> None:
        self.slot = s.lookup.slot if s.lookup and s.lookup.slot is not None else 0
        hardware = App.get_running_app().kiosk.cfg.hardware
        self.cols = hardware.vault_columns
        self.rows = -(-hardware.vault_slots // hardware.vault_columns)


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


class ConfirmBookingScreen(StepScreen):
    """Office, day and time once more before anything is booked: Yes books it, Back changes the time."""

    office = StringProperty("")
    day = StringProperty("")
    time = StringProperty("")

    def show(self, s: Session) -> None:
        self.office = s.office.name if s.office else ""
        self.day, self.time = s.day or "", s.time or ""


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
    officer_called = BooleanProperty(False)  # then the resident is asked to wait (no OK to walk away)
    reference = StringProperty("")  # staff find the visit in the journal by it

    def show(self, s: Session) -> None:
        if s.reason:
            self.what_msgid, self.next_msgid = REASONS[s.reason]
        self.officer_called = s.help_called
        self.reference = s.reference or ""


SPOKEN = ("Title", "Notice")  # the kv classes whose text is the screen's instruction (and what went wrong)


def spoken_text(screen: Screen) -> str:
    """What the kiosk says for this screen: its titles and notices as shown, top to bottom."""
    found = [
        (w.to_window(w.x, w.top)[1], w.text)
        for w in screen.walk(restrict=True)
        if isinstance(w, Label)
        and (type(w).__name__ in SPOKEN or getattr(w.parent, "spoken", False))
        and w.opacity > 0
        and w.text.strip()
    ]
    return " ".join(text for _y, text in sorted(found, key=lambda f: -f[0]))


STEP_TOTAL = 4
# 'Step n of 4': the ticket, the old KTP, the face or the booking choices, then the card or the booking
STEP_NUMBERS: dict[Step, int] = {
    Step.IDLE: 1,
    Step.CARD: 2,
    Step.NIK_ENTRY: 2,
    Step.LOOKUP: 2,
    Step.FACE: 3,
    Step.CHOOSE_OFFICE: 3,
    Step.CHOOSE_DAY: 3,
    Step.CHOOSE_TIME: 3,
    Step.CONFIRM_BOOKING: 3,
    Step.BOOKING: 4,
    Step.RELEASE: 4,
    Step.TAP_NEW: 4,
}

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
    Step.CONFIRM_BOOKING: ConfirmBookingScreen,
    Step.BOOKING: BusyScreen,
    Step.BOOKED: BookedScreen,
    Step.STATUS: StatusScreen,
    Step.REFUSED: RefusedScreen,
    Step.OPERATOR_PIN: OperatorPinScreen,
    Step.OPERATOR: OperatorScreen,
}

"""Events that drive the journey: from the resident (touches), the hardware and effect results.

Result events carry the `visit` number of the effect that asked for them, so that a late answer to
an abandoned visit is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.flow.model import Booking, Lookup, Office, OperatorNote, Reason, Slot, TicketClaim
from kiosk.identity.ticket import Ticket, TicketRefusal


@dataclass(frozen=True)
class Tick:
    """Time passes (the app sends one every second or so)."""


@dataclass(frozen=True)
class TicketScanned:
    """The camera decoded a QR code and it was verified (or refused)."""

    result: Ticket | TicketRefusal


@dataclass(frozen=True)
class TicketClaimed:
    """The gateway's answer to this visit's ticket claim."""

    visit: int
    ticket_id: str
    claim: TicketClaim


@dataclass(frozen=True)
class CardInserted:
    """A card was presented on the reader."""

    uid: str
    atr: str = ""


@dataclass(frozen=True)
class CardRemoved:
    """The card left the reader."""


@dataclass(frozen=True)
class CardUnreadable:
    """A card was presented but could not be read."""


@dataclass(frozen=True)
class ChipResolved:
    """The gateway (or cached manifest) mapped an old card's chip UID to a NIK (None: unknown)."""

    visit: int
    nik: str | None
    unavailable: bool = False


@dataclass(frozen=True)
class NikRead:
    """A NIK read from the printed card by the camera (ocr) or typed on screen (typed)."""

    text: str
    source: str  # "ocr" | "typed"


@dataclass(frozen=True)
class LookupDone:
    """The answer to a LookUp effect."""

    visit: int
    lookup: Lookup


@dataclass(frozen=True)
class FaceChecked:
    """The face check finished one attempt."""

    visit: int
    match: bool
    live: bool
    score: float
    reason: str = ""


@dataclass(frozen=True)
class FacePrompt:
    """The face check asks the resident for something (a msgid: 'Blink twice.', 'Come closer.')."""

    visit: int
    msgid: str


@dataclass(frozen=True)
class VaultOutcome:
    """How a release ended: taken, not_taken or jammed."""

    visit: int
    outcome: str


@dataclass(frozen=True)
class OfficesLoaded:
    """Recording offices, for a booking (empty: none reachable)."""

    visit: int
    offices: tuple[Office, ...]


@dataclass(frozen=True)
class SlotsLoaded:
    """Slots of the chosen office."""

    visit: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class BookingDone:
    """A booking was made (booking set) or refused (reason set)."""

    visit: int
    booking: Booking | None
    reason: Reason | None = None


@dataclass(frozen=True)
class OperatorCard:
    """A staff card enrolled in the configuration was tapped."""

    uid: str
    name: str


@dataclass(frozen=True)
class PinEntered:
    """The PIN typed after a staff card (never kept in the session)."""

    pin: str


@dataclass(frozen=True)
class PinChecked:
    """The verdict on a PIN: ok, wrong_pin or locked."""

    visit: int
    ok: bool
    reason: str


@dataclass(frozen=True)
class Press:
    """The resident pressed a button on screen. `action` names it; `value` carries a choice."""

    action: str
    value: str = ""


@dataclass(frozen=True)
class OperatorDone:
    """An operator action (loading, unloading, clearing alarms) finished, or reports progress (`busy`)."""

    visit: int
    note: OperatorNote


Event = (
    Tick
    | TicketScanned
    | TicketClaimed
    | CardInserted
    | CardRemoved
    | CardUnreadable
    | ChipResolved
    | NikRead
    | LookupDone
    | FaceChecked
    | FacePrompt
    | VaultOutcome
    | OfficesLoaded
    | SlotsLoaded
    | BookingDone
    | OperatorCard
    | PinEntered
    | PinChecked
    | OperatorDone
    | Press
)

# Press actions
CANCEL = "cancel"
HELP = "help"
LANGUAGE = "language"
STILL_HERE = "still_here"
FINISH = "finish"
BACK = "back"
TYPE_NIK = "type_nik"
PRINT = "print"
CHOOSE_OFFICE = "choose_office"
CHOOSE_DAY = "choose_day"
CHOOSE_TIME = "choose_time"
CONFIRM = "confirm"  # yes, book this
RETRY_FACE = "retry_face"
LOAD = "load"  # operator: start loading cards
UNLOAD = "unload"  # operator: take out the next card due
CLEAR_ALARMS = "clear_alarms"  # operator: the door is shut and the slots are checked
PRESS_ACTIONS = (
    CANCEL,
    HELP,
    LANGUAGE,
    STILL_HERE,
    FINISH,
    BACK,
    TYPE_NIK,
    PRINT,
    CHOOSE_OFFICE,
    CHOOSE_DAY,
    CHOOSE_TIME,
    CONFIRM,
    RETRY_FACE,
    LOAD,
    UNLOAD,
    CLEAR_ALARMS,
)

"""The journey's states and the plain data a session carries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.identity.ticket import Ticket


class Step(StrEnum):
    """Where the resident is in the journey; each has one screen."""

    IDLE = "idle"  # attract screen: scan your queue ticket
    CARD = "card"  # present the old KTP
    NIK_ENTRY = "nik_entry"  # type the NIK (last resort)
    LOOKUP = "lookup"  # busy: reading the card / looking the resident up
    FACE = "face"  # face check with liveness challenge
    RELEASE = "release"  # vault slot open: take your card
    TAP_NEW = "tap_new"  # tap the new card to confirm
    HANDED_OVER = "handed_over"  # receipt
    CHOOSE_OFFICE = "choose_office"
    CHOOSE_DAY = "choose_day"
    CHOOSE_TIME = "choose_time"
    CONFIRM_BOOKING = "confirm_booking"  # office, day and time shown once more before the booking is made
    BOOKING = "booking"  # busy: loading slots / booking
    BOOKED = "booked"  # booking slip
    STATUS = "status"  # where the card stands
    REFUSED = "refused"  # a refusal with a reason and a way forward
    OPERATOR_PIN = "operator_pin"  # a staff card was tapped: its PIN
    OPERATOR = "operator"  # operator mode


BUSY_STEPS = frozenset({Step.LOOKUP, Step.BOOKING})


class CardStatus(StrEnum):
    """Where a resident's e-KTP stands, as the lookup reports it."""

    READY_HERE = "ready_here"
    READY_ELSEWHERE = "ready_elsewhere"
    VERIFICATION = "verification"  # penunggalan (deduplication)
    PRINTING = "printing"
    WAITING_BLANKO = "waiting_blanko"
    NEVER_RECORDED = "never_recorded"
    COLLECTED = "collected"  # already handed over
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"  # link down and nothing cached


class TicketClaim(StrEnum):
    """What the gateway said when this kiosk claimed a ticket for a visit."""

    CLAIMED = "claimed"  # this kiosk's now (or already: a repeat after a restart)
    USED_ELSEWHERE = "used_elsewhere"  # another kiosk spent it
    OFFLINE = "offline"  # no answer: this kiosk's own single use holds; a reuse elsewhere is a conflict later


class Reason(StrEnum):
    """Why a visit was refused or a step needs another try; each has a text and a way forward."""

    TICKET_MALFORMED = "ticket_malformed"
    TICKET_UNKNOWN_KEY = "ticket_unknown_key"
    TICKET_FORGED = "ticket_forged"
    TICKET_EXPIRED = "ticket_expired"
    TICKET_NOT_YET_VALID = "ticket_not_yet_valid"
    TICKET_WRONG_OFFICE = "ticket_wrong_office"
    TICKET_USED = "ticket_used"
    TICKET_USED_ELSEWHERE = "ticket_used_elsewhere"  # spent at another kiosk (the gateway said so)
    NIK_FORMAT = "nik_format"
    NIK_REGION = "nik_region"
    NIK_BIRTH_DATE = "nik_birth_date"
    NIK_SERIAL = "nik_serial"
    NIK_MISMATCH = "nik_mismatch"
    CARD_UNREADABLE = "card_unreadable"
    CARD_UNKNOWN = "card_unknown"
    NOT_FOUND = "not_found"
    SERVICE_UNAVAILABLE = "service_unavailable"
    FACE_RETRY = "face_retry"
    FACE_MISMATCH = "face_mismatch"
    CARD_NOT_TAKEN = "card_not_taken"
    VAULT_FAULT = "vault_fault"
    WRONG_NEW_CARD = "wrong_new_card"
    NO_SLOTS = "no_slots"
    SLOT_TAKEN = "slot_taken"
    BOOKING_FAILED = "booking_failed"
    CHIP_OFFLINE = "chip_offline"  # the link is down and this chip is not one the kiosk knows locally
    OFFLINE_FULL = "offline_full"  # the link is down and this kiosk's leased places for that time are used
    PIN_WRONG = "pin_wrong"
    PIN_WAIT = "pin_wait"
    OPERATOR_LOCKED = "operator_locked"


@dataclass(frozen=True)
class Lookup:
    """The answer to 'where is my card?' for one resident."""

    status: CardStatus
    card_id: str | None = None
    slot: int | None = None
    new_chip_uid: str | None = None
    office_name: str | None = None
    known_at: str | None = None  # ISO time the status was last known (offline answers)
    stale: bool = False


@dataclass(frozen=True)
class Office:
    """A place that does biometric recording."""

    office_id: str
    name: str
    district: str  # 6-digit kecamatan code


@dataclass(frozen=True)
class Slot:
    """A recording time slot with its remaining capacity."""

    day: str  # ISO date
    time: str  # HH:MM
    remaining: int


@dataclass(frozen=True)
class Booking:
    """A confirmed recording appointment."""

    code: str
    office: Office
    day: str
    time: str
    provisional: bool = False  # booked offline from a leased slot


@dataclass(frozen=True)
class OperatorNote:
    """What an operator action did or is waiting for: a message id, its fields, and how it went."""

    msgid: str
    fields: tuple[tuple[str, str], ...] = ()
    ok: bool = True
    busy: bool = False  # the kiosk is waiting on the operator's hands (a slot is open)

    @classmethod
    def of(cls, msgid: str, *, ok: bool = True, busy: bool = False, **fields: object) -> OperatorNote:
        return cls(msgid, tuple((k, str(v)) for k, v in fields.items()), ok, busy)


@dataclass(frozen=True)
class Session:
    """Everything the kiosk knows about the current visit. Replaced, never mutated."""

    step: Step = Step.IDLE
    lang: str = "id"
    visit: int = 0
    last_activity: float = 0.0
    entered_at: float = 0.0
    warned: bool = False
    help_called: bool = False
    notice: Reason | None = None  # a hint shown on the current screen ("try again")
    reason: Reason | None = None  # set on REFUSED
    reference: str | None = None  # set on REFUSED: the code staff find the refusal by in the journal
    ticket: Ticket | None = None
    ticket_claim: TicketClaim | None = None  # None while the gateway has not answered the claim
    nik: str | None = None
    nik_source: str | None = None  # chip | ocr | typed
    lookup: Lookup | None = None
    face_attempts: int = 0
    face_prompt: str | None = None  # what the face check asks for now (a msgid)
    wrong_taps: int = 0
    offices: tuple[Office, ...] = ()
    office: Office | None = None
    slots: tuple[Slot, ...] = ()
    day: str | None = None
    time: str | None = None  # the chosen time, while the booking is confirmed
    booking: Booking | None = None
    handover_code: str | None = None
    operator: str | None = None  # the staff member's name in operator mode
    operator_uid: str | None = None
    operator_task: str | None = None  # "load" while staff is loading cards
    operator_note: OperatorNote | None = None

    @property
    def days(self) -> list[str]:
        """Days that still have capacity, in order."""
        return sorted({s.day for s in self.slots if s.remaining > 0})

    @property
    def times(self) -> list[Slot]:
        """Slots with capacity on the chosen day."""
        return [s for s in self.slots if s.day == self.day and s.remaining > 0]

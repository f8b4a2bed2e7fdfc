"""Effects: what the flow asks the app to do. The app carries them out through ports and reports
results back as events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.flow.model import Office, Session
from kiosk.identity.ticket import Service


@dataclass(frozen=True)
class Journal:
    """Append a journey event to the audit journal (never a whole NIK)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimTicket:
    """Spend a ticket at the gateway for this visit, before the visit commits to anything (answered by
    TicketClaimed; no answer within the gateway's deadline is OFFLINE)."""

    visit: int
    ticket_id: str


@dataclass(frozen=True)
class ConsumeTicket:
    """Spend a ticket here: used, journaled as `accepted` (`ticket_accepted`) and told to the gateway
    through the outbox, all in one transaction."""

    ticket_id: str
    accepted: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolveChip:
    """Map an old card's chip UID to a NIK."""

    visit: int
    uid: str


@dataclass(frozen=True)
class LookUp:
    """Find where a resident's card stands."""

    visit: int
    nik: str
    service: Service | None = None  # the ticket's service: with the link down, a recording ticket means booking


@dataclass(frozen=True)
class StartFaceCheck:
    """Run one face check attempt against the enrolment of `card_id`."""

    visit: int
    card_id: str


@dataclass(frozen=True)
class ReleaseCard:
    """Release a card: write the intent, open the slot, wait for the sensor, write the outcome."""

    visit: int
    slot: int
    card_id: str


@dataclass(frozen=True)
class RecordHandover:
    """A card left the vault to its owner: journal it and send it to the gateway."""

    card_id: str
    code: str
    confirmed: bool
    nik_masked: str = ""
    face_attempts: int = 0
    nik_source: str | None = None


@dataclass(frozen=True)
class LoadOffices:
    """Fetch the recording offices."""

    visit: int


@dataclass(frozen=True)
class LoadSlots:
    """Fetch the recording slots of one office."""

    visit: int
    office_id: str


@dataclass(frozen=True)
class Book:
    """Book a recording slot."""

    visit: int
    nik: str
    office: Office
    day: str
    time: str

    @property
    def office_id(self) -> str:
        return self.office.office_id


@dataclass(frozen=True)
class PrintDocument:
    """Print the receipt, booking slip or status of the current visit."""

    document: str  # receipt | booking | status
    session: Session  # the visit as it stands (a value: the printer works from it off the loop thread)


@dataclass(frozen=True)
class CallOperator:
    """Ask an operator to come to the kiosk."""

    step: str
    reason: str = "help"


@dataclass(frozen=True)
class CheckPin:
    """Check a staff card's PIN (slow hash, lockout) and report PinChecked."""

    visit: int
    card_uid: str
    pin: str = field(repr=False)


@dataclass(frozen=True)
class EndVisit:
    """The visit is over: forget everything about the resident."""


@dataclass(frozen=True)
class LoadCard:
    """Operator loading: check the tapped card against the manifest and seat it in a free slot."""

    visit: int
    uid: str
    operator: str


@dataclass(frozen=True)
class UnloadNext:
    """Operator unloading: open the next slot whose card is due to come out."""

    visit: int
    operator: str


@dataclass(frozen=True)
class ClearAlarms:
    """Operator: clear the tamper and slot alarms."""

    visit: int
    operator: str


Effect = (
    Journal
    | ClaimTicket
    | ConsumeTicket
    | ResolveChip
    | LookUp
    | StartFaceCheck
    | ReleaseCard
    | RecordHandover
    | LoadOffices
    | LoadSlots
    | Book
    | PrintDocument
    | CallOperator
    | CheckPin
    | LoadCard
    | UnloadNext
    | ClearAlarms
    | EndVisit
)

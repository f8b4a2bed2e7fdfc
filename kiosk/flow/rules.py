"""The journey's standing rules, each written once: may a card leave the vault, which steps can be
cancelled, which print a slip, which part of the kiosk the resident uses at each step, what the receipt
and booking QR codes say, and which kecamatan is the resident's. Pure: plain facts in, a decision out.
The flow, the runner, the vault desk and the screens all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.flow.model import CardStatus, Session, Step
from kiosk.identity.nik import district_of

# -- may this card leave the vault? ------------------------------------------------------------


class Hold(StrEnum):
    """Why a card in this kiosk's vault is not handed out here now."""

    NOT_HERE = "not_here"  # no card of this resident in the vault
    EXPIRED = "expired"  # its manifest entry ran out: only the gateway can confirm it again
    RELEASES_STOPPED = "releases_stopped"  # the tamper alarm holds every slot shut
    READER_DOWN = "reader_down"  # the new card's tap could not prove the right card left
    OUT_OF_SERVICE = "out_of_service"  # its slot has a fault (jam, sensor)


@dataclass(frozen=True)
class VaultFacts:
    """What the kiosk knows, right now, about one resident's card and the parts a release needs."""

    in_vault: bool
    valid_until: str | None = None  # ISO day the manifest entry is good until (None: not bounded)
    today: str = ""  # ISO day, kiosk-local
    releases_stopped: bool = False
    reader_down: bool = False
    out_of_service: bool = False


def release_hold(facts: VaultFacts) -> Hold | None:
    """The first reason that keeps this card in the vault, or None if it may be released."""
    if not facts.in_vault:
        return Hold.NOT_HERE
    if facts.valid_until is not None and facts.valid_until < facts.today:
        return Hold.EXPIRED
    if facts.releases_stopped:
        return Hold.RELEASES_STOPPED
    if facts.reader_down:
        return Hold.READER_DOWN
    if facts.out_of_service:
        return Hold.OUT_OF_SERVICE
    return None


def status_at_this_kiosk(gateway_status: CardStatus) -> CardStatus:
    """The gateway's answer as this kiosk must show it once its own vault could not release the card:
    'ready at this office' means the counter, since the card is not releasable from this vault."""
    return CardStatus.READY_ELSEWHERE if gateway_status == CardStatus.READY_HERE else gateway_status


# -- cancel and print ----------------------------------------------------------------------------

# Cancel ends a visit at any step but two: idle (nothing to cancel) and while a slot is open (the card is
# moving). Its button is shown where it is the way out: the closing screens and operator mode offer Finish
# instead, which ends the visit as finished rather than cancelled.
NOT_CANCELLABLE = frozenset({Step.IDLE, Step.RELEASE})
FINISH_INSTEAD = frozenset({Step.HANDED_OVER, Step.BOOKED, Step.STATUS, Step.REFUSED, Step.OPERATOR})
# The new card is in the resident's hand: a red Cancel there reads as "give it back". Leaving without the tap
# is still possible (the timeout warning's "start over", or walking away) and records the handover unconfirmed.
NO_CANCEL_BUTTON = frozenset({Step.TAP_NEW})


def cancellable(step: Step) -> bool:
    """Whether a Cancel press ends the visit at this step."""
    return step not in NOT_CANCELLABLE


def offers_cancel(step: Step) -> bool:
    """Whether the screen of this step shows a Cancel button."""
    return cancellable(step) and step not in FINISH_INSTEAD and step not in NO_CANCEL_BUTTON


SLIPS = {Step.HANDED_OVER: "receipt", Step.BOOKED: "booking", Step.STATUS: "status"}


def slip_for(step: Step) -> str | None:
    """The slip this step can print (receipt, booking, status), or None."""
    return SLIPS.get(step)


# -- the part to use ----------------------------------------------------------------------------


class Part(StrEnum):
    """A physical part of the kiosk that the resident handles (its guide light and the buzzer point at it)."""

    CAMERA = "camera"  # show the queue ticket, the face
    READER = "reader"  # put the old e-KTP on it, tap the new one
    SLOT = "slot"  # a vault slot: take the card from it
    PRINTER = "printer"  # take the slip


PART_AT: dict[Step, Part] = {
    Step.IDLE: Part.CAMERA,
    Step.CARD: Part.READER,
    Step.FACE: Part.CAMERA,
    Step.RELEASE: Part.SLOT,
    Step.TAP_NEW: Part.READER,
    Step.HANDED_OVER: Part.PRINTER,
    Step.BOOKED: Part.PRINTER,
}


def part_to_use(s: Session) -> tuple[Part | None, int | None]:
    """The part the resident uses at this step and, for the vault, the open slot's number (None, None:
    the screen alone; (SLOT, None): a slot, but which one is not known)."""
    part = PART_AT.get(s.step)
    slot = s.lookup.slot if part == Part.SLOT and s.lookup is not None else None
    return part, slot


# -- QR payloads ---------------------------------------------------------------------------------

RECEIPT_QR_PREFIX = "LMR1"
BOOKING_QR_PREFIX = "LMB1"


def receipt_qr(kiosk_id: str, handover_code: str) -> str:
    """The handover receipt's QR: staff scan it to find the handover in the journal."""
    return f"{RECEIPT_QR_PREFIX}:{kiosk_id}:{handover_code}"


def booking_qr(booking_code: str) -> str:
    """The booking slip's QR: the recording office scans it at the appointment."""
    return f"{BOOKING_QR_PREFIX}:{booking_code}"


# -- the resident's own kecamatan ----------------------------------------------------------------


def resident_district(nik: str | None) -> str:
    """The 6-digit kecamatan code of the resident's NIK ('' without a NIK)."""
    return district_of(nik) if nik else ""

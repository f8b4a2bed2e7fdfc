"""What the resident is told for each reason and each card status: a short reason and a way forward.

Strings are English msgids marked with N_ and translated at display time (kiosk.i18n.tr), so screens
and printed slips say the same thing in the resident's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kiosk.flow.model import CardStatus, Reason
from kiosk.i18n import N_

# reason -> (what happened, what to do next)
REASONS: dict[Reason, tuple[str, str]] = {
    Reason.TICKET_MALFORMED: (
        N_("This is not a queue ticket we can read."),
        N_("Scan the QR code on your queue ticket, or ask at the counter."),
    ),
    Reason.TICKET_UNKNOWN_KEY: (
        N_("This ticket was not issued by this office's queue system."),
        N_("Take a new queue ticket at the queue machine."),
    ),
    Reason.TICKET_FORGED: (
        N_("We could not confirm this ticket."),
        N_("Take a new queue ticket at the queue machine or ask an officer."),
    ),
    Reason.TICKET_EXPIRED: (N_("This ticket has expired."), N_("Take a new queue ticket at the queue machine.")),
    Reason.TICKET_NOT_YET_VALID: (
        N_("This ticket is not valid yet."),
        N_("Come back at the time printed on your ticket."),
    ),
    Reason.TICKET_WRONG_OFFICE: (
        N_("This ticket is for another office."),
        N_("Go to the office named on your ticket, or take a ticket here."),
    ),
    Reason.TICKET_USED: (N_("This ticket has already been used."), N_("Take a new queue ticket at the queue machine.")),
    Reason.TICKET_USED_ELSEWHERE: (
        N_("This ticket has already been used at another kiosk."),
        N_("Take a new queue ticket at the queue machine or ask an officer."),
    ),
    Reason.NIK_FORMAT: (N_("A NIK has 16 digits."), N_("Check the number and try again.")),
    Reason.NIK_REGION: (
        N_("The region code in this NIK does not exist."),
        N_("Check the first 6 digits and try again."),
    ),
    Reason.NIK_BIRTH_DATE: (N_("The birth date in this NIK is not valid."), N_("Check digits 7 to 12 and try again.")),
    Reason.NIK_SERIAL: (N_("The last 4 digits of this NIK are not valid."), N_("Check the number and try again.")),
    Reason.NIK_MISMATCH: (
        N_("This KTP does not belong to the person on the queue ticket."),
        N_("Use your own KTP and your own ticket. An officer can help."),
    ),
    Reason.CARD_UNREADABLE: (
        N_("Your card could not be read."),
        N_("Hold it flat on the reader and keep it still, or use another option."),
    ),
    Reason.CARD_UNKNOWN: (N_("We do not know this card."), N_("Show the printed side to the camera or type your NIK.")),
    Reason.NOT_FOUND: (N_("We could not find your record."), N_("Please see an officer at the counter.")),
    Reason.CHIP_OFFLINE: (
        N_("Your card cannot be checked while the connection is down."),
        N_("Type your NIK instead, or show the printed side to the camera."),
    ),
    Reason.SERVICE_UNAVAILABLE: (
        N_("The service is not reachable right now."),
        N_("Please try again later or see an officer at the counter."),
    ),
    Reason.FACE_RETRY: (N_("We could not confirm your face."), N_("Look straight at the camera and try again.")),
    Reason.FACE_MISMATCH: (
        N_("We could not confirm that you are the card holder."),
        N_("An officer has been called to help you."),
    ),
    Reason.CARD_NOT_TAKEN: (
        N_("The card was not taken and has been locked away again."),
        N_("Please see an officer at the counter to collect it."),
    ),
    Reason.VAULT_FAULT: (N_("The card could not be released."), N_("An officer has been called to help you.")),
    Reason.WRONG_NEW_CARD: (
        N_("This is not the card that was just released."),
        N_("Tap the new card you just took from the kiosk."),
    ),
    Reason.NO_SLOTS: (N_("This office has no free times in the next two weeks."), N_("Please choose another office.")),
    Reason.SLOT_TAKEN: (N_("Someone just took that time."), N_("Please choose another time.")),
    Reason.BOOKING_FAILED: (N_("The booking could not be made."), N_("Please try again or see an officer.")),
    Reason.OFFLINE_FULL: (
        N_("The connection to the central system is down, and this kiosk's places for that time are used up."),
        N_("Please choose another time or day, or come back later."),
    ),
    Reason.PIN_WRONG: (N_("Wrong PIN."), N_("Try again (5 tries).")),
    Reason.PIN_WAIT: (N_("Please wait a few seconds."), N_("Then type the PIN again.")),
    Reason.OPERATOR_LOCKED: (
        N_("This staff card is locked after too many wrong PINs."),
        N_("Try again later or ask the supervisor."),
    ),
}

# status -> (where the card stands, what to do next)
STATUSES: dict[CardStatus, tuple[str, str]] = {
    CardStatus.READY_HERE: (N_("Your e-KTP is ready here."), N_("Follow the steps on screen.")),
    CardStatus.READY_ELSEWHERE: (
        N_("Your e-KTP is ready for pickup at {office}."),
        N_("Bring your old KTP and your family card (KK) to {office}."),
    ),
    CardStatus.VERIFICATION: (
        N_("Your data is being checked against the national records."),
        N_("This usually takes a few weeks. You do not need to do anything now."),
    ),
    CardStatus.PRINTING: (N_("Your e-KTP is being printed."), N_("Check again in a few days.")),
    CardStatus.WAITING_BLANKO: (
        N_("Your e-KTP is waiting for blank card stock."),
        N_("You will be told when it is printed. You may use your print-out (Suket)."),
    ),
    CardStatus.NEVER_RECORDED: (
        N_("You have not done your biometric recording yet."),
        N_("Book a recording appointment now."),
    ),
    CardStatus.COLLECTED: (
        N_("This e-KTP has already been collected."),
        N_("If you did not collect it yourself, please report it to an officer."),
    ),
    CardStatus.NOT_FOUND: REASONS[Reason.NOT_FOUND],
    CardStatus.UNAVAILABLE: REASONS[Reason.SERVICE_UNAVAILABLE],
}

STALE_NOTE = N_("Last known on {date}; this may have changed.")

# Operator mode: plain words for part states, printer states and alarms
PART_STATES = {"ok": N_("working"), "degraded": N_("working, with problems"), "failed": N_("not working")}
PRINTER_STATES = {"ok": N_("ready"), "paper_out": N_("out of paper"), "offline": N_("not connected")}
TAMPER_ALARM = N_("the service door was opened")
SLOT_ALARM = N_("slot {n} needs checking")


def alarm_words(translate: Callable[[str], str], names: Iterable[str]) -> str:
    """The vault's alarms ("tamper", "slot:7") in plain words of the screen's language."""
    words = []
    for name in names:
        kind, _, n = name.partition(":")
        words.append(translate(SLOT_ALARM).format(n=n) if kind == "slot" else translate(TAMPER_ALARM))
    return ", ".join(words)

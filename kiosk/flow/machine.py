"""The transition function: (session, event, now) -> (session, effects). Pure and total: every event
is accepted in every step (ignored where it means nothing), so no sequence reaches an undefined state.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.flow import events as ev
from kiosk.flow.effects import (
    Book,
    CallOperator,
    CheckPin,
    ClearAlarms,
    ConsumeTicket,
    Effect,
    EndVisit,
    Journal,
    LoadCard,
    LoadOffices,
    LoadSlots,
    LookUp,
    PrintDocument,
    RecordHandover,
    ReleaseCard,
    ResolveChip,
    StartFaceCheck,
    UnloadNext,
)
from kiosk.flow.model import BUSY_STEPS, CardStatus, Lookup, Office, OperatorNote, Reason, Session, Step
from kiosk.flow.policy import Policy, decide
from kiosk.i18n import N_
from kiosk.identity.nik import Nik, mask_nik, parse_nik
from kiosk.identity.ticket import Ticket

Result = tuple[Session, tuple[Effect, ...]]

STATUS_STEPS = {
    CardStatus.READY_ELSEWHERE,
    CardStatus.VERIFICATION,
    CardStatus.PRINTING,
    CardStatus.WAITING_BLANKO,
    CardStatus.COLLECTED,
}


@dataclass(frozen=True)
class FlowConfig:
    """Timeouts and limits of the journey (seconds)."""

    idle_timeout_s: float = 60.0  # no touch for this long: the visit is abandoned
    warn_before_s: float = 15.0  # 'are you still there?' this long before the timeout
    face_timeout_s: float = 90.0
    busy_timeout_s: float = 30.0  # waiting on the gateway or a reader
    release_timeout_s: float = 60.0  # safety net over the vault's own timeout
    done_timeout_s: float = 30.0  # receipt / status / refusal screens go back to idle
    operator_timeout_s: float = 300.0  # operator mode with nobody touching it
    max_face_attempts: int = 3
    policy: Policy = field(default_factory=Policy)
    max_wrong_taps: int = 3
    utc_offset_s: int = 8 * 3600  # WITA, Kota Kupang
    languages: tuple[str, ...] = ("id", "en")

    def timeout_for(self, step: Step) -> float:
        if step in BUSY_STEPS:
            return self.busy_timeout_s
        if step == Step.FACE:
            return self.face_timeout_s
        if step == Step.RELEASE:
            return self.release_timeout_s
        if step in (Step.HANDED_OVER, Step.BOOKED, Step.STATUS, Step.REFUSED):
            return self.done_timeout_s
        if step == Step.OPERATOR:
            return self.operator_timeout_s
        return self.idle_timeout_s

    def today(self, now: float) -> dt.date:
        return dt.datetime.fromtimestamp(now + self.utc_offset_s, dt.UTC).date()


def start(lang: str = "id") -> Session:
    """The session of an idle kiosk."""
    return Session(lang=lang)


def _goto(s: Session, step: Step, now: float, **changes: Any) -> Session:
    return replace(s, step=step, entered_at=now, last_activity=now, warned=False, notice=None, **changes)


def _idle(s: Session, now: float) -> Session:
    return Session(
        step=Step.IDLE, lang=s.lang if s.step == Step.IDLE else "id", visit=s.visit, entered_at=now, last_activity=now
    )


def _end(s: Session, now: float, kind: str, **data: object) -> Result:
    effects: list[Effect] = [Journal(kind, {"step": s.step.value, **data}), EndVisit()]
    return _idle(s, now), tuple(effects)


def _refuse(s: Session, now: float, reason: Reason, *extra: Effect) -> Result:
    data: dict[str, object] = {"reason": reason.value, "step": s.step.value}
    if s.nik:
        data["nik"] = mask_nik(s.nik)
    return _goto(s, Step.REFUSED, now, reason=reason), (Journal("refused", data), *extra)


def handover_code(ticket: Ticket | None, card_id: str) -> str:
    """A short code printed on the receipt that ties the handover to ticket and card."""
    seed = f"{ticket.ticket_id if ticket else '-'}/{card_id}".encode()
    return base64.b32encode(hashlib.sha256(seed).digest()[:5]).decode()


def sort_offices(offices: tuple[Office, ...], district: str) -> tuple[Office, ...]:
    """The resident's own kecamatan first, then the rest of their city, then by name."""

    def key(o: Office) -> tuple[int, str]:
        rank = 0 if o.district == district else 1 if o.district[:4] == district[:4] else 2
        return rank, o.name

    return tuple(sorted(offices, key=key))


def step(s: Session, e: ev.Event, now: float, cfg: FlowConfig | None = None) -> Result:
    """Advance the journey by one event."""
    cfg = cfg or FlowConfig()
    if isinstance(e, ev.Tick):
        return _tick(s, now, cfg)
    if isinstance(e, ev.Press):
        if e.action == ev.LANGUAGE:
            langs = cfg.languages
            nxt = e.value if e.value in langs else langs[(langs.index(s.lang) + 1) % len(langs)]
            return replace(s, lang=nxt, last_activity=now, warned=False), ()
        if e.action == ev.STILL_HERE:
            return replace(s, last_activity=now, warned=False), ()
        if e.action == ev.HELP:
            s2 = replace(s, last_activity=now, warned=False, help_called=True)
            if s.help_called:
                return s2, ()
            return s2, (CallOperator(s.step.value), Journal("help_called", {"step": s.step.value}))
        if e.action == ev.CANCEL and s.step not in (Step.IDLE, Step.RELEASE):
            session, effects = _end(s, now, "cancelled")
            return session, (*_unconfirmed_handover(s), *effects)
    if isinstance(e, ev.TicketScanned | ev.CardInserted | ev.NikRead | ev.Press | ev.PinEntered | ev.OperatorCard):
        s = replace(s, last_activity=now, warned=False)
    handler = _HANDLERS.get(s.step)
    return handler(s, e, now, cfg) if handler else (s, ())


def _tick(s: Session, now: float, cfg: FlowConfig) -> Result:
    if s.step == Step.IDLE:
        return s, ()
    timeout = cfg.timeout_for(s.step)
    quiet = now - s.last_activity
    if s.step == Step.RELEASE:
        if now - s.entered_at >= timeout:
            return _refuse(s, now, Reason.VAULT_FAULT, CallOperator(s.step.value, "release_timeout"))
        return s, ()
    if s.step in BUSY_STEPS:
        if now - s.entered_at >= timeout:
            return _refuse(s, now, Reason.SERVICE_UNAVAILABLE)
        return s, ()
    if quiet >= timeout:
        # a card that left the vault to the verified resident, who walked off without tapping, is recorded
        session, effects = _end(s, now, "abandoned")
        return session, (*_unconfirmed_handover(s), *effects)
    if quiet >= timeout - cfg.warn_before_s and not s.warned:
        return replace(s, warned=True), ()
    return s, ()


def _unconfirmed_handover(s: Session) -> tuple[RecordHandover, ...]:
    """The record of a card that left the vault and whose visit ends without the new card's tap."""
    if s.step != Step.TAP_NEW or s.lookup is None or s.lookup.card_id is None:
        return ()
    return (RecordHandover(s.lookup.card_id, handover_code(s.ticket, s.lookup.card_id), confirmed=False),)


def _is_result_for(s: Session, e: ev.Event) -> bool:
    return getattr(e, "visit", s.visit) == s.visit


def _on_idle(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.OperatorCard):
        s2 = _goto(replace(s, visit=s.visit + 1), Step.OPERATOR_PIN, now, operator=e.name, operator_uid=e.uid)
        return s2, (Journal("operator_card", {"operator": e.name}),)
    if not isinstance(e, ev.TicketScanned):
        return s, ()
    r = e.result
    if not isinstance(r, Ticket):
        s2 = _goto(replace(s, visit=s.visit + 1), Step.REFUSED, now, reason=Reason(r.reason.value))
        return s2, (Journal("ticket_refused", {"reason": r.reason.value, "ticket": r.ticket_id}),)
    s2 = _goto(replace(s, visit=s.visit + 1, help_called=False), Step.CARD, now, ticket=r)
    data = {"ticket": r.ticket_id, "service": r.service.name.lower()}
    return s2, (ConsumeTicket(r.ticket_id), Journal("ticket_accepted", data))


def _accept_nik(s: Session, nik: Nik | str, source: str, now: float, cfg: FlowConfig) -> Result:
    value = nik.value if isinstance(nik, Nik) else nik
    if s.ticket is None or not s.ticket.matches_nik(value):
        s = replace(s, nik=value, nik_source=source)
        return _refuse(s, now, Reason.NIK_MISMATCH)
    s2 = _goto(s, Step.LOOKUP, now, nik=value, nik_source=source)
    return s2, (LookUp(s.visit, value), Journal("nik_accepted", {"nik": mask_nik(value), "source": source}))


def _on_nik_read(s: Session, e: ev.NikRead, now: float, cfg: FlowConfig) -> Result:
    parsed = parse_nik(e.text, cfg.today(now))
    if not isinstance(parsed, Nik):
        return replace(s, notice=Reason(parsed.reason.value)), ()
    return _accept_nik(s, parsed, e.source, now, cfg)


def _on_card(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.CardInserted):
        return _goto(s, Step.LOOKUP, now), (ResolveChip(s.visit, e.uid),)
    if isinstance(e, ev.CardUnreadable):
        return replace(s, notice=Reason.CARD_UNREADABLE), ()
    if isinstance(e, ev.NikRead):
        return _on_nik_read(s, e, now, cfg)
    if isinstance(e, ev.Press) and e.action == ev.TYPE_NIK:
        return _goto(s, Step.NIK_ENTRY, now), ()
    return s, ()


def _on_nik_entry(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.NikRead):
        return _on_nik_read(s, e, now, cfg)
    if isinstance(e, ev.Press) and e.action == ev.BACK:
        return _goto(s, Step.CARD, now), ()
    if isinstance(e, ev.CardInserted):
        return _on_card(s, e, now, cfg)
    return s, ()


def _on_lookup(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if not _is_result_for(s, e):
        return s, ()
    if isinstance(e, ev.ChipResolved):
        if e.nik is None and e.unavailable:  # offline: the NIK can still be typed or read from the card
            return replace(_goto(s, Step.NIK_ENTRY, now), notice=Reason.CHIP_OFFLINE), ()
        if e.nik is None:
            return _refuse(s, now, Reason.CARD_UNKNOWN)
        parsed = parse_nik(e.nik, cfg.today(now))
        return _accept_nik(s, parsed if isinstance(parsed, Nik) else e.nik, "chip", now, cfg)
    if isinstance(e, ev.LookupDone):
        return _on_lookup_done(s, e.lookup, now)
    return s, ()


def _on_lookup_done(s: Session, lk: Lookup, now: float) -> Result:
    journal = Journal("lookup", {"status": lk.status.value, "stale": lk.stale})
    if lk.status == CardStatus.READY_HERE and lk.card_id and lk.slot is not None:
        s2 = _goto(s, Step.FACE, now, lookup=lk)
        return s2, (journal, StartFaceCheck(s.visit, lk.card_id))
    if lk.status == CardStatus.NEVER_RECORDED:
        return _goto(s, Step.BOOKING, now, lookup=lk), (journal, LoadOffices(s.visit))
    if lk.status in STATUS_STEPS:
        return _goto(s, Step.STATUS, now, lookup=lk), (journal,)
    if lk.status == CardStatus.NOT_FOUND:
        session, effects = _refuse(replace(s, lookup=lk), now, Reason.NOT_FOUND)
        return session, (journal, *effects)
    session, effects = _refuse(replace(s, lookup=lk), now, Reason.SERVICE_UNAVAILABLE)
    return session, (journal, *effects)


def _on_face(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    lk = s.lookup
    if lk is None or lk.card_id is None or lk.slot is None:  # cannot happen: FACE is entered with both
        return _refuse(s, now, Reason.SERVICE_UNAVAILABLE)
    if isinstance(e, ev.FacePrompt) and _is_result_for(s, e):
        return replace(s, face_prompt=e.msgid), ()
    if isinstance(e, ev.FaceChecked) and _is_result_for(s, e):
        attempts = s.face_attempts + 1
        data: dict[str, object] = {"attempt": attempts, "match": e.match, "live": e.live, "score": round(e.score, 4)}
        decision = decide(cfg.policy, s.nik_source, e.match, e.live)
        data["policy"] = decision.why
        if e.reason:
            data["why"] = e.reason
        s = replace(s, face_prompt=None)
        journal = Journal("face_check", data)
        if decision.release:
            s2 = _goto(s, Step.RELEASE, now, face_attempts=attempts)
            return s2, (journal, ReleaseCard(s.visit, lk.slot, lk.card_id))
        if attempts >= cfg.max_face_attempts:
            session, effects = _refuse(
                replace(s, face_attempts=attempts),
                now,
                Reason.FACE_MISMATCH,
                CallOperator(s.step.value, "face_mismatch"),
            )
            return session, (journal, *effects)
        return replace(s, face_attempts=attempts, notice=Reason.FACE_RETRY), (journal,)
    if isinstance(e, ev.Press) and e.action == ev.RETRY_FACE and s.notice == Reason.FACE_RETRY:
        return replace(s, notice=None, face_prompt=None), (StartFaceCheck(s.visit, lk.card_id),)
    return s, ()


def _on_release(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if not (isinstance(e, ev.VaultOutcome) and _is_result_for(s, e)):
        return s, ()
    if e.outcome == "taken":
        return _goto(s, Step.TAP_NEW, now), ()
    if e.outcome == "not_taken":
        return _refuse(s, now, Reason.CARD_NOT_TAKEN)
    return _refuse(s, now, Reason.VAULT_FAULT, CallOperator(s.step.value, "vault_" + e.outcome))


def _on_tap_new(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    lk = s.lookup
    if not isinstance(e, ev.CardInserted) or lk is None or lk.card_id is None:
        return s, ()
    if lk.new_chip_uid and e.uid.upper() == lk.new_chip_uid.upper():
        code = handover_code(s.ticket, lk.card_id)
        s2 = _goto(s, Step.HANDED_OVER, now, handover_code=code)
        data = {"card": lk.card_id, "nik": mask_nik(s.nik or ""), "code": code}
        return s2, (RecordHandover(lk.card_id, code, confirmed=True), Journal("handed_over", data))
    taps = s.wrong_taps + 1
    journal = Journal("wrong_card_tapped", {"card": lk.card_id, "taps": taps})
    if taps >= cfg.max_wrong_taps:  # the card is out of the vault all the same: recorded, unconfirmed
        session, effects = _refuse(
            replace(s, wrong_taps=taps), now, Reason.WRONG_NEW_CARD, CallOperator(s.step.value, "wrong_new_card")
        )
        return session, (journal, *_unconfirmed_handover(s), *effects)
    return replace(s, wrong_taps=taps, notice=Reason.WRONG_NEW_CARD), (journal,)


def _on_booking(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if not _is_result_for(s, e):
        return s, ()
    if isinstance(e, ev.OfficesLoaded):
        if not e.offices:
            return _refuse(s, now, Reason.SERVICE_UNAVAILABLE)
        district = (s.nik or "")[:6]
        return _goto(s, Step.CHOOSE_OFFICE, now, offices=sort_offices(e.offices, district)), ()
    if isinstance(e, ev.SlotsLoaded):
        s2 = replace(s, slots=e.slots)
        if not s2.days:
            return replace(_goto(s2, Step.CHOOSE_OFFICE, now), notice=Reason.NO_SLOTS), ()
        return _goto(s2, Step.CHOOSE_DAY, now), ()
    if isinstance(e, ev.BookingDone):
        if e.booking is not None:
            data = {
                "office": e.booking.office.office_id,
                "day": e.booking.day,
                "time": e.booking.time,
                "code": e.booking.code,
                "provisional": e.booking.provisional,
            }
            return _goto(s, Step.BOOKED, now, booking=e.booking), (Journal("booked", data),)
        if e.reason in (Reason.SLOT_TAKEN, Reason.OFFLINE_FULL) and s.office:
            s2 = replace(_goto(s, Step.CHOOSE_TIME, now), notice=e.reason)
            return s2, (LoadSlots(s.visit, s.office.office_id),)
        return _refuse(s, now, e.reason or Reason.BOOKING_FAILED)
    return s, ()


def _on_choose_office(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.Press) and e.action == ev.CHOOSE_OFFICE:
        office = next((o for o in s.offices if o.office_id == e.value), None)
        if office:
            return _goto(s, Step.BOOKING, now, office=office, slots=()), (LoadSlots(s.visit, office.office_id),)
    return s, ()


def _on_choose_day(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.Press):
        if e.action == ev.CHOOSE_DAY and e.value in s.days:
            return _goto(s, Step.CHOOSE_TIME, now, day=e.value), ()
        if e.action == ev.BACK:
            return _goto(s, Step.CHOOSE_OFFICE, now, day=None), ()
    return s, ()


def _on_choose_time(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.SlotsLoaded) and _is_result_for(s, e):
        return replace(s, slots=e.slots), ()
    if isinstance(e, ev.Press):
        chosen = any(t.time == e.value for t in s.times)
        if e.action == ev.CHOOSE_TIME and chosen and s.office and s.day and s.nik:
            return _goto(s, Step.BOOKING, now), (Book(s.visit, s.nik, s.office.office_id, s.day, e.value),)
        if e.action == ev.BACK:
            return _goto(s, Step.CHOOSE_DAY, now), ()
    return s, ()


def _on_done(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.Press):
        if e.action == ev.FINISH:
            return _end(s, now, "finished")
        if e.action == ev.PRINT:
            doc = {Step.HANDED_OVER: "receipt", Step.BOOKED: "booking", Step.STATUS: "status"}.get(s.step)
            if doc:
                return s, (PrintDocument(doc),)
    return s, ()


def _on_operator_pin(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.PinEntered) and s.operator_uid:
        return replace(s, notice=None), (CheckPin(s.visit, s.operator_uid, e.pin),)
    if isinstance(e, ev.PinChecked) and _is_result_for(s, e):
        if e.ok:
            return _goto(s, Step.OPERATOR, now), (Journal("operator_mode", {"operator": s.operator}),)
        if e.reason == "locked":
            return _refuse(s, now, Reason.OPERATOR_LOCKED)
        return replace(s, notice=Reason.PIN_WAIT if e.reason == "wait" else Reason.PIN_WRONG), ()
    return s, ()


TAP_TO_LOAD = OperatorNote.of(N_("Tap a finished card on the reader."), busy=False)


def _on_operator(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    busy = s.operator_note is not None and s.operator_note.busy
    if isinstance(e, ev.OperatorDone) and _is_result_for(s, e):
        return replace(s, operator_note=e.note, last_activity=now), ()
    if isinstance(e, ev.Press):
        if e.action == ev.FINISH and not busy:
            return _end(s, now, "operator_exit", operator=s.operator)
        if busy:
            return s, ()  # one motion at a time: a slot is open
        if e.action == ev.LOAD:
            return replace(s, operator_task="load", operator_note=TAP_TO_LOAD), ()
        if e.action == ev.UNLOAD:
            note = OperatorNote.of(N_("Opening the next slot…"), busy=True)
            return replace(s, operator_task="unload", operator_note=note), (UnloadNext(s.visit),)
        if e.action == ev.CLEAR_ALARMS:
            return replace(s, operator_note=OperatorNote.of(N_("Checking…"), busy=True)), (ClearAlarms(s.visit),)
    if isinstance(e, ev.CardInserted) and s.operator_task == "load" and not busy:
        note = OperatorNote.of(N_("Checking the card…"), busy=True)
        return replace(s, operator_note=note), (LoadCard(s.visit, e.uid),)
    return s, ()


_HANDLERS = {
    Step.IDLE: _on_idle,
    Step.CARD: _on_card,
    Step.NIK_ENTRY: _on_nik_entry,
    Step.LOOKUP: _on_lookup,
    Step.FACE: _on_face,
    Step.RELEASE: _on_release,
    Step.TAP_NEW: _on_tap_new,
    Step.BOOKING: _on_booking,
    Step.CHOOSE_OFFICE: _on_choose_office,
    Step.CHOOSE_DAY: _on_choose_day,
    Step.CHOOSE_TIME: _on_choose_time,
    Step.HANDED_OVER: _on_done,
    Step.BOOKED: _on_done,
    Step.STATUS: _on_done,
    Step.REFUSED: _on_done,
    Step.OPERATOR_PIN: _on_operator_pin,
    Step.OPERATOR: _on_operator,
}

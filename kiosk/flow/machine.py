"""The transition function: (session, event, now) -> (session, effects). Pure and total: every event
is accepted in every step (ignored where it means nothing), so no sequence reaches an undefined state.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.flow import booking, operator
from kiosk.flow import events as ev
from kiosk.flow.base import (
    FlowConfig,
    Result,
    end,
    goto,
    handover_code,
    is_result_for,
    refusal_reference,
    refuse,
    start,
)
from kiosk.flow.booking import sort_offices
from kiosk.flow.effects import (
    CallOperator,
    ClaimTicket,
    ConsumeTicket,
    Effect,
    Journal,
    LoadOffices,
    LookUp,
    PrintDocument,
    RecordHandover,
    ReleaseCard,
    ResolveChip,
    StartFaceCheck,
)
from kiosk.flow.model import BUSY_STEPS, CardStatus, Lookup, Reason, Session, Step, TicketClaim
from kiosk.flow.policy import decide
from kiosk.flow.rules import cancellable, slip_for
from kiosk.identity.nik import Nik, mask_nik, parse_nik
from kiosk.identity.ticket import Ticket

__all__ = ["FlowConfig", "Result", "handover_code", "sort_offices", "start", "step"]

STATUS_STEPS = {
    CardStatus.READY_ELSEWHERE,
    CardStatus.VERIFICATION,
    CardStatus.PRINTING,
    CardStatus.WAITING_BLANKO,
    CardStatus.COLLECTED,
}


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
        if e.action == ev.CANCEL and cancellable(s.step):
            session, effects = end(s, now, "cancelled")
            return session, (*_unconfirmed_handover(s), *effects)
    if isinstance(e, ev.TicketClaimed):
        return _on_ticket_claimed(s, e, now)
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
            return refuse(s, now, Reason.VAULT_FAULT, CallOperator(s.step.value, "release_timeout"))
        return s, ()
    if s.step in BUSY_STEPS:
        if now - s.entered_at >= timeout:
            return refuse(s, now, Reason.SERVICE_UNAVAILABLE)
        return s, ()
    if quiet >= timeout:
        # a card that left the vault to the verified resident, who walked off without tapping, is recorded
        session, effects = end(s, now, "abandoned")
        return session, (*_unconfirmed_handover(s), *effects)
    if quiet >= timeout - cfg.warn_before_s and not s.warned:
        return replace(s, warned=True), ()
    return s, ()


def _unconfirmed_handover(s: Session) -> tuple[RecordHandover, ...]:
    """The record of a card that left the vault and whose visit ends without the new card's tap."""
    if s.step != Step.TAP_NEW or s.lookup is None or s.lookup.card_id is None:
        return ()
    return (handover_record(s, handover_code(s.ticket, s.lookup.card_id), confirmed=False),)


def handover_record(s: Session, code: str, *, confirmed: bool) -> RecordHandover:
    """The record of a card that left the vault to the verified resident, with the visit's facts in it."""
    card_id = s.lookup.card_id if s.lookup and s.lookup.card_id else ""
    return RecordHandover(card_id, code, confirmed, mask_nik(s.nik or ""), s.face_attempts, s.nik_source)


def _on_idle(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.OperatorCard):
        s2 = goto(replace(s, visit=s.visit + 1), Step.OPERATOR_PIN, now, operator=e.name, operator_uid=e.uid)
        return s2, (Journal("operator_card", {"operator": e.name}),)
    if not isinstance(e, ev.TicketScanned):
        return s, ()
    r = e.result
    if not isinstance(r, Ticket):
        reason = Reason(r.reason.value)
        ref = refusal_reference(s.visit + 1, now, reason)
        s2 = goto(replace(s, visit=s.visit + 1), Step.REFUSED, now, reason=reason, reference=ref)
        return s2, (Journal("ticket_refused", {"reason": r.reason.value, "ticket": r.ticket_id, "ref": ref}),)
    # the resident may present their card at once; nothing is looked up until the gateway answered the claim
    s2 = goto(replace(s, visit=s.visit + 1, help_called=False), Step.CARD, now, ticket=r, ticket_claim=None)
    return s2, (ClaimTicket(s2.visit, r.ticket_id),)


def _on_ticket_claimed(s: Session, e: ev.TicketClaimed, now: float) -> Result:
    """The gateway's word on this visit's ticket: spent elsewhere ends the visit; claimed (or no answer:
    this kiosk's own single use holds) lets it go on, and a NIK that waited is looked up now."""
    if e.visit != s.visit or s.ticket is None or s.ticket.ticket_id != e.ticket_id or s.ticket_claim is not None:
        return s, ()
    if s.step in (Step.IDLE, Step.REFUSED):
        return s, ()
    if e.claim == TicketClaim.USED_ELSEWHERE:
        return refuse(replace(s, ticket_claim=e.claim), now, Reason.TICKET_USED_ELSEWHERE)
    data = {"ticket": s.ticket.ticket_id, "service": s.ticket.service.name.lower(), "claim": e.claim.value}
    s2 = replace(s, ticket_claim=e.claim)
    effects: tuple[Effect, ...] = (ConsumeTicket(s.ticket.ticket_id, data),)  # with its journal entry, at once
    if s.step == Step.LOOKUP and s.nik is not None and s.lookup is None:
        effects = (*effects, LookUp(s.visit, s.nik, s.ticket.service))
    return s2, effects


def _accept_nik(s: Session, nik: Nik | str, source: str, now: float, cfg: FlowConfig) -> Result:
    value = nik.value if isinstance(nik, Nik) else nik
    if s.ticket is None or not s.ticket.matches_nik(value):
        s = replace(s, nik=value, nik_source=source)
        return refuse(s, now, Reason.NIK_MISMATCH)
    s2 = goto(s, Step.LOOKUP, now, nik=value, nik_source=source)
    service = s.ticket.service if s.ticket else None
    journal = Journal("nik_accepted", {"nik": mask_nik(value), "source": source})
    if s.ticket_claim is None:  # the gateway has not answered the ticket's claim: look up once it has
        return s2, (journal,)
    return s2, (LookUp(s.visit, value, service), journal)


def _on_nik_read(s: Session, e: ev.NikRead, now: float, cfg: FlowConfig) -> Result:
    parsed = parse_nik(e.text, cfg.today(now))
    if not isinstance(parsed, Nik):
        return replace(s, notice=Reason(parsed.reason.value)), ()
    return _accept_nik(s, parsed, e.source, now, cfg)


def _on_card(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.CardInserted):
        return goto(s, Step.LOOKUP, now), (ResolveChip(s.visit, e.uid),)
    if isinstance(e, ev.CardUnreadable):
        return replace(s, notice=Reason.CARD_UNREADABLE), ()
    if isinstance(e, ev.NikRead):
        return _on_nik_read(s, e, now, cfg)
    if isinstance(e, ev.Press) and e.action == ev.TYPE_NIK:
        return goto(s, Step.NIK_ENTRY, now), ()
    return s, ()


def _on_nik_entry(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.NikRead):
        return _on_nik_read(s, e, now, cfg)
    if isinstance(e, ev.Press) and e.action == ev.BACK:
        return goto(s, Step.CARD, now), ()
    if isinstance(e, ev.CardInserted):
        return _on_card(s, e, now, cfg)
    return s, ()


def _on_lookup(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if not is_result_for(s, e):
        return s, ()
    if isinstance(e, ev.ChipResolved):
        if e.nik is None and e.unavailable:  # offline: the NIK can still be typed or read from the card
            return replace(goto(s, Step.NIK_ENTRY, now), notice=Reason.CHIP_OFFLINE), ()
        if e.nik is None:
            return refuse(s, now, Reason.CARD_UNKNOWN)
        parsed = parse_nik(e.nik, cfg.today(now))
        return _accept_nik(s, parsed if isinstance(parsed, Nik) else e.nik, "chip", now, cfg)
    if isinstance(e, ev.LookupDone) and s.ticket_claim in (TicketClaim.CLAIMED, TicketClaim.OFFLINE):
        return _on_lookup_done(s, e.lookup, now)  # (no lookup is asked before the ticket's claim is answered)
    return s, ()


def _on_lookup_done(s: Session, lk: Lookup, now: float) -> Result:
    journal = Journal("lookup", {"status": lk.status.value, "stale": lk.stale})
    if lk.status == CardStatus.READY_HERE and lk.card_id and lk.slot is not None:
        s2 = goto(s, Step.FACE, now, lookup=lk)
        return s2, (journal, StartFaceCheck(s.visit, lk.card_id))
    if lk.status == CardStatus.NEVER_RECORDED:
        return goto(s, Step.BOOKING, now, lookup=lk), (journal, LoadOffices(s.visit))
    if lk.status in STATUS_STEPS:
        return goto(s, Step.STATUS, now, lookup=lk), (journal,)
    if lk.status == CardStatus.NOT_FOUND:
        session, effects = refuse(replace(s, lookup=lk), now, Reason.NOT_FOUND)
        return session, (journal, *effects)
    session, effects = refuse(replace(s, lookup=lk), now, Reason.SERVICE_UNAVAILABLE)
    return session, (journal, *effects)


def _on_face(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    lk = s.lookup
    if lk is None or lk.card_id is None or lk.slot is None:  # cannot happen: FACE is entered with both
        return refuse(s, now, Reason.SERVICE_UNAVAILABLE)
    if isinstance(e, ev.FacePrompt) and is_result_for(s, e):
        return replace(s, face_prompt=e.msgid), ()
    if isinstance(e, ev.FaceChecked) and is_result_for(s, e):
        attempts = s.face_attempts + 1
        data: dict[str, object] = {"attempt": attempts, "match": e.match, "live": e.live, "score": round(e.score, 4)}
        decision = decide(cfg.policy, s.nik_source, e.match, e.live)
        data["policy"] = decision.why
        if e.reason:
            data["why"] = e.reason
        s = replace(s, face_prompt=None)
        journal = Journal("face_check", data)
        if decision.release:
            s2 = goto(s, Step.RELEASE, now, face_attempts=attempts)
            return s2, (journal, ReleaseCard(s.visit, lk.slot, lk.card_id))
        if attempts >= cfg.max_face_attempts:
            session, effects = refuse(
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
    if not (isinstance(e, ev.VaultOutcome) and is_result_for(s, e)):
        return s, ()
    if e.outcome == "taken":
        return goto(s, Step.TAP_NEW, now), ()
    if e.outcome == "not_taken":
        return refuse(s, now, Reason.CARD_NOT_TAKEN)
    return refuse(s, now, Reason.VAULT_FAULT, CallOperator(s.step.value, "vault_" + e.outcome))


def _on_tap_new(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    lk = s.lookup
    if not isinstance(e, ev.CardInserted) or lk is None or lk.card_id is None:
        return s, ()
    if lk.new_chip_uid and e.uid.upper() == lk.new_chip_uid.upper():
        code = handover_code(s.ticket, lk.card_id)
        s2 = goto(s, Step.HANDED_OVER, now, handover_code=code)
        data = {"card": lk.card_id, "nik": mask_nik(s.nik or ""), "code": code}
        return s2, (handover_record(s, code, confirmed=True), Journal("handed_over", data))
    taps = s.wrong_taps + 1
    journal = Journal("wrong_card_tapped", {"card": lk.card_id, "taps": taps})
    if taps >= cfg.max_wrong_taps:  # the card is out of the vault all the same: recorded, unconfirmed
        session, effects = refuse(
            replace(s, wrong_taps=taps), now, Reason.WRONG_NEW_CARD, CallOperator(s.step.value, "wrong_new_card")
        )
        return session, (journal, *_unconfirmed_handover(s), *effects)
    return replace(s, wrong_taps=taps, notice=Reason.WRONG_NEW_CARD), (journal,)


def _on_done(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    waiting = s.step == Step.REFUSED and s.help_called  # for the officer who was called: no OK to walk away
    if waiting and isinstance(e, ev.OperatorCard):
        return end(s, now, "attended", operator=e.name)  # the officer came and tapped their staff card
    if isinstance(e, ev.Press):
        if e.action == ev.FINISH and not waiting:
            return end(s, now, "finished")
        if e.action == ev.PRINT:
            slip = slip_for(s.step)
            if slip:
                return s, (PrintDocument(slip, s),)
    return s, ()


_HANDLERS = {
    Step.IDLE: _on_idle,
    Step.CARD: _on_card,
    Step.NIK_ENTRY: _on_nik_entry,
    Step.LOOKUP: _on_lookup,
    Step.FACE: _on_face,
    Step.RELEASE: _on_release,
    Step.TAP_NEW: _on_tap_new,
    Step.BOOKING: booking.on_booking,
    Step.CHOOSE_OFFICE: booking.on_choose_office,
    Step.CHOOSE_DAY: booking.on_choose_day,
    Step.CHOOSE_TIME: booking.on_choose_time,
    Step.CONFIRM_BOOKING: booking.on_confirm_booking,
    Step.HANDED_OVER: _on_done,
    Step.BOOKED: _on_done,
    Step.STATUS: _on_done,
    Step.REFUSED: _on_done,
    Step.OPERATOR_PIN: operator.on_operator_pin,
    Step.OPERATOR: operator.on_operator,
}

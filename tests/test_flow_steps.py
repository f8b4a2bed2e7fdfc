"""Steps of the pure flow with their exact effects and times: the new card's tap, typing the NIK, and
choosing office, day and time (what the journal says and when each step was entered)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import cast

import pytest

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow import machine
from kiosk.flow.base import idle, is_result_for, refusal_reference
from kiosk.flow.machine import FlowConfig, handover_code, handover_record, step
from kiosk.flow.model import Booking, CardStatus, Lookup, Reason, Session, Step
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Service, TicketReason, TicketRefusal
from tests.flowkit import CFG, NIK, OFFICES, OTHER_NIK, READY, SLOTS, T0, Walker, ticket

CODE_WITHOUT_TICKET = "NESGMF7D"  # base32 of sha256("-/C00001")[:5]: the code's format is fixed


def at_tap_new() -> Walker:
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))
    w(ev.LookupDone(w.s.visit, READY))(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, "taken"))
    assert w.s.step == Step.TAP_NEW
    return w.clear()


def test_the_right_tap_journals_the_handover_with_its_code():
    w = at_tap_new()
    assert w.s.ticket is not None
    code = handover_code(w.s.ticket, "C00001")
    assert code != handover_code(None, "C00001") and code != handover_code(w.s.ticket, "C00002")
    w(ev.CardInserted(READY.new_chip_uid.lower()), after=7)  # type: ignore[union-attr]  # any case
    assert (w.s.step, w.s.handover_code, w.s.entered_at) == (Step.HANDED_OVER, code, w.now)
    assert w.effects == [
        fx.RecordHandover("C00001", code, True, mask_nik(NIK), 1, "typed"),
        fx.Journal("handed_over", {"card": "C00001", "nik": mask_nik(NIK), "code": code}),
    ]


def test_each_wrong_tap_is_counted_and_journaled():
    w = at_tap_new()
    w(ev.CardInserted("04000000000001"))
    assert (w.s.step, w.s.wrong_taps, w.s.notice) == (Step.TAP_NEW, 1, Reason.WRONG_NEW_CARD)
    w(ev.CardInserted("04000000000002"))
    assert (w.s.step, w.s.wrong_taps) == (Step.TAP_NEW, 2)
    assert w.effects == [
        fx.Journal("wrong_card_tapped", {"card": "C00001", "taps": 1}),
        fx.Journal("wrong_card_tapped", {"card": "C00001", "taps": 2}),
    ]
    w.clear()(ev.CardInserted("04000000000003"))
    assert (w.s.step, w.s.reason, w.s.wrong_taps) == (Step.REFUSED, Reason.WRONG_NEW_CARD, 3)
    assert w.effects[0] == fx.Journal("wrong_card_tapped", {"card": "C00001", "taps": 3})
    assert fx.CallOperator("tap_new", "wrong_new_card") in w.effects


def test_tap_new_ignores_everything_but_a_card():
    w = at_tap_new()
    for event in (ev.CardRemoved(), ev.Press(ev.PRINT), ev.NikRead(NIK, "typed"), ev.CardUnreadable()):
        w(event)
    assert w.s.step == Step.TAP_NEW and w.effects == [] and w.s.wrong_taps == 0


def at_nik_entry() -> Walker:
    w = Walker()(ev.TicketScanned(ticket()))(ev.Press(ev.TYPE_NIK), after=3)
    assert (w.s.step, w.s.entered_at) == (Step.NIK_ENTRY, w.now)
    return w.clear()


def test_nik_entry_back_goes_to_the_card_step_and_only_back_does():
    w = at_nik_entry()
    w(ev.Press(ev.PRINT))
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))
    assert w.s.step == Step.NIK_ENTRY and w.effects == []
    w(ev.Press(ev.BACK), after=4)
    assert (w.s.step, w.s.entered_at) == (Step.CARD, w.now) and w.effects == []


def test_a_card_on_the_reader_during_nik_entry_is_read_as_on_the_card_step():
    w = at_nik_entry()
    w(ev.CardInserted("04112233445566"), after=2)
    assert (w.s.step, w.s.entered_at) == (Step.LOOKUP, w.now)
    assert w.effects == [fx.ResolveChip(w.s.visit, "04112233445566")]


def test_a_typed_nik_of_someone_else_is_refused_on_nik_entry():
    w = at_nik_entry()
    w(ev.NikRead(OTHER_NIK, "typed"))
    assert (w.s.step, w.s.reason) == (Step.REFUSED, Reason.NIK_MISMATCH)
    assert "nik_accepted" not in w.journal_kinds() and w.last(fx.LookUp) == []


def at_choose_office() -> Walker:
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NEVER_RECORDED)))
    w(ev.OfficesLoaded(w.s.visit, OFFICES))
    assert w.s.step == Step.CHOOSE_OFFICE
    return w.clear()


def test_choosing_an_office_loads_its_slots_and_an_unknown_one_does_nothing():
    w = at_choose_office()
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-99"))
    w(ev.Press(ev.CHOOSE_DAY, "KEC-04"))
    assert w.s.step == Step.CHOOSE_OFFICE and w.effects == []
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"), after=5)
    assert (w.s.step, w.s.office, w.s.slots, w.s.entered_at) == (Step.BOOKING, OFFICES[2], (), w.now)
    assert w.effects == [fx.LoadSlots(w.s.visit, "KEC-04")]


def test_day_and_time_with_their_back_buttons():
    w = at_choose_office()(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    w(ev.SlotsLoaded(w.s.visit, SLOTS), after=2)
    assert (w.s.step, w.s.entered_at) == (Step.CHOOSE_DAY, w.now)
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-30"))  # no such day
    w(ev.Press(ev.CHOOSE_TIME, "09:00"))  # not on this screen
    assert w.s.step == Step.CHOOSE_DAY and w.s.day is None
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"), after=3)
    assert (w.s.step, w.s.day, w.s.entered_at) == (Step.CHOOSE_TIME, "2026-09-22", w.now)
    w(ev.Press(ev.BACK), after=2)
    assert (w.s.step, w.s.entered_at) == (Step.CHOOSE_DAY, w.now)
    w(ev.Press(ev.BACK), after=2)
    assert (w.s.step, w.s.day, w.s.entered_at) == (Step.CHOOSE_OFFICE, None, w.now)
    w.clear()(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))(ev.SlotsLoaded(w.s.visit, SLOTS))
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-23"))
    w(ev.Press(ev.CHOOSE_TIME, "09:00"))  # a time of the other day: not offered
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-01"))  # not on this screen
    assert w.s.step == Step.CHOOSE_TIME and w.last(fx.Book) == []
    w(ev.Press(ev.CHOOSE_TIME, "08:00"), after=4)
    assert (w.s.step, w.s.time, w.s.entered_at) == (Step.CONFIRM_BOOKING, "08:00", w.now)
    assert w.last(fx.Book) == [], "nothing is booked before the resident has seen office, day and time"
    w(ev.Press(ev.BACK), after=2)  # another time after all
    assert (w.s.step, w.s.time, w.s.day, w.s.entered_at) == (Step.CHOOSE_TIME, None, "2026-09-23", w.now)
    w(ev.Press(ev.CHOOSE_TIME, "08:00"))(ev.Press(ev.CHOOSE_TIME, "09:00"))  # not on the review screen
    assert (w.s.step, w.s.time) == (Step.CONFIRM_BOOKING, "08:00")
    w(ev.Press(ev.CONFIRM), after=3)
    assert (w.s.step, w.s.entered_at) == (Step.BOOKING, w.now)
    assert w.last(fx.Book) == [fx.Book(w.s.visit, NIK, OFFICES[2], "2026-09-23", "08:00")]


def test_confirm_books_only_with_office_day_time_and_nik():
    w = at_choose_office()(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    w(ev.SlotsLoaded(w.s.visit, SLOTS))(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))(ev.Press(ev.CHOOSE_TIME, "09:00"))
    assert w.s.step == Step.CONFIRM_BOOKING
    for s in (replace(w.s, office=None), replace(w.s, day=None), replace(w.s, time=None), replace(w.s, nik=None)):
        assert machine.step(s, ev.Press(ev.CONFIRM), w.now, CFG) == (s, ())
    w(ev.Press(ev.FINISH))(ev.Press(ev.CHOOSE_TIME, "08:00"))  # neither is on this screen
    assert (w.s.step, w.s.time) == (Step.CONFIRM_BOOKING, "09:00")


def test_fresh_slots_on_the_time_screen_replace_the_old_ones():
    w = at_choose_office()(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    w(ev.SlotsLoaded(w.s.visit, SLOTS))(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))
    w(ev.SlotsLoaded(w.s.visit - 1, ()))  # another visit's answer
    assert w.s.slots == SLOTS
    fresh = SLOTS[:1]
    w(ev.SlotsLoaded(w.s.visit, fresh))
    assert (w.s.step, w.s.slots) == (Step.CHOOSE_TIME, fresh)


def test_handover_codes_are_eight_characters_from_ticket_and_card():
    assert handover_code(None, "C00001") == CODE_WITHOUT_TICKET
    code = handover_code(ticket(), "C00001")
    assert len(code) == 8 and code.isalnum() and code.isupper()


def at_release() -> Walker:
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))
    w(ev.LookupDone(w.s.visit, READY))(ev.FaceChecked(w.s.visit, True, True, 0.3))
    assert w.s.step == Step.RELEASE
    return w.clear()


def test_release_outcomes_with_their_refusals_and_calls():
    for outcome, reason, calls in [
        ("not_taken", Reason.CARD_NOT_TAKEN, []),
        ("jammed", Reason.VAULT_FAULT, [fx.CallOperator("release", "vault_jammed")]),
        ("fault", Reason.VAULT_FAULT, [fx.CallOperator("release", "vault_fault")]),
    ]:
        w = at_release()
        w(ev.VaultOutcome(w.s.visit + 1, "taken"))  # another visit's answer
        assert w.s.step == Step.RELEASE and w.effects == []
        w(ev.VaultOutcome(w.s.visit, outcome), after=3)
        assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, reason, w.now)
        assert w.last(fx.CallOperator) == calls
        assert w.s.help_called == bool(calls), "an officer called: the resident is asked to wait, not to leave"
        if calls:
            w(ev.Press(ev.FINISH)).clear()
            assert w.s.step == Step.REFUSED and w.effects == [], "OK is not offered, nor taken"
            w(ev.OperatorCard("04STAFF", "Maria"))
            assert w.s.step == Step.IDLE, "the officer came"
            assert fx.Journal("attended", {"step": "refused", "operator": "Maria"}) in w.effects
            w = at_release()(ev.VaultOutcome(w.s.visit, outcome))
        w(ev.Tick(), after=CFG.done_timeout_s)
        assert w.s.step == Step.IDLE


def at_booking() -> Walker:
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NEVER_RECORDED)))
    assert w.s.step == Step.BOOKING
    return w.clear()


def test_booking_answers_with_their_times_and_journal():
    w = at_booking()
    w(ev.OfficesLoaded(w.s.visit - 1, ()))  # another visit's answer
    assert w.s.step == Step.BOOKING
    w(ev.OfficesLoaded(w.s.visit, OFFICES), after=2)
    assert (w.s.step, w.s.entered_at) == (Step.CHOOSE_OFFICE, w.now)
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))(ev.SlotsLoaded(w.s.visit, ()), after=2)
    assert (w.s.step, w.s.notice, w.s.entered_at) == (Step.CHOOSE_OFFICE, Reason.NO_SLOTS, w.now)
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))(ev.SlotsLoaded(w.s.visit, SLOTS), after=2)
    assert (w.s.step, w.s.entered_at) == (Step.CHOOSE_DAY, w.now)
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))(ev.Press(ev.CHOOSE_TIME, "09:00"))(ev.Press(ev.CONFIRM)).clear()
    w(ev.BookingDone(w.s.visit, None, Reason.SLOT_TAKEN), after=2)
    assert (w.s.step, w.s.notice, w.s.time, w.s.entered_at) == (Step.CHOOSE_TIME, Reason.SLOT_TAKEN, None, w.now)
    assert w.effects == [fx.LoadSlots(w.s.visit, "KEC-04")]
    w(ev.Press(ev.CHOOSE_TIME, "09:00"))(ev.Press(ev.CONFIRM)).clear()
    booking = Booking("B0001", OFFICES[2], "2026-09-22", "09:00", provisional=True)
    w(ev.BookingDone(w.s.visit, booking), after=2)
    assert (w.s.step, w.s.booking, w.s.entered_at) == (Step.BOOKED, booking, w.now)
    data = {"office": "KEC-04", "day": "2026-09-22", "time": "09:00", "code": "B0001", "provisional": True}
    assert w.effects == [fx.Journal("booked", data)]


def test_a_booking_that_fails_is_refused_with_its_reason_or_booking_failed():
    for reason, expected in [(None, Reason.BOOKING_FAILED), (Reason.SERVICE_UNAVAILABLE, Reason.SERVICE_UNAVAILABLE)]:
        w = at_booking()(ev.OfficesLoaded(0, ()))  # visit 0 is over: ignored
        assert w.s.step == Step.BOOKING
        w(ev.OfficesLoaded(w.s.visit, OFFICES))(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
        w(ev.SlotsLoaded(w.s.visit, SLOTS))(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))(ev.Press(ev.CHOOSE_TIME, "09:00"))
        w(ev.Press(ev.CONFIRM))(ev.BookingDone(w.s.visit, None, reason), after=2)
        assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, expected, w.now)


def test_no_offices_reachable_is_refused_at_once():
    w = at_booking()(ev.OfficesLoaded(1, ()), after=2)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.SERVICE_UNAVAILABLE, w.now)


def test_the_journal_of_a_pickup_says_exactly_what_happened():
    t = ticket()
    w = Walker()(ev.TicketScanned(t))
    assert w.effects == [
        fx.ClaimTicket(1, t.ticket_id),
        fx.ConsumeTicket(t.ticket_id, {"ticket": t.ticket_id, "service": "pickup", "claim": "claimed"}),
    ]
    w.clear()(ev.NikRead(NIK, "ocr"))
    assert (w.s.nik, w.s.nik_source) == (NIK, "ocr")
    assert w.effects == [
        fx.LookUp(w.s.visit, NIK, t.service),
        fx.Journal("nik_accepted", {"nik": mask_nik(NIK), "source": "ocr"}),
    ]
    w.clear()(ev.LookupDone(w.s.visit, READY), after=2)
    assert (w.s.step, w.s.lookup, w.s.entered_at) == (Step.FACE, READY, w.now)
    assert w.effects == [
        fx.Journal("lookup", {"status": "ready_here", "stale": False}),
        fx.StartFaceCheck(w.s.visit, "C00001"),
    ]
    w.clear()(ev.FacePrompt(w.s.visit + 1, "Blink twice."))
    assert w.s.face_prompt is None
    w(ev.FacePrompt(w.s.visit, "Blink twice."))
    assert w.s.face_prompt == "Blink twice." and w.effects == []
    w(ev.FaceChecked(w.s.visit + 1, True, True, 0.3))  # another visit's verdict
    assert w.s.step == Step.FACE and w.effects == []
    w(ev.FaceChecked(w.s.visit, False, True, 0.612345, "mismatch"))
    assert (w.s.step, w.s.notice, w.s.face_attempts, w.s.face_prompt) == (Step.FACE, Reason.FACE_RETRY, 1, None)
    why = "refused: face does not match the enrolment"
    first = {"attempt": 1, "match": False, "live": True, "score": 0.6123, "policy": why, "why": "mismatch"}
    assert w.effects == [fx.Journal("face_check", first)]
    w.clear()(ev.Press(ev.RETRY_FACE))
    assert w.effects == [fx.StartFaceCheck(w.s.visit, "C00001")] and w.s.notice is None
    w.clear()(ev.Press(ev.RETRY_FACE))  # no retry asked for now: nothing
    assert w.effects == []
    w(ev.FaceChecked(w.s.visit, True, True, 0.3), after=2)
    second = {"attempt": 2, "match": True, "live": True, "score": 0.3, "policy": "ticket+ocr+face+liveness"}
    assert w.effects == [fx.Journal("face_check", second), fx.ReleaseCard(w.s.visit, 4, "C00001")]
    assert (w.s.step, w.s.face_attempts, w.s.entered_at) == (Step.RELEASE, 2, w.now)


def test_three_failed_faces_are_refused_with_the_operator_called():
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))(ev.LookupDone(1, READY))
    for _ in range(CFG.max_face_attempts):
        w(ev.FaceChecked(w.s.visit, True, False, 0.3))(ev.Press(ev.RETRY_FACE))
    assert (w.s.step, w.s.reason, w.s.face_attempts) == (Step.REFUSED, Reason.FACE_MISMATCH, 3)
    assert w.last(fx.CallOperator) == [fx.CallOperator("face", "face_mismatch")]
    assert len(w.last(fx.StartFaceCheck)) == CFG.max_face_attempts  # the first, then one per retry asked for
    refused = [e for e in w.effects if isinstance(e, fx.Journal) and e.kind == "refused"]
    ref = w.s.reference
    assert refused == [
        fx.Journal("refused", {"reason": "face_mismatch", "step": "face", "ref": ref, "nik": mask_nik(NIK)})
    ]


def test_refusals_journal_reason_step_and_the_masked_nik_only_when_known():
    w = Walker()(ev.TicketScanned(TicketRefusal(TicketReason.EXPIRED, "00aa")), after=2)
    assert (w.s.step, w.s.reason, w.s.visit, w.s.entered_at) == (Step.REFUSED, Reason.TICKET_EXPIRED, 1, w.now)
    assert w.effects == [
        fx.Journal("ticket_refused", {"reason": "ticket_expired", "ticket": "00aa", "ref": w.s.reference})
    ]
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed")).clear()
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NOT_FOUND)), after=2)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.NOT_FOUND, w.now)
    assert w.s.lookup == Lookup(CardStatus.NOT_FOUND)
    assert w.effects == [
        fx.Journal("lookup", {"status": "not_found", "stale": False}),
        fx.Journal("refused", {"reason": "not_found", "step": "lookup", "ref": w.s.reference, "nik": mask_nik(NIK)}),
    ]
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA")).clear()
    w(ev.ChipResolved(w.s.visit, None))
    assert w.effects == [fx.Journal("refused", {"reason": "card_unknown", "step": "lookup", "ref": w.s.reference})]


# -- the kiosk's day, entering a step, ending a visit ---------------------------------------------


@pytest.fixture
def machine_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone is not the kiosk's: TZ at UTC+9 (a POSIX rule, no zone database needed)."""
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_kiosk_day_is_utc_plus_its_offset_whatever_the_machine_zone(machine_in_tokyo):
    assert time.localtime(0).tm_hour == 9  # the zone took
    evening = dt.datetime(2026, 9, 21, 10, tzinfo=dt.UTC).timestamp()  # 18:00 in Kupang, 03:00 tomorrow at +17
    night = dt.datetime(2026, 9, 21, 20, tzinfo=dt.UTC).timestamp()  # 04:00 tomorrow in Kupang, noon at -8
    assert CFG.today(evening) == dt.date(2026, 9, 21)
    assert CFG.today(night) == dt.date(2026, 9, 22)
    assert FlowConfig(utc_offset_s=0).today(night) == dt.date(2026, 9, 21)
    assert FlowConfig(utc_offset_s=-10 * 3600).today(evening) == dt.date(2026, 9, 21)


def test_entering_a_step_starts_its_clocks_and_clears_the_warning_and_the_notice():
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardUnreadable())
    assert (w.s.step, w.s.notice) == (Step.CARD, Reason.CARD_UNREADABLE)
    w(ev.CardInserted("04AA"), after=2)
    assert (w.s.step, w.s.notice, w.s.entered_at) == (Step.LOOKUP, None, w.now)
    w(ev.ChipResolved(w.s.visit, NIK), after=3)  # an answer, not a touch: entering the step sets the clocks
    assert (w.s.step, w.s.entered_at, w.s.last_activity) == (Step.LOOKUP, w.now, w.now)
    w(ev.LookupDone(w.s.visit, READY), after=4)
    assert (w.s.step, w.s.entered_at, w.s.last_activity) == (Step.FACE, w.now, w.now)
    w(ev.Tick(), after=CFG.face_timeout_s - CFG.warn_before_s)
    assert (w.s.step, w.s.warned) == (Step.FACE, True)
    w(ev.FaceChecked(w.s.visit, True, True, 0.3), after=1)
    assert (w.s.step, w.s.entered_at, w.s.last_activity) == (Step.RELEASE, w.now, w.now)
    assert w.s.warned is False


def test_a_visit_that_ends_leaves_only_a_fresh_idle_session_behind():
    w = Walker()(ev.TicketScanned(ticket()))(ev.Press(ev.LANGUAGE)).clear()
    w(ev.Press(ev.CANCEL), after=3)
    assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
    assert w.effects == [fx.Journal("cancelled", {"step": "card"}), fx.EndVisit()]
    w = Walker()(ev.TicketScanned(ticket())).clear()
    w(ev.Tick(), after=CFG.idle_timeout_s)
    assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
    assert w.effects == [fx.Journal("abandoned", {"step": "card"}), fx.EndVisit()]
    w = Walker()(ev.TicketScanned(TicketRefusal(TicketReason.USED, "00bb")))(ev.Press(ev.LANGUAGE)).clear()
    w(ev.Press(ev.FINISH), after=2)
    assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
    assert w.effects == [fx.Journal("finished", {"step": "refused"}), fx.EndVisit()]
    w = at_tap_new()(ev.CardInserted(READY.new_chip_uid or "")).clear()
    w(ev.Press(ev.FINISH), after=5)
    assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
    assert w.effects == [fx.Journal("finished", {"step": "handed_over"}), fx.EndVisit()]


def test_idle_keeps_the_language_only_of_a_kiosk_that_was_idle():
    assert idle(Session(lang="en", visit=3), T0) == Session(lang="en", visit=3, entered_at=T0, last_activity=T0)
    after_a_visit = idle(Session(step=Step.STATUS, lang="en", visit=3, nik=NIK), T0)
    assert after_a_visit == Session(visit=3, entered_at=T0, last_activity=T0)


def test_an_event_without_a_visit_number_is_for_the_running_visit():
    s = Session(visit=3)
    assert is_result_for(s, ev.Press(ev.PRINT)) is True
    assert is_result_for(s, ev.Tick()) is True
    assert is_result_for(s, ev.LookupDone(3, READY)) is True
    assert is_result_for(s, ev.LookupDone(2, READY)) is False


# -- touches that keep the step -------------------------------------------------------------------


def test_language_still_here_help_and_any_touch_restart_the_quiet_clock_and_clear_the_warning():
    s0 = replace(Walker()(ev.TicketScanned(ticket())).s, warned=True, notice=Reason.CARD_UNREADABLE)
    now = s0.last_activity + 50
    assert step(s0, ev.Press(ev.LANGUAGE), now, CFG) == (replace(s0, lang="en", last_activity=now, warned=False), ())
    named = step(s0, ev.Press(ev.LANGUAGE, "id"), now, CFG)  # a language named: that one, even the current one
    assert named == (replace(s0, last_activity=now, warned=False), ())
    assert step(s0, ev.Press(ev.LANGUAGE, "fr"), now, CFG)[0].lang == "en"  # not offered: the next one
    assert step(s0, ev.Press(ev.STILL_HERE), now, CFG) == (replace(s0, last_activity=now, warned=False), ())
    helped, effects = step(s0, ev.Press(ev.HELP), now, CFG)
    assert helped == replace(s0, last_activity=now, warned=False, help_called=True)
    assert effects == (fx.CallOperator("card", "help"), fx.Journal("help_called", {"step": "card"}))
    again = step(replace(helped, warned=True), ev.Press(ev.HELP), now + 5, CFG)  # asked already: no second call
    assert again == (replace(helped, last_activity=now + 5), ())
    touched = step(s0, ev.Press(ev.PRINT), now, CFG)  # nothing to print here: only the clock and the warning
    assert touched == (replace(s0, last_activity=now, warned=False), ())


def test_the_language_button_cycles_through_the_configured_languages_in_order():
    cfg = FlowConfig(languages=("id", "en", "tet"))
    s, seen = Session(step=Step.CARD), []
    for _ in range(4):
        s, _effects = step(s, ev.Press(ev.LANGUAGE), T0, cfg)
        seen.append(s.lang)
    assert seen == ["en", "tet", "id", "en"]
    assert step(s, ev.Press(ev.LANGUAGE, "tet"), T0, cfg)[0].lang == "tet"


def test_without_a_config_the_default_one_applies():
    s = Session(step=Step.CARD, visit=1, entered_at=T0, last_activity=T0)
    assert step(s, ev.Tick(), T0 + 1) == (s, ())
    assert step(s, ev.Tick(), T0 + FlowConfig().idle_timeout_s)[0].step == Step.IDLE


def test_a_session_at_a_step_without_a_handler_takes_the_touch_and_nothing_else():
    s = Session(step=cast(Step, "retired"), visit=2)  # the machine stays total even for a step it lost
    assert step(s, ev.CardInserted("04AA"), T0, CFG) == (replace(s, last_activity=T0), ())


def test_help_asked_on_the_idle_screen_does_not_carry_into_the_next_visit():
    w = Walker()(ev.Press(ev.HELP))
    assert w.s.help_called is True and w.last(fx.CallOperator) == [fx.CallOperator("idle")]
    w(ev.TicketScanned(ticket()))
    assert w.s.help_called is False
    w.clear()(ev.Press(ev.HELP))
    assert w.effects == [fx.CallOperator("card"), fx.Journal("help_called", {"step": "card"})]


# -- timeouts -------------------------------------------------------------------------------------


def test_an_open_slot_times_out_exactly_at_its_limit_and_not_before():
    w = at_release()
    entered = w.s.entered_at
    w(ev.Tick(), after=1)
    w(ev.Tick(), after=CFG.release_timeout_s - 2)
    assert w.s.step == Step.RELEASE and w.effects == []
    w(ev.Tick(), after=1)
    assert w.now - entered == CFG.release_timeout_s
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.VAULT_FAULT, w.now)
    assert w.effects == [
        fx.Journal("refused", {"reason": "vault_fault", "step": "release", "ref": w.s.reference, "nik": mask_nik(NIK)}),
        fx.CallOperator("release", "release_timeout"),
    ]


def test_a_busy_step_times_out_exactly_at_its_limit_and_not_before():
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed")).clear()
    entered = w.s.entered_at
    w(ev.Tick(), after=1)
    w(ev.Tick(), after=CFG.busy_timeout_s - 2)
    assert w.s.step == Step.LOOKUP and w.effects == []
    w(ev.Tick(), after=1)
    assert w.now - entered == CFG.busy_timeout_s
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.SERVICE_UNAVAILABLE, w.now)
    assert w.effects == [
        fx.Journal(
            "refused", {"reason": "service_unavailable", "step": "lookup", "ref": w.s.reference, "nik": mask_nik(NIK)}
        )
    ]


def test_the_warning_comes_exactly_when_the_quiet_time_reaches_it():
    w = Walker()(ev.TicketScanned(ticket()))
    w(ev.Tick(), after=CFG.idle_timeout_s - CFG.warn_before_s - 1)
    assert w.s.warned is False
    w(ev.Tick(), after=1)
    assert (w.s.step, w.s.warned) == (Step.CARD, True)
    w(ev.Tick(), after=CFG.warn_before_s - 1)
    assert (w.s.step, w.s.warned) == (Step.CARD, True)


# -- the card that left the vault -------------------------------------------------------------------


def test_a_card_that_left_the_vault_is_recorded_unconfirmed_when_the_visit_ends_without_the_tap():
    ends: list[tuple[ev.Event, float, str]] = [
        (ev.Tick(), CFG.idle_timeout_s, "abandoned"),
        (ev.Press(ev.CANCEL), 2.0, "cancelled"),
    ]
    for event, after, kind in ends:
        w = at_tap_new()
        code = handover_code(w.s.ticket, "C00001")
        assert code != handover_code(None, "C00001")
        w(event, after=after)
        assert w.s == Session(visit=1, entered_at=w.now, last_activity=w.now)
        assert w.effects == [
            fx.RecordHandover("C00001", code, False, mask_nik(NIK), 1, "typed"),
            fx.Journal(kind, {"step": "tap_new"}),
            fx.EndVisit(),
        ]


def test_tap_new_without_a_card_in_the_lookup_hands_over_and_records_nothing():
    w = at_tap_new()
    uid = READY.new_chip_uid or ""
    for lookup in (None, Lookup(CardStatus.READY_HERE, None, 4, uid)):
        s = replace(w.s, lookup=lookup)
        now = w.now + 1
        assert step(s, ev.CardInserted(uid), now, CFG) == (replace(s, last_activity=now), ())
        _session, effects = step(s, ev.Press(ev.CANCEL), now, CFG)
        assert effects == (fx.Journal("cancelled", {"step": "tap_new"}), fx.EndVisit())


def test_a_handover_record_leaves_what_the_visit_does_not_know_empty():
    assert handover_record(Session(), "CODE", confirmed=False) == fx.RecordHandover("", "CODE", False, "", 0, None)
    s = Session(lookup=Lookup(CardStatus.READY_HERE), nik=NIK, face_attempts=2, nik_source="chip")
    assert handover_record(s, "CODE", confirmed=True) == fx.RecordHandover("", "CODE", True, mask_nik(NIK), 2, "chip")


# -- the NIK and the lookup -----------------------------------------------------------------------------


def test_a_nik_that_does_not_match_the_ticket_is_kept_on_the_refusal_with_its_source():
    w = at_nik_entry()
    w(ev.NikRead(OTHER_NIK, "typed"), after=2)
    assert (w.s.step, w.s.nik, w.s.nik_source, w.s.entered_at) == (Step.REFUSED, OTHER_NIK, "typed", w.now)
    data = {"reason": "nik_mismatch", "step": "nik_entry", "ref": w.s.reference, "nik": mask_nik(OTHER_NIK)}
    assert mask_nik(OTHER_NIK) != mask_nik(NIK) and w.effects == [fx.Journal("refused", data)]


def test_the_chip_s_nik_is_taken_as_parsed_and_one_that_does_not_parse_is_a_mismatch():
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA")).clear()
    w(ev.ChipResolved(w.s.visit, "5371 0465 0890 0001"), after=2)  # the NIK, as a chip may space it
    assert (w.s.step, w.s.nik, w.s.nik_source, w.s.entered_at) == (Step.LOOKUP, NIK, "chip", w.now)
    assert w.effects == [
        fx.LookUp(w.s.visit, NIK, Service.PICKUP),
        fx.Journal("nik_accepted", {"nik": mask_nik(NIK), "source": "chip"}),
    ]
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA")).clear()
    w(ev.ChipResolved(w.s.visit, "1234"), after=2)
    assert (w.s.step, w.s.reason, w.s.nik, w.s.nik_source) == (Step.REFUSED, Reason.NIK_MISMATCH, "1234", "chip")
    assert w.effects == [
        fx.Journal("refused", {"reason": "nik_mismatch", "step": "lookup", "ref": w.s.reference, "nik": "****"})
    ]


def test_an_unknown_or_unreachable_chip_is_answered_at_the_time_it_comes():
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA"))
    w(ev.ChipResolved(w.s.visit, None, unavailable=True), after=2)
    assert (w.s.step, w.s.notice, w.s.entered_at, w.s.last_activity) == (
        Step.NIK_ENTRY,
        Reason.CHIP_OFFLINE,
        w.now,
        w.now,
    )
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA"))
    w(ev.ChipResolved(w.s.visit, None), after=2)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.CARD_UNKNOWN, w.now)


def test_each_lookup_answer_is_kept_on_the_session_with_exactly_its_effects():
    def refused(visit: int, now: float) -> fx.Journal:
        ref = refusal_reference(visit, now, Reason.SERVICE_UNAVAILABLE)
        return fx.Journal(
            "refused", {"reason": "service_unavailable", "step": "lookup", "ref": ref, "nik": mask_nik(NIK)}
        )

    answers: list[tuple[Lookup, Step, list[fx.Effect | Callable[[int, float], fx.Effect]]]] = [
        (Lookup(CardStatus.COLLECTED, "C00001", 4), Step.STATUS, []),
        (Lookup(CardStatus.NEVER_RECORDED), Step.BOOKING, [fx.LoadOffices(1)]),
        (Lookup(CardStatus.UNAVAILABLE, stale=True), Step.REFUSED, [refused]),
        (Lookup(CardStatus.READY_HERE, None, 4), Step.REFUSED, [refused]),  # nothing to release
        (Lookup(CardStatus.READY_HERE, "C00001", None), Step.REFUSED, [refused]),  # no slot to open
    ]
    for lookup, expected, effects in answers:
        w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed")).clear()
        w(ev.LookupDone(w.s.visit, lookup), after=2)
        assert (w.s.step, w.s.lookup, w.s.entered_at) == (expected, lookup, w.now)
        journal = fx.Journal("lookup", {"status": lookup.status.value, "stale": lookup.stale})
        assert w.effects == [journal, *(e(w.s.visit, w.now) if callable(e) else e for e in effects)]


# -- the face check -----------------------------------------------------------------------------------


def test_a_face_step_without_a_card_and_slot_to_release_is_refused_whatever_comes():
    w = at_release()
    face = replace(w.s, step=Step.FACE, face_attempts=0)
    for lookup in (None, Lookup(CardStatus.READY_HERE, None, 4), Lookup(CardStatus.READY_HERE, "C00001", None)):
        s = replace(face, lookup=lookup)
        now = w.now + 2
        session, effects = step(s, ev.FaceChecked(s.visit, True, True, 0.3), now, CFG)
        ref = refusal_reference(s.visit, now, Reason.SERVICE_UNAVAILABLE)
        reason = Reason.SERVICE_UNAVAILABLE
        assert session == replace(s, step=Step.REFUSED, reason=reason, reference=ref, entered_at=now, last_activity=now)
        assert effects == (
            fx.Journal("refused", {"reason": "service_unavailable", "step": "face", "ref": ref, "nik": mask_nik(NIK)}),
        )


def test_a_late_prompt_is_cleared_by_the_retry_and_the_last_failure_is_refused_at_its_time():
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))(ev.LookupDone(1, READY))
    w(ev.FaceChecked(w.s.visit, False, True, 0.6))
    w(ev.FacePrompt(w.s.visit, "Blink twice."))  # the camera's last words on the failed attempt
    assert (w.s.notice, w.s.face_prompt) == (Reason.FACE_RETRY, "Blink twice.")
    w(ev.Press(ev.RETRY_FACE))
    assert (w.s.notice, w.s.face_prompt) == (None, None)
    w(ev.FaceChecked(w.s.visit, False, True, 0.6))(ev.Press(ev.RETRY_FACE))
    w(ev.FaceChecked(w.s.visit, False, True, 0.6), after=3)
    assert (w.s.step, w.s.reason, w.s.entered_at, w.s.last_activity) == (
        Step.REFUSED,
        Reason.FACE_MISMATCH,
        w.now,
        w.now,
    )


# -- booking --------------------------------------------------------------------------------------------


def test_choosing_another_office_forgets_the_slots_of_the_first():
    w = at_choose_office()(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))(ev.SlotsLoaded(1, SLOTS))
    w(ev.Press(ev.BACK))
    assert (w.s.step, w.s.slots) == (Step.CHOOSE_OFFICE, SLOTS)
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-01"))
    assert (w.s.step, w.s.office, w.s.slots, w.s.days) == (Step.BOOKING, OFFICES[0], (), [])

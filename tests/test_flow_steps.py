"""Steps of the pure flow with their exact effects and times: the new card's tap, typing the NIK, and
choosing office, day and time (what the journal says and when each step was entered)."""

from __future__ import annotations

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import handover_code
from kiosk.flow.model import Booking, CardStatus, Lookup, Reason, Step
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import TicketReason, TicketRefusal
from tests.flowkit import CFG, NIK, OFFICES, OTHER_NIK, READY, SLOTS, Walker, ticket

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
    assert (w.s.step, w.s.entered_at) == (Step.BOOKING, w.now)
    assert w.last(fx.Book) == [fx.Book(w.s.visit, NIK, OFFICES[2], "2026-09-23", "08:00")]


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
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))(ev.Press(ev.CHOOSE_TIME, "09:00")).clear()
    w(ev.BookingDone(w.s.visit, None, Reason.SLOT_TAKEN), after=2)
    assert (w.s.step, w.s.notice, w.s.entered_at) == (Step.CHOOSE_TIME, Reason.SLOT_TAKEN, w.now)
    assert w.effects == [fx.LoadSlots(w.s.visit, "KEC-04")]
    w(ev.Press(ev.CHOOSE_TIME, "09:00")).clear()
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
        w(ev.BookingDone(w.s.visit, None, reason), after=2)
        assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, expected, w.now)


def test_no_offices_reachable_is_refused_at_once():
    w = at_booking()(ev.OfficesLoaded(1, ()), after=2)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.SERVICE_UNAVAILABLE, w.now)


def test_the_journal_of_a_pickup_says_exactly_what_happened():
    t = ticket()
    w = Walker()(ev.TicketScanned(t))
    assert w.effects == [
        fx.ConsumeTicket(t.ticket_id),
        fx.Journal("ticket_accepted", {"ticket": t.ticket_id, "service": "pickup"}),
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
    assert refused == [fx.Journal("refused", {"reason": "face_mismatch", "step": "face", "nik": mask_nik(NIK)})]


def test_refusals_journal_reason_step_and_the_masked_nik_only_when_known():
    w = Walker()(ev.TicketScanned(TicketRefusal(TicketReason.EXPIRED, "00aa")), after=2)
    assert (w.s.step, w.s.reason, w.s.visit, w.s.entered_at) == (Step.REFUSED, Reason.TICKET_EXPIRED, 1, w.now)
    assert w.effects == [fx.Journal("ticket_refused", {"reason": "ticket_expired", "ticket": "00aa"})]
    w = Walker()(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed")).clear()
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NOT_FOUND)), after=2)
    assert (w.s.step, w.s.reason, w.s.entered_at) == (Step.REFUSED, Reason.NOT_FOUND, w.now)
    assert w.s.lookup == Lookup(CardStatus.NOT_FOUND)
    assert w.effects == [
        fx.Journal("lookup", {"status": "not_found", "stale": False}),
        fx.Journal("refused", {"reason": "not_found", "step": "lookup", "nik": mask_nik(NIK)}),
    ]
    w = Walker()(ev.TicketScanned(ticket()))(ev.CardInserted("04AA")).clear()
    w(ev.ChipResolved(w.s.visit, None))
    assert w.effects == [fx.Journal("refused", {"reason": "card_unknown", "step": "lookup"})]

"""Every transition of the journey, as a resident would walk it."""

import re
from dataclasses import replace

import pytest

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.base import idle, refusal_reference, refuse
from kiosk.flow.machine import sort_offices, start, step
from kiosk.flow.model import Booking, CardStatus, Lookup, Reason, Session, Step
from kiosk.flow.policy import Decision, Policy, decide
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Service, TicketReason, TicketRefusal
from tests.flowkit import CFG, NIK, OFFICES, OTHER_NIK, READY, SLOTS, T0, Walker, ticket


def at_card(service=Service.PICKUP, nik=NIK) -> Walker:
    w = Walker()
    w(ev.TicketScanned(ticket(nik, service)))
    assert w.s.step == Step.CARD
    return w


def at_lookup() -> Walker:
    w = at_card()
    w(ev.NikRead(NIK, "typed"))
    assert w.s.step == Step.LOOKUP
    return w


def at_face() -> Walker:
    w = at_lookup()
    w(ev.LookupDone(w.s.visit, READY))
    assert w.s.step == Step.FACE
    return w


def at_choose_office() -> Walker:
    w = at_lookup()
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NEVER_RECORDED)))
    w(ev.OfficesLoaded(w.s.visit, OFFICES))
    assert w.s.step == Step.CHOOSE_OFFICE
    return w


def at_booking_sent() -> Walker:
    """Office KEC-04, 22 September, 09:00 chosen and confirmed: the booking is on its way to the gateway."""
    w = at_choose_office()
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    w(ev.SlotsLoaded(w.s.visit, SLOTS))
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))
    w(ev.Press(ev.CHOOSE_TIME, "09:00"))(ev.Press(ev.CONFIRM))
    assert w.s.step == Step.BOOKING
    return w


# -- idle and tickets ------------------------------------------------------------------------


def test_valid_ticket_starts_a_visit_and_is_consumed():
    w = Walker()
    t = ticket()
    w(ev.TicketScanned(t))
    assert w.s.step == Step.CARD and w.s.ticket == t and w.s.visit == 1
    (consumed,) = w.last(fx.ConsumeTicket)
    assert consumed.ticket_id == t.ticket_id and consumed.accepted["ticket"] == t.ticket_id  # journaled with it


@pytest.mark.parametrize("reason", list(TicketReason))
def test_refused_ticket_shows_its_reason(reason):
    w = Walker()(ev.TicketScanned(TicketRefusal(reason, "00")))
    assert w.s.step == Step.REFUSED and w.s.reason == Reason(reason.value)
    assert w.journal_kinds() == ["ticket_refused"]
    (journal,) = w.last(fx.Journal)
    assert w.s.reference and journal.data["ref"] == w.s.reference == refusal_reference(1, w.now, w.s.reason)
    assert not w.last(fx.ConsumeTicket)


def test_every_refusal_has_a_reference_staff_can_read_out():
    seen = set()
    for visit, reason in enumerate(Reason):
        s, effects = refuse(Session(step=Step.CARD, visit=visit, nik=NIK), T0, reason)
        ref = s.reference
        assert ref is not None and re.fullmatch(r"[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}", ref), ref
        assert effects == (
            fx.Journal("refused", {"reason": reason.value, "step": "card", "ref": ref, "nik": mask_nik(NIK)}),
        )
        seen.add(ref)
    assert len(seen) == len(Reason), "one code per refusal"
    assert refusal_reference(1, T0, Reason.NOT_FOUND) != refusal_reference(1, T0 + 0.001, Reason.NOT_FOUND)
    assert refusal_reference(1, T0, Reason.NOT_FOUND) != refusal_reference(2, T0, Reason.NOT_FOUND)
    assert idle(s, T0).reference is None, "the next resident does not see it"


def test_idle_ignores_cards_and_presses_but_toggles_language():
    w = Walker()
    for e in (ev.CardInserted("04AA"), ev.Press(ev.FINISH), ev.Press(ev.CANCEL), ev.NikRead(NIK, "typed")):
        w(e)
        assert w.s.step == Step.IDLE
    w(ev.Press(ev.LANGUAGE))
    assert w.s.lang == "en"
    w(ev.Press(ev.LANGUAGE))
    assert w.s.lang == "id"


# -- presenting the old KTP ------------------------------------------------------------------


def test_chip_card_is_resolved_then_looked_up():
    w = at_card()
    w(ev.CardInserted("04112233445566"))
    assert w.s.step == Step.LOOKUP
    assert w.last(fx.ResolveChip) == [fx.ResolveChip(w.s.visit, "04112233445566")]
    w(ev.ChipResolved(w.s.visit, NIK))
    assert w.s.step == Step.LOOKUP and w.s.nik == NIK and w.s.nik_source == "chip"
    assert w.s.ticket is not None
    assert w.last(fx.LookUp) == [fx.LookUp(w.s.visit, NIK, w.s.ticket.service)]


def test_card_of_someone_else_is_refused_as_mismatch():
    w = at_card()
    w(ev.CardInserted("04112233445566"))
    w(ev.ChipResolved(w.s.visit, OTHER_NIK))
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.NIK_MISMATCH
    assert not w.last(fx.LookUp)


def test_unknown_chip_is_refused_and_link_down_asks_for_the_nik():
    w = at_card()
    w(ev.CardInserted("04FF"))
    w(ev.ChipResolved(w.s.visit, None))
    assert w.s.reason == Reason.CARD_UNKNOWN
    w = at_card()
    w(ev.CardInserted("04FF"))
    w(ev.ChipResolved(w.s.visit, None, unavailable=True))
    assert (w.s.step, w.s.notice) == (Step.NIK_ENTRY, Reason.CHIP_OFFLINE)


def test_unreadable_card_shows_a_hint_and_allows_another_try():
    w = at_card()
    w(ev.CardUnreadable())
    assert w.s.step == Step.CARD and w.s.notice == Reason.CARD_UNREADABLE
    w(ev.CardInserted("04AA"))
    assert w.s.step == Step.LOOKUP


def test_typed_nik_path_with_back():
    w = at_card()
    w(ev.Press(ev.TYPE_NIK))
    assert w.s.step == Step.NIK_ENTRY
    w(ev.Press(ev.BACK))
    assert w.s.step == Step.CARD
    w(ev.Press(ev.TYPE_NIK))
    w(ev.NikRead("1234", "typed"))
    assert w.s.step == Step.NIK_ENTRY and w.s.notice == Reason.NIK_FORMAT
    w(ev.NikRead("5371043202900001", "typed"))
    assert w.s.notice == Reason.NIK_BIRTH_DATE
    w(ev.NikRead(NIK, "typed"))
    assert w.s.step == Step.LOOKUP and w.s.nik_source == "typed"


def test_printed_nik_read_by_camera_is_accepted_on_card_screen():
    w = at_card()
    w(ev.NikRead(NIK, "ocr"))
    assert w.s.step == Step.LOOKUP and w.s.nik_source == "ocr"


def test_typed_nik_of_someone_else_is_refused():
    w = at_card()
    w(ev.Press(ev.TYPE_NIK))
    w(ev.NikRead(OTHER_NIK, "typed"))
    assert w.s.reason == Reason.NIK_MISMATCH


# -- lookup outcomes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (CardStatus.READY_HERE, Step.FACE),
        (CardStatus.NEVER_RECORDED, Step.BOOKING),
        (CardStatus.READY_ELSEWHERE, Step.STATUS),
        (CardStatus.VERIFICATION, Step.STATUS),
        (CardStatus.PRINTING, Step.STATUS),
        (CardStatus.WAITING_BLANKO, Step.STATUS),
        (CardStatus.COLLECTED, Step.STATUS),
        (CardStatus.NOT_FOUND, Step.REFUSED),
        (CardStatus.UNAVAILABLE, Step.REFUSED),
    ],
)
def test_lookup_decides_the_path(status, step):
    w = at_lookup()
    lookup = READY if status == CardStatus.READY_HERE else Lookup(status)
    w(ev.LookupDone(w.s.visit, lookup))
    assert w.s.step == step
    assert "lookup" in w.journal_kinds()


def test_late_answer_of_an_abandoned_visit_is_ignored():
    w = at_lookup()
    old = w.s.visit
    w(ev.Press(ev.CANCEL))
    w(ev.TicketScanned(ticket()))
    w(ev.NikRead(NIK, "typed"))
    w(ev.LookupDone(old, READY))
    assert w.s.step == Step.LOOKUP


# -- face, release, new card -----------------------------------------------------------------


def test_face_match_releases_the_card_of_the_lookup():
    w = at_face()
    assert w.last(fx.StartFaceCheck) == [fx.StartFaceCheck(w.s.visit, "C00001")]
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    assert w.s.step == Step.RELEASE
    assert w.last(fx.ReleaseCard) == [fx.ReleaseCard(w.s.visit, 4, "C00001")]


def test_photo_or_stranger_never_releases_and_ends_with_operator():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, False, 0.3))  # a printed photo of the right person
    assert w.s.step == Step.FACE and w.s.notice == Reason.FACE_RETRY
    w(ev.Press(ev.RETRY_FACE))
    assert len(w.last(fx.StartFaceCheck)) == 2
    w(ev.FaceChecked(w.s.visit, False, True, 0.9))
    w(ev.Press(ev.RETRY_FACE))
    w(ev.FaceChecked(w.s.visit, False, True, 0.9))
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.FACE_MISMATCH
    assert w.last(fx.CallOperator)
    assert not w.last(fx.ReleaseCard)


def test_cancel_is_ignored_while_the_slot_is_open():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.Press(ev.CANCEL))
    assert w.s.step == Step.RELEASE


@pytest.mark.parametrize(("outcome", "reason"), [("not_taken", Reason.CARD_NOT_TAKEN), ("jammed", Reason.VAULT_FAULT)])
def test_release_problems_are_refusals(outcome, reason):
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, outcome))
    assert w.s.step == Step.REFUSED and w.s.reason == reason


def test_vault_that_never_answers_is_a_fault_after_the_safety_timeout():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.Tick(), after=CFG.release_timeout_s + 1)
    assert w.s.reason == Reason.VAULT_FAULT and w.last(fx.CallOperator)


def test_right_new_card_completes_the_handover():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, "taken"))
    assert w.s.step == Step.TAP_NEW
    w(ev.CardInserted("04AABBCCDDEEFF"))
    assert w.s.step == Step.HANDED_OVER and w.s.handover_code
    (handover,) = w.last(fx.RecordHandover)
    assert handover.card_id == "C00001" and handover.confirmed
    assert (
        handover.nik_masked == mask_nik(NIK) and handover.nik_source == w.s.nik_source and handover.face_attempts == 1
    )
    w(ev.Press(ev.PRINT))
    assert w.last(fx.PrintDocument) == [fx.PrintDocument("receipt", w.s)]
    w(ev.Press(ev.FINISH))
    assert w.s.step == Step.IDLE and w.s.nik is None and w.last(fx.EndVisit)


def test_wrong_new_card_gets_a_hint_then_an_operator():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, "taken"))
    w(ev.CardInserted("04000000000000"))
    assert w.s.step == Step.TAP_NEW and w.s.notice == Reason.WRONG_NEW_CARD
    w(ev.CardInserted("04000000000000"))
    w(ev.CardInserted("04000000000000"))
    assert w.s.reason == Reason.WRONG_NEW_CARD and w.last(fx.CallOperator)


def test_walking_off_with_the_card_records_an_unconfirmed_handover():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, "taken"))
    w(ev.Tick(), after=CFG.idle_timeout_s + 1)
    assert w.s.step == Step.IDLE
    (handover,) = w.last(fx.RecordHandover)
    assert not handover.confirmed


# -- booking -----------------------------------------------------------------------------------


def test_offices_are_sorted_own_kecamatan_first():
    ordered = sort_offices(OFFICES, "537104")
    assert [o.office_id for o in ordered] == ["DKP-KUPANG", "KEC-04", "KEC-01", "KAB-01"]


def test_booking_path_office_day_time_slip():
    w = at_choose_office()
    assert [o.district for o in w.s.offices][:2] == ["537104", "537104"]
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    assert w.s.step == Step.BOOKING and w.last(fx.LoadSlots)[-1].office_id == "KEC-04"
    w(ev.SlotsLoaded(w.s.visit, SLOTS))
    assert w.s.step == Step.CHOOSE_DAY and w.s.days == ["2026-09-22", "2026-09-23"]
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-22"))
    assert w.s.step == Step.CHOOSE_TIME and [t.time for t in w.s.times] == ["09:00"]
    w(ev.Press(ev.CHOOSE_TIME, "08:00"))  # full: not offered, ignored
    assert w.s.step == Step.CHOOSE_TIME
    w(ev.Press(ev.CHOOSE_TIME, "09:00"))
    assert w.s.step == Step.CONFIRM_BOOKING and not w.last(fx.Book)
    w(ev.Press(ev.CONFIRM))
    assert w.last(fx.Book)[-1] == fx.Book(w.s.visit, NIK, OFFICES[2], "2026-09-22", "09:00")
    assert OFFICES[2].office_id == "KEC-04"
    booking = Booking("B1234", OFFICES[2], "2026-09-22", "09:00")
    w(ev.BookingDone(w.s.visit, booking))
    assert w.s.step == Step.BOOKED and w.s.booking == booking
    w(ev.Press(ev.PRINT))
    assert w.last(fx.PrintDocument) == [fx.PrintDocument("booking", w.s)]


def test_back_buttons_walk_back_through_booking():
    w = at_choose_office()
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-04"))
    w(ev.SlotsLoaded(w.s.visit, SLOTS))
    w(ev.Press(ev.CHOOSE_DAY, "2026-09-23"))
    w(ev.Press(ev.BACK))
    assert w.s.step == Step.CHOOSE_DAY
    w(ev.Press(ev.BACK))
    assert w.s.step == Step.CHOOSE_OFFICE


def test_office_without_free_days_says_so():
    w = at_choose_office()
    w(ev.Press(ev.CHOOSE_OFFICE, "KEC-01"))
    w(ev.SlotsLoaded(w.s.visit, (SLOTS[0],)))
    assert w.s.step == Step.CHOOSE_OFFICE and w.s.notice == Reason.NO_SLOTS


def test_slot_taken_meanwhile_reloads_slots():
    w = at_booking_sent()
    w(ev.BookingDone(w.s.visit, None, Reason.SLOT_TAKEN))
    assert w.s.step == Step.CHOOSE_TIME and w.s.notice == Reason.SLOT_TAKEN
    w(ev.SlotsLoaded(w.s.visit, (SLOTS[1],)))
    assert w.s.step == Step.CHOOSE_TIME


def test_no_offices_reachable_is_refused():
    w = at_lookup()
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.NEVER_RECORDED)))
    w(ev.OfficesLoaded(w.s.visit, ()))
    assert w.s.reason == Reason.SERVICE_UNAVAILABLE


def test_booking_failure_is_refused():
    w = at_booking_sent()
    w(ev.BookingDone(w.s.visit, None, Reason.SERVICE_UNAVAILABLE))
    assert w.s.step == Step.REFUSED


# -- status --------------------------------------------------------------------------------


def test_status_can_be_printed_and_finished():
    w = at_lookup()
    w(ev.LookupDone(w.s.visit, Lookup(CardStatus.PRINTING)))
    w(ev.Press(ev.PRINT))
    assert w.last(fx.PrintDocument) == [fx.PrintDocument("status", w.s)]
    w(ev.Press(ev.FINISH))
    assert w.s.step == Step.IDLE


# -- timeouts, cancel, help ----------------------------------------------------------------


def test_quiet_resident_is_warned_then_the_visit_resets():
    w = at_card()
    w(ev.Tick(), after=CFG.idle_timeout_s - CFG.warn_before_s - 2)
    assert not w.s.warned
    w(ev.Tick(), after=3)
    assert w.s.warned and w.s.step == Step.CARD
    w(ev.Press(ev.STILL_HERE))
    assert not w.s.warned
    w(ev.Tick(), after=CFG.idle_timeout_s + 1)
    assert w.s.step == Step.IDLE and "abandoned" in w.journal_kinds() and w.last(fx.EndVisit)


def test_busy_step_times_out_to_a_refusal():
    w = at_lookup()
    w(ev.Tick(), after=CFG.busy_timeout_s + 1)
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.SERVICE_UNAVAILABLE


def test_done_screens_return_to_idle_on_their_own():
    w = Walker()(ev.TicketScanned(TicketRefusal(TicketReason.EXPIRED)))
    w(ev.Tick(), after=CFG.done_timeout_s + 1)
    assert w.s.step == Step.IDLE


@pytest.mark.parametrize("builder", [at_card, at_lookup, at_face, at_choose_office])
def test_cancel_from_any_step_forgets_the_resident(builder):
    w = builder()
    w(ev.Press(ev.LANGUAGE))
    w(ev.Press(ev.CANCEL))
    assert w.s.step == Step.IDLE
    assert (w.s.nik, w.s.ticket, w.s.lookup, w.s.lang) == (None, None, None, "id")
    assert "cancelled" in w.journal_kinds()


def test_help_calls_an_operator_once_and_keeps_the_step():
    w = at_card()
    w(ev.Press(ev.HELP))
    w(ev.Press(ev.HELP))
    assert w.s.step == Step.CARD and w.s.help_called
    assert len(w.last(fx.CallOperator)) == 1


def test_journal_never_carries_a_whole_nik():
    w = at_face()
    w(ev.FaceChecked(w.s.visit, True, True, 0.3))
    w(ev.VaultOutcome(w.s.visit, "taken"))
    w(ev.CardInserted("04AABBCCDDEEFF"))
    for e in w.effects:
        if isinstance(e, fx.Journal):
            assert NIK not in repr(e.data)


def test_step_is_pure():
    s = replace(start(), step=Step.CARD, ticket=ticket(), visit=1, last_activity=T0)
    a = step(s, ev.NikRead(NIK, "typed"), T0 + 1, CFG)
    b = step(s, ev.NikRead(NIK, "typed"), T0 + 1, CFG)
    assert a == b and s.step == Step.CARD


# -- operator mode -------------------------------------------------------------------------------


def test_staff_card_asks_for_the_pin_and_the_pin_is_checked_elsewhere():
    w = Walker()(ev.OperatorCard("04AA", "Yohana"))
    assert w.s.step == Step.OPERATOR_PIN and w.s.operator == "Yohana"
    w(ev.PinEntered("1357"))
    (check,) = w.last(fx.CheckPin)
    assert check.card_uid == "04AA" and "1357" not in repr(check) and "1357" not in repr(w.s)
    w(ev.PinChecked(w.s.visit, False, "wrong_pin"))
    assert w.s.notice == Reason.PIN_WRONG
    w(ev.PinChecked(w.s.visit, False, "wait"))
    assert w.s.notice == Reason.PIN_WAIT
    w(ev.PinChecked(w.s.visit, True, "ok"))
    assert w.s.step == Step.OPERATOR
    w(ev.Press(ev.FINISH))
    assert w.s.step == Step.IDLE and w.s.operator is None


def test_locked_staff_card_is_refused():
    w = Walker()(ev.OperatorCard("04AA", "Yohana"))
    w(ev.PinChecked(w.s.visit, False, "locked"))
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.OPERATOR_LOCKED


def test_staff_card_means_nothing_in_the_middle_of_a_visit():
    w = at_card()
    w(ev.OperatorCard("04AA", "Yohana"))
    assert w.s.step == Step.CARD


def test_operator_mode_times_out_later_than_a_resident_screen():
    w = Walker()(ev.OperatorCard("04AA", "Yohana"))
    w(ev.PinChecked(w.s.visit, True, "ok"))
    w(ev.Tick(), after=CFG.idle_timeout_s + 1)
    assert w.s.step == Step.OPERATOR
    w(ev.Tick(), after=CFG.operator_timeout_s)
    assert w.s.step == Step.IDLE


STRICT = Policy(nik_sources=("chip",))
NO_LIVENESS = Policy(require_liveness=False)


@pytest.mark.parametrize(
    ("policy", "source", "match", "live", "release", "why"),
    [
        (Policy(), "chip", True, True, True, "ticket+chip+face+liveness"),
        (Policy(), "ocr", True, True, True, "ticket+ocr+face+liveness"),
        (Policy(), "typed", True, True, True, "ticket+typed+face+liveness"),
        (Policy(), "typed", True, False, False, "refused: liveness challenge not passed"),
        (Policy(), "chip", True, False, False, "refused: liveness challenge not passed"),
        (Policy(), "chip", False, True, False, "refused: face does not match the enrolment"),
        (Policy(), "typed", False, False, False, "refused: face does not match the enrolment"),  # face first
        (Policy(), None, True, True, False, "refused: NIK by unknown not accepted for a pickup"),
        (Policy(), "camera", True, True, False, "refused: NIK by camera not accepted for a pickup"),
        (STRICT, "chip", True, True, True, "ticket+chip+face+liveness"),
        (STRICT, "ocr", True, True, False, "refused: NIK by ocr not accepted for a pickup"),
        (STRICT, "typed", False, False, False, "refused: NIK by typed not accepted for a pickup"),  # source first
        (NO_LIVENESS, "ocr", True, False, True, "ticket+ocr+face"),
        (NO_LIVENESS, "ocr", True, True, True, "ticket+ocr+face"),
        (NO_LIVENESS, "typed", False, True, False, "refused: face does not match the enrolment"),  # never skipped
    ],
)
def test_policy_decision_table(policy, source, match, live, release, why):
    assert decide(policy, source, match, live) == Decision(release, why)


def test_policy_defaults_take_every_nik_source_and_require_liveness():
    assert Policy() == Policy(nik_sources=("chip", "ocr", "typed"), require_liveness=True)


def test_policy_decides_and_says_why():
    assert decide(Policy(), "chip", True, True) == Decision(True, "ticket+chip+face+liveness")
    assert decide(Policy(), "chip", True, True).why == "ticket+chip+face+liveness"
    assert not decide(Policy(), "typed", True, False).release
    assert not decide(Policy(), "typed", False, True).release
    strict = Policy(nik_sources=("chip",))
    assert decide(strict, "ocr", True, True).why == "refused: NIK by ocr not accepted for a pickup"
    assert decide(Policy(require_liveness=False), "ocr", True, False).why == "ticket+ocr+face"

"""The journey's standing rules, each owned once by kiosk/flow/rules.py, stated case by case."""

from __future__ import annotations

import pytest

from kiosk.flow.model import CardStatus, Step
from kiosk.flow.rules import (
    Hold,
    VaultFacts,
    booking_qr,
    cancellable,
    offers_cancel,
    receipt_qr,
    release_hold,
    resident_district,
    slip_for,
    status_at_this_kiosk,
)

TODAY = "2026-09-21"
READY = VaultFacts(in_vault=True, valid_until="2026-09-30", today=TODAY)


def test_a_card_in_the_vault_with_every_part_well_is_releasable():
    assert release_hold(READY) is None
    assert release_hold(VaultFacts(in_vault=True, valid_until=None, today=TODAY)) is None, "unbounded entry"
    assert release_hold(VaultFacts(in_vault=True, valid_until=TODAY, today=TODAY)) is None, "valid through today"


@pytest.mark.parametrize(
    ("facts", "hold"),
    [
        (VaultFacts(in_vault=False, today=TODAY), Hold.NOT_HERE),
        (VaultFacts(in_vault=True, valid_until="2026-09-20", today=TODAY), Hold.EXPIRED),
        (
            VaultFacts(in_vault=True, valid_until="2026-09-30", today=TODAY, releases_stopped=True),
            Hold.RELEASES_STOPPED,
        ),
        (VaultFacts(in_vault=True, valid_until="2026-09-30", today=TODAY, reader_down=True), Hold.READER_DOWN),
        (VaultFacts(in_vault=True, valid_until="2026-09-30", today=TODAY, out_of_service=True), Hold.OUT_OF_SERVICE),
    ],
)
def test_each_fact_that_keeps_a_card_in_the_vault_is_named(facts, hold):
    assert release_hold(facts) == hold


def test_the_first_hold_is_named_when_several_apply():
    facts = VaultFacts(in_vault=True, valid_until="2026-01-01", today=TODAY, releases_stopped=True, reader_down=True)
    assert release_hold(facts) == Hold.EXPIRED


def test_ready_at_this_office_means_the_counter_once_the_vault_cannot_release():
    assert status_at_this_kiosk(CardStatus.READY_HERE) == CardStatus.READY_ELSEWHERE
    for status in CardStatus:
        if status != CardStatus.READY_HERE:
            assert status_at_this_kiosk(status) == status


def test_cancel_ends_a_visit_everywhere_but_idle_and_an_open_slot():
    assert {s for s in Step if not cancellable(s)} == {Step.IDLE, Step.RELEASE}


def test_the_cancel_button_shows_only_where_no_finish_button_says_it_better():
    shown = {s for s in Step if offers_cancel(s)}
    assert shown == {
        Step.CARD,
        Step.NIK_ENTRY,
        Step.LOOKUP,
        Step.FACE,
        Step.CHOOSE_OFFICE,
        Step.CHOOSE_DAY,
        Step.CHOOSE_TIME,
        Step.CONFIRM_BOOKING,
        Step.BOOKING,
        Step.OPERATOR_PIN,
    }


def test_three_closing_screens_print_and_no_other_step_does():
    assert {s: slip_for(s) for s in Step if slip_for(s)} == {
        Step.HANDED_OVER: "receipt",
        Step.BOOKED: "booking",
        Step.STATUS: "status",
    }


def test_the_qr_payloads_are_versioned_and_name_what_staff_look_up():
    assert receipt_qr("KIOSK-01", "ABCD2345") == "LMR1:KIOSK-01:ABCD2345"
    assert booking_qr("B96A8F98A") == "LMB1:B96A8F98A"


def test_the_residents_district_is_the_nik_s_first_six_digits():
    assert resident_district("5371044107900001") == "537104"
    assert resident_district(None) == ""
    assert resident_district("") == ""

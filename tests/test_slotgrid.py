"""Operator mode's slot grid: what the status snapshot says of each slot, and what each cell shows."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.flow.model import OperatorNote
from kiosk.runner.status import SlotFacts
from kiosk.screens.slotgrid import EMPTY_MARK, WIDEST, cells, due_day, first_shown, fit, open_slot, shape

WITA = 8 * 3600


def at(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp()


# -- the status snapshot's slots -------------------------------------------------------------------


def test_the_snapshot_has_every_slot_with_its_card_tail_due_time_and_alarm(world):
    board, hardware = world.kiosk.status_board, world.cfg.hardware
    inventory = {c.slot: c for c in world.store.inventory()}
    empty = next(n for n in range(1, hardware.vault_slots + 1) if n not in inventory)
    world.store.raise_alarm(f"slot:{empty}", {"slot": empty, "fault": "unexpected_card"})
    slots = world.kiosk.status().slots
    assert [s.slot for s in slots] == list(range(1, hardware.vault_slots + 1))
    for s in slots:
        card = inventory.get(s.slot)
        assert s.card == (card.card_id[-4:] if card else "")
        assert s.due == (card.loaded + hardware.unload_after_days * 86400 if card else None)
        assert s.alarm == (s.slot == empty)
    assert board.vault.unload_after_s == hardware.unload_after_days * 86400


def test_the_snapshot_shows_no_nik(world):
    niks = {c.nik for c in world.store.inventory()}
    assert niks
    for s in world.kiosk.status().slots:
        assert len(s.card) <= 4 and not any(nik in repr(s) for nik in niks)


def test_the_due_time_is_the_one_unloading_goes_by(world, clock):
    """The grid's due time and 'take out the next card due' follow one rule: a card shown due by now is
    exactly a card the vault desk takes out as uncollected."""
    late = world.store.inventory()[-1]  # taken out and loaded again a day later: due a day after the rest
    world.store.unload_card(late.slot, "test", "staff")
    clock.advance(86400)
    world.store.load_card(late.slot, late.card_id, late.nik, late.chip_uid, "staff", valid_until=late.valid_until)
    due = {s.slot: s.due for s in world.kiosk.status().slots if s.due is not None}
    for moment in (min(due.values()) - 60, min(due.values()) + 60, due[late.slot] - 60, due[late.slot] + 60):
        clock.now = moment
        expired = {c.slot for c, why in world.kiosk.vault.due_for_unload() if why == "expired"}
        assert expired == {n for n, when in due.items() if when <= moment}, dt.datetime.fromtimestamp(moment)
    assert expired == set(due)


# -- what the cells show ---------------------------------------------------------------------------


def test_cells_show_number_alarm_mark_card_tail_and_due_day():
    slots = [
        SlotFacts(2, "0038", at("2026-10-20T17:00:00"), alarm=False),
        SlotFacts(1, "", None, alarm=True),
        SlotFacts(3, "K0A3", at("2026-10-20T15:59:00"), alarm=True),
    ]
    shown = cells(slots, opened=2, utc_offset_s=WITA)
    assert [(c.slot, c.head, c.card, c.due) for c in shown] == [
        (1, "1 !", EMPTY_MARK, ""),
        (2, "2", "0038", "21/10"),  # 01:00 WITA the next day
        (3, "3 !", "K0A3", "20/10"),
    ]
    assert [c.open for c in shown] == [False, True, False]
    assert [c.alarm for c in shown] == [True, False, True]
    assert [c.full for c in shown] == [False, True, True]


def test_due_day_is_kiosk_local_day_and_month():
    assert due_day(at("2026-12-31T16:00:00"), WITA) == "01/01"
    assert due_day(at("2026-12-31T15:59:59"), WITA) == "31/12"
    assert due_day(None, WITA) == ""


def test_the_open_slot_is_the_one_a_waiting_note_names():
    assert open_slot(OperatorNote.of("Put card {card} into slot {slot}.", busy=True, card="C1", slot=13)) == 13
    assert open_slot(OperatorNote.of("Card {card} is in slot {slot}.", card="C1", slot=13)) == 0  # done
    assert open_slot(OperatorNote.of("Opening the next slot…", busy=True)) == 0
    assert open_slot(None) == 0


# -- laying the grid out -----------------------------------------------------------------------------


def test_the_grid_has_the_vaults_rows_and_columns():
    assert shape(24, 6) == (4, 6)
    assert shape(25, 6) == (5, 6)  # the last row short, as the release picture draws it
    assert shape(0, 6) == (1, 6)


CELL, GAP, BAR = (100.0, 120.0), 5.0, 10.0


def test_a_vault_that_fits_is_shown_whole_in_cells_no_wider_than_widest():
    width, height, cell = fit(6, 4, (2000, 1000), CELL, GAP, BAR)
    assert cell == CELL[0] * WIDEST
    assert width == 6 * cell + 5 * GAP + BAR
    assert height == 4 * CELL[1] + 3 * GAP + BAR


def test_a_narrow_panel_shows_whole_columns_widened_to_fill_it():
    width, _height, cell = fit(6, 4, (340, 1000), CELL, GAP, BAR)  # room for 3 columns of 100, not 4
    assert cell == pytest.approx((340 - BAR - 2 * GAP) // 1 / 3, abs=1)
    assert width <= 340 and width + cell > 340
    assert fit(6, 4, (50, 1000), CELL, GAP, BAR)[2] == CELL[0]  # never narrower than a cell


def test_a_short_panel_shows_what_rows_it_can_and_scrolls():
    assert fit(6, 4, (2000, 300), CELL, GAP, BAR)[1] == 300


def test_scrolling_to_the_open_slot_moves_the_view_as_little_as_can_be():
    assert first_shown(1, 2, 4, first=0) == 0  # already in view
    assert first_shown(2, 2, 4, first=0) == 1  # one down
    assert first_shown(0, 2, 4, first=2) == 0  # up to it
    assert first_shown(3, 3, 4, first=0) == 1
    assert first_shown(0, 4, 4, first=3) == 0  # everything fits: from the top

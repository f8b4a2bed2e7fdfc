"""Operator mode in the real Kivy window: staff see every vault slot as the vault is built, with its card,
the day that card is due to come out and an alarm mark, and the slot open for their hands stands out
(the window and the helpers are in tests/uikit.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.app import KioskApp
from kiosk.flow.model import Step
from kiosk.i18n import tr
from kiosk.screens.slotgrid import SlotCell
from kiosk.sim.world import DEMO_OPERATOR_PIN, World
from tests.uikit import WALK, dev, screen, shoot, touch, use_size, wait_for, wait_note

pytestmark = pytest.mark.ui

SIZE = "pi-touch-7"  # walked on the smallest panel: the grid scrolls there


def sign_in(app: KioskApp) -> None:
    dev(app, "staff_card")
    wait_for(app, Step.OPERATOR_PIN)
    keypad = {b.text: b for b in screen(app).ids.keypad.children}
    for digit in DEMO_OPERATOR_PIN:
        touch(keypad[digit])
    touch(screen(app).ids.keypad.ids.ok)
    wait_for(app, Step.OPERATOR)


def grid_cells(app: KioskApp) -> dict[int, SlotCell]:
    return {c.slot: c for c in screen(app).ids.grid.ids.board.children}


def shown(cell: SlotCell) -> list[str]:
    """The cell's lines as drawn, top to bottom."""
    return [label.text for label in reversed(cell.children)]


def expected_lines(world: World) -> dict[int, list[str]]:
    """What staff should read in each slot: number, the card id's last 4 characters, due day/month."""
    hardware, flow = world.cfg.hardware, world.cfg.flow
    lines = {n: [str(n), "–", ""] for n in range(1, hardware.vault_slots + 1)}
    for card in world.store.inventory():
        due = dt.datetime.fromtimestamp(card.loaded + hardware.unload_after_days * 86400 + flow.utc_offset_s, dt.UTC)
        lines[card.slot] = [str(card.slot), card.card_id[-4:], due.strftime("%d/%m")]
    return lines


def test_operator_grid_shows_each_slot_card_due_day_alarm_and_the_open_slot(ui):
    app, world, clock = ui
    use_size(SIZE)
    # a month passes before staff come by: the uncollected cards are due to come out (the clock moves
    # before operator mode opens: moving it later would race the kiosk's own idle timeout)
    clock.advance(31 * 86400)
    sign_in(app)
    world.reader.remove()

    # one cell per slot, laid out as the vault: numbered left to right, top to bottom
    cells = grid_cells(app)
    columns = world.cfg.hardware.vault_columns
    assert sorted(cells) == list(range(1, world.cfg.hardware.vault_slots + 1))
    assert {n: shown(c) for n, c in cells.items()} == expected_lines(world)
    assert cells[2].x > cells[1].x and cells[2].y == cells[1].y
    assert cells[1 + columns].x == cells[1].x and cells[1 + columns].y < cells[1].y
    assert all(not c.open and not c.alarm for c in cells.values())
    assert not any(len(text) > 4 and text.isdigit() for c in cells.values() for text in shown(c)), "no NIK"

    # the next card due comes out: its slot is the open one, then empty
    touch(screen(app).ids.unload)
    wait_note(app, "Take card {card} out of slot {slot}.")
    note = dict(app.kiosk.session.operator_note.fields)  # the card the kiosk chose as due (earlier tests
    first = next(c for c in world.store.inventory() if c.slot == int(note["slot"]))  # moved cards about)
    assert [n for n, c in grid_cells(app).items() if c.open] == [first.slot]
    dev(app, "take_card")
    wait_note(app, "Card {card} is out of slot {slot}. Cards still due: {n}.")
    assert shown(grid_cells(app)[first.slot]) == [str(first.slot), "–", ""]

    # the lowest free slot's seat still sees a card (a hand pushed one back): loading raises that slot's
    # alarm and opens the next free slot instead (earlier tests may have emptied slots below this one)
    held = {c.slot for c in world.store.inventory()}
    ghost = min(n for n in range(1, world.cfg.hardware.vault_slots + 1) if n not in held)
    world.vault.set_seat(ghost, True)
    touch(screen(app).ids.load)
    wait_note(app, "Tap a finished card on the reader.")
    world.reader.insert(first.chip_uid)
    wait_note(app, "Put card {card} into slot {slot}.")
    opened = int(dict(app.kiosk.session.operator_note.fields)["slot"])
    cells = grid_cells(app)
    assert cells[ghost].alarm and shown(cells[ghost])[0] == f"{ghost} !"
    assert [n for n, c in cells.items() if c.open] == [opened] and opened != ghost
    assert [n for n, c in cells.items() if c.alarm] == [ghost]
    words = tr(app.lang, "slot {n} needs checking").format(n=ghost)
    assert words in screen(app).ids.alarms.text, "the alarm in plain words, not its code"
    shoot(app, "22-operator-grid", walk=SIZE)

    # the card goes into the open slot: it shows there, due a month from now
    dev(app, "put_card")
    wait_note(app, "Card {card} is in slot {slot}.")
    world.reader.remove()
    assert {n: shown(c) for n, c in grid_cells(app).items()} == {
        n: ([f"{n} !", "–", ""] if n == ghost else lines) for n, lines in expected_lines(world).items()
    }

    # the seat is put right and the alarm cleared; staff leave, the kiosk waits for residents again
    world.vault.set_seat(ghost, False)
    touch(screen(app).ids.clear_alarms)
    wait_note(app, "Alarms cleared: {n}.")
    assert not any(c.alarm for c in grid_cells(app).values())
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)
    use_size(WALK)

"""The real Kivy window under Xvfb: walk the resident paths with touches, check sizes, and save a
screenshot of every screen in both languages under test-artefacts/ui/ (the window and the helpers are in
tests/uikit.py)."""

from __future__ import annotations

import time

import pytest
from kivy.base import EventLoop
from kivy.uix.label import Label

from kiosk.flow.model import Reason, Step
from kiosk.hardware.camera import Nothing
from kiosk.i18n import tr
from kiosk.sim.speaker import RecordingSpeaker
from kiosk.sim.world import DEMO_OPERATOR_PIN
from tests.uikit import (
    SEEN,
    SHOTS,
    SIZES,
    choose_resident,
    dev,
    pump,
    screen,
    shoot,
    shoot_overlay,
    start_visit,
    touch,
    use_size,
    wait_for,
    wait_note,
)

pytestmark = pytest.mark.ui


def test_pickup_path_by_touch(ui):
    app, world, _ = ui
    use_size("pi-touch-7")
    wait_for(app, Step.IDLE)
    shoot(app, "01-idle", walk="pi-touch-7")
    r = start_visit(app, world, "ready_here")
    pump(0.3)
    speaker = world.kiosk.parts.speaker
    assert isinstance(speaker, RecordingSpeaker)
    said = speaker.said
    assert ("id", tr("id", "Lay your old e-KTP flat on the card reader below the screen")) in said, said[-3:]
    shoot(app, "02-card", walk="pi-touch-7")
    dev(app, "insert_old")  # the holder of a card in this vault is recognised locally: no busy screen
    wait_for(app, Step.FACE)  # no face in view yet: the check waits, then asks to try again
    shoot(app, "04-face", walk="pi-touch-7")
    dev(app, "show_face")
    touch(screen(app).ids.retry)
    wait_for(app, Step.RELEASE)
    end = time.monotonic() + 5
    while world.vault.moving is None and time.monotonic() < end:
        pump(0.05)
    assert world.vault.moving == app.kiosk.session.lookup.slot, "the resident's slot is open"
    shoot(app, "05-release", walk="pi-touch-7")
    dev(app, "take_card")
    wait_for(app, Step.TAP_NEW)
    assert not app.can_cancel, "the card is in the resident's hand: no red Cancel"
    shoot(app, "06-tap-new", walk="pi-touch-7")
    dev(app, "tap_new")
    wait_for(app, Step.HANDED_OVER)
    assert screen(app).ids.qr.texture is not None
    shoot(app, "07-handed-over", walk="pi-touch-7")
    touch(screen(app).ids.print)
    assert len(world.printer.printed) == 1 and r.nik not in repr(world.printer.printed[0])
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)
    world.sync.drain_once()
    assert world.gateway.event_counts().get("handover") == 1


def test_booking_path_with_typed_nik(ui):
    app, world, _ = ui
    use_size("pi-touch-2-7")
    r = start_visit(app, world, "never_recorded", chip=False)
    touch(screen(app).ids.no_chip)
    wait_for(app, Step.NIK_ENTRY)
    shoot(app, "08a-printed-side", walk="pi-touch-2-7")
    viewer = screen(app).ids.viewer
    assert viewer.hint_msgid == ""
    world.camera.light = 0.3  # a dim corner: the camera view says so, on the picture itself
    try:
        end = time.monotonic() + 5
        while viewer.hint_msgid == "" and time.monotonic() < end:
            pump(0.1)
        assert viewer.hint_msgid == "Too dark: come closer to the light."
        assert screen(app).ids.title.text == tr("id", viewer.hint_msgid), "the hint is the page's instruction now"
        pump(0.3)
        speaker = world.kiosk.parts.speaker
        assert isinstance(speaker, RecordingSpeaker)
        assert speaker.last == ("id", tr("id", viewer.hint_msgid)), "and it is said"
        shoot(app, "08c-printed-side-too-dark", walk="pi-touch-2-7")
    finally:
        world.camera.light = 1.0
    end = time.monotonic() + 5
    while viewer.hint_msgid and time.monotonic() < end:
        pump(0.1)
    assert viewer.hint_msgid == "", "the hint goes when the light comes back"
    touch(screen(app).ids.type_nik)
    keypad = {b.text: b for b in screen(app).ids.keypad.children}
    for digit in r.nik[:7]:
        touch(keypad[digit])
    shoot(app, "08-nik-entry", walk="pi-touch-2-7")
    for digit in r.nik[7:]:
        touch(keypad[digit])
    assert screen(app).digits == r.nik
    touch(screen(app).ids.keypad.ids.ok)
    wait_for(app, Step.CHOOSE_OFFICE)
    shoot(app, "09-choose-office", walk="pi-touch-2-7")
    buttons = list(reversed(screen(app).ids.grid.children))
    assert buttons[0].sub == "own"
    touch(buttons[0])
    pump(0.5)
    if app.kiosk.session.step == Step.CHOOSE_OFFICE:  # no free days there: the notice shows
        shoot(app, "09b-no-slots", walk="pi-touch-2-7")
        touch(list(reversed(screen(app).ids.grid.children))[1])
    wait_for(app, Step.CHOOSE_DAY)
    shoot(app, "10-choose-day", walk="pi-touch-2-7")
    touch(next(reversed(screen(app).ids.grid.children)))
    wait_for(app, Step.CHOOSE_TIME)
    shoot(app, "11-choose-time", walk="pi-touch-2-7")
    first_time = next(reversed(screen(app).ids.grid.children))
    touch(first_time)
    wait_for(app, Step.CONFIRM_BOOKING)
    shoot(app, "11b-confirm-booking", walk="pi-touch-2-7")
    assert screen(app).ids.office.text and first_time.value in screen(app).ids.when.text
    touch(screen(app).ids.back)  # another time after all
    wait_for(app, Step.CHOOSE_TIME)
    assert app.kiosk.session.time is None
    touch(next(reversed(screen(app).ids.grid.children)))
    wait_for(app, Step.CONFIRM_BOOKING)
    touch(screen(app).ids.confirm)
    wait_for(app, Step.BOOKED)
    assert screen(app).code.startswith("B")
    shoot(app, "12-booked", walk="pi-touch-2-7")
    # the printer runs out of paper: Print disappears and the slip's QR on screen is offered instead
    world.printer.paper = False
    touch(screen(app).ids.print)
    pump(0.3)
    assert not app.printer_ok and screen(app).ids.print.opacity == 0
    hints = [w.text for w in screen(app).walk() if isinstance(w, Label)]
    assert any("QR" in t for t in hints if t)
    shoot(app, "12b-booked-paper-out", walk="pi-touch-2-7")
    world.printer.paper = True
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


def test_status_path(ui):
    app, world, _ = ui
    walk = "15.6-1366x768"
    use_size(walk)
    # a slow link: the busy screen shows while the gateway is asked (under the client's 5 s timeout), once for
    # each size, as one size's photographs take about a second
    for size in SIZES:
        start_visit(app, world, "verification")
        world.gateway.faults.delay_s = 3.0
        dev(app, "insert_old")
        wait_for(app, Step.LOOKUP, timeout=5)
        shoot(app, "03-lookup", walk=walk, sizes=(size,))
        world.gateway.faults.delay_s = 0
        wait_for(app, Step.STATUS)
        if size != SIZES[-1]:
            touch(screen(app).ids.finish)
            wait_for(app, Step.IDLE)
    shoot(app, "13-status", walk=walk)
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


def test_forged_ticket_is_refused_on_screen(ui):
    app, world, _ = ui
    use_size("21.5-1080x1920")
    choose_resident(app, world, "printing")
    panel = app.panel_for_tests
    panel.show_ticket("forged")
    wait_for(app, Step.REFUSED)
    world.camera.show(Nothing())
    assert screen(app).what_msgid == "We could not confirm this ticket."
    shoot(app, "14-refused", walk="21.5-1080x1920")
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


def test_quiet_resident_is_asked_then_reset(ui):
    app, world, clock = ui
    start_visit(app, world, "printing")
    flow = app.kiosk.cfg.flow
    for lang in ("id", "en"):  # the overlay blocks the language toggle: switch first, then wait again
        assert app.lang == lang
        clock.advance(flow.idle_timeout_s - flow.warn_before_s + 1)
        pump(1.5)  # the app's one-second tick notices
        assert app.kiosk.session.warned and app.warning.parent is not None
        assert app.warning.seconds == flow.warn_before_s - 1, "the countdown shows the seconds left"
        shoot_overlay(app, "15-still-there")
        touch(app.root.ids.language)  # under the overlay: nothing happens
        assert app.lang == lang and app.kiosk.session.warned
        touch(app.warning.ids.still_here)
        assert not app.kiosk.session.warned and app.warning.parent is None
        touch(app.root.ids.language)
    assert app.kiosk.session.step == Step.CARD
    touch(app.root.ids.help)
    assert app.help_called
    clock.advance(flow.idle_timeout_s - flow.warn_before_s + 1)
    pump(1.5)
    touch(app.warning.ids.start_over)  # 'start over' ends the visit at once
    wait_for(app, Step.IDLE)
    assert not app.help_called and app.warning.parent is None


def test_operator_mode_with_staff_card_and_pin(ui):
    app, world, clock = ui
    use_size("hdmi-7-1024x600")
    dev(app, "door")  # someone opens the service door: tamper alarm
    dev(app, "door")
    assert "tamper" in world.store.alarms()
    # a month passes before staff come by: the uncollected cards are then due to come out (moving the
    # clock while operator mode is open would race the kiosk's own idle timeout)
    clock.advance(31 * 86400)
    dev(app, "staff_card")
    wait_for(app, Step.OPERATOR_PIN)
    keypad = {b.text: b for b in screen(app).ids.keypad.children}
    for digit in "1111":
        touch(keypad[digit])
    touch(screen(app).ids.keypad.ids.ok)
    end = time.monotonic() + 5
    while app.kiosk.session.notice is None and time.monotonic() < end:
        EventLoop.idle()
    assert app.kiosk.session.notice == Reason.PIN_WRONG
    shoot(app, "16-operator-pin", walk="hdmi-7-1024x600")
    clock.advance(5)
    for digit in DEMO_OPERATOR_PIN:
        touch(keypad[digit])
    touch(screen(app).ids.keypad.ids.ok)
    wait_for(app, Step.OPERATOR)
    world.reader.remove()
    assert screen(app).ids.alarms.text
    shoot(app, "17-operator", walk="hdmi-7-1024x600")
    touch(screen(app).ids.clear_alarms)
    wait_note(app, "Alarms cleared: {n}.")
    assert world.store.alarms() == {}

    # the uncollected cards are due to come out: the next slot opens for the operator
    first = world.store.inventory()[0]
    touch(screen(app).ids.unload)
    wait_note(app, "Take card {card} out of slot {slot}.")
    assert screen(app).busy and screen(app).ids.finish.disabled
    shoot(app, "18-operator-unload", walk="hdmi-7-1024x600")
    dev(app, "take_card")
    wait_note(app, "Card {card} is out of slot {slot}. Cards still due: {n}.")
    assert world.store.card_in_slot(first.slot) is None

    # loading it back: tap the card, put it into the slot that opens
    touch(screen(app).ids.load)
    wait_note(app, "Tap a finished card on the reader.")
    world.reader.insert(first.chip_uid)
    wait_note(app, "Put card {card} into slot {slot}.")
    shoot(app, "19-operator-load", walk="hdmi-7-1024x600")
    dev(app, "put_card")
    wait_note(app, "Card {card} is in slot {slot}.")
    world.reader.remove()
    assert world.store.card_for_nik(first.nik) is not None, "the card is back in the vault (lowest free slot)"
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


def test_staff_see_since_when_the_link_is_down(ui):
    app, world, _ = ui
    world.kiosk.store.journal("help_called", {"step": "idle"}, outbox=True)  # something waits to be sent
    world.gateway.faults.down = True
    try:
        world.sync.drain_once()
        app.refresh_badge()
        pump(0.3)
        assert "outbox" in app.staff_badge or "antrean" in app.staff_badge
        assert ("offline since" in app.staff_badge) or ("luring sejak" in app.staff_badge), app.staff_badge
        shoot(app, "20-offline-badge")
    finally:
        world.gateway.faults.down = False
    world.sync.drain_once()
    app.refresh_badge()
    assert "since" not in app.staff_badge and "sejak" not in app.staff_badge


def test_residents_are_told_what_a_broken_part_rules_out(ui):
    app, world, _ = ui
    world.card_reader.stop()
    try:
        app.refresh_badge()
        pump(0.3)
        assert app.service_notice and screen(app).ids.service.text
        shoot(app, "21-idle-reader-down")
    finally:
        world.card_reader.start()
    app.refresh_badge()
    pump(0.2)
    assert not screen(app).ids.service.text


def test_every_screen_was_photographed_in_both_languages():
    names = {p.stem.rsplit("-", 1)[0] for p in SHOTS.glob("*/*.png")}
    steps_seen = {
        "01-idle",
        "02-card",
        "03-lookup",
        "04-face",
        "05-release",
        "06-tap-new",
        "07-handed-over",
        "08-nik-entry",
        "09-choose-office",
        "10-choose-day",
        "11-choose-time",
        "11b-confirm-booking",
        "12-booked",
        "13-status",
        "14-refused",
        "15-still-there",
        "16-operator-pin",
        "17-operator",
        "18-operator-unload",
        "19-operator-load",
        "12b-booked-paper-out",
        "20-offline-badge",
        "21-idle-reader-down",
    }
    steps_seen |= {"08a-printed-side", "08c-printed-side-too-dark"}
    assert steps_seen <= names
    for name in steps_seen:
        assert SEEN[name] == {f"{size}/{lang}" for size in SIZES for lang in ("id", "en")}, name

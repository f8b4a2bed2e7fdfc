"""The accessible mode (larger text, high contrast, speech on) walked through the screens of a visit at every
panel size in both languages, with the same checks as every other screen (tests/uikit.py)."""

from __future__ import annotations

import pytest

from kiosk.flow.model import Step
from kiosk.screens.look import look
from tests.uikit import WALK, dev, pump, resident, screen, shoot, start_visit, start_visit_of, touch, use_size, wait_for

pytestmark = pytest.mark.ui


def test_a_visit_in_the_accessible_mode_at_every_size(ui):
    app, world, _ = ui
    use_size(WALK)
    wait_for(app, Step.IDLE)
    touch(app.root.ids.accessible)
    assert look.large and app.speech_on
    try:
        shoot(app, "30-accessible-idle")
        start_visit(app, world, "printing")
        shoot(app, "31-accessible-card")
        dev(app, "insert_old")
        wait_for(app, Step.STATUS)
        shoot(app, "32-accessible-status")
        touch(screen(app).ids.finish)
        wait_for(app, Step.IDLE)
        assert not look.large, "the visit is over: the next resident starts from the default"
    finally:
        look.large = False
        pump(0.2)


def test_a_pickup_and_a_typed_nik_in_the_accessible_mode_at_every_size(ui):
    app, world, _ = ui
    use_size(WALK)
    wait_for(app, Step.IDLE)
    touch(app.root.ids.accessible)
    try:
        start_visit_of(app, world, resident(world, "ready_here", in_vault=True))  # a card still here
        dev(app, "insert_old")
        wait_for(app, Step.FACE)
        shoot(app, "33-accessible-face")
        dev(app, "show_face")
        touch(screen(app).ids.retry)
        wait_for(app, Step.RELEASE)
        shoot(app, "34-accessible-release")
        dev(app, "take_card")
        wait_for(app, Step.TAP_NEW)
        shoot(app, "35-accessible-tap-new")
        dev(app, "tap_new")
        wait_for(app, Step.HANDED_OVER)
        shoot(app, "36-accessible-handed-over")
        touch(screen(app).ids.finish)
        wait_for(app, Step.IDLE)
        touch(app.root.ids.accessible)
        r = start_visit(app, world, "never_recorded", chip=False)
        touch(screen(app).ids.no_chip)
        wait_for(app, Step.NIK_ENTRY)
        touch(screen(app).ids.type_nik)
        keypad = {b.text: b for b in screen(app).ids.keypad.children}
        for digit in r.nik[:7]:
            touch(keypad[digit])
        shoot(app, "37-accessible-nik-entry")
        touch(app.root.ids.cancel)
        wait_for(app, Step.IDLE)
    finally:
        look.large = False
        pump(0.2)

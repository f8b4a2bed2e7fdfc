"""The idle screen in the real Kivy window, between visits: its pages turn, its picture moves (burn-in) and
stays inside the window, the backlight dims at night only while nobody uses the kiosk, the accessible mode
ends with the visit, and touches reach the buttons on a rotated panel (helpers in tests/uikit.py)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.flow.model import Step
from kiosk.hardware.backlight import SimBacklight
from kiosk.hardware.camera import HeldTicket, Nothing
from kiosk.i18n import tr
from kiosk.identity.ticket import Service
from kiosk.screens.idle import ATTRACT, ORBIT, ORBIT_MM, IdleScreen
from kiosk.screens.look import PAD_MM, look
from kiosk.sim.panel import SERVICE_FOR
from tests.layout import layout_problems, window_rect
from tests.uikit import WALK, choose_resident, pump, screen, shoot, touch, use_size, wait_for

pytestmark = pytest.mark.ui

TICK_S = 1.2  # real seconds: the app looks at the kiosk's clock once a second


def idle_screen(app) -> IdleScreen:
    wait_for(app, Step.IDLE)
    idle = screen(app)
    assert isinstance(idle, IdleScreen)
    return idle


def visit(app, world, clock) -> None:
    """A resident shows a ticket issued now on the kiosk's clock (earlier tests move that clock by days,
    and tickets expire): the kiosk asks for the old KTP."""
    r = choose_resident(app, world, "printing")
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, SERVICE_FOR.get(r.status, Service.STATUS), now=clock())))
    wait_for(app, Step.CARD)
    world.camera.show(Nothing())


def cancel(app) -> None:
    touch(app.root.ids.cancel)
    wait_for(app, Step.IDLE)


def test_attract_pages_turn_only_while_idle_and_start_over_after_a_visit(ui):
    app, world, clock = ui
    use_size(WALK)
    idle = idle_screen(app)
    every = app.kiosk.cfg.display.attract_s
    seen = [idle.ids.attract.text]
    for _ in range(len(ATTRACT) - 1):
        clock.advance(every)
        pump(TICK_S)
        seen.append(idle.ids.attract.text)
    assert len(set(seen)) == len(ATTRACT), f"every page shows once: {seen}"
    assert idle.page == len(ATTRACT) - 1
    clock.advance(every / 2)
    pump(TICK_S)
    assert idle.page == len(ATTRACT) - 1, "not before its time"

    visit(app, world, clock)
    clock.advance(every * 3)  # well inside the visit's timeout
    pump(TICK_S)
    assert idle.page == len(ATTRACT) - 1, "no page turns behind a visit"
    cancel(app)
    assert idle.page == 0 and idle.ids.attract.text == tr(app.lang, ATTRACT[0][1])
    clock.advance(every)
    pump(TICK_S)
    assert idle.page == 1


def test_idle_picture_moves_every_minute_within_its_orbit_and_stays_in_the_window(ui):
    app, _world, clock = ui
    use_size("pi-touch-7")  # the tightest panel
    idle = idle_screen(app)
    start = window_rect(idle.ids.title)
    places = {start}
    step = look.mm(ORBIT_MM)
    assert ORBIT_MM < PAD_MM, "the orbit fits in the page's margin"
    for _ in ORBIT:
        before = window_rect(idle.ids.title)
        clock.advance(60)
        pump(TICK_S)
        after = window_rect(idle.ids.title)
        moved = (after[0] - before[0], after[1] - before[1])
        assert max(abs(moved[0]), abs(moved[1])) == pytest.approx(step, abs=1.0), moved
        assert after[2] - after[0] == pytest.approx(before[2] - before[0]), "moved, not squeezed"
        assert layout_problems(app.root, Window.size) == []
        places.add(after)
    assert len(places) == len(ORBIT), "a new place each minute, round the orbit"
    assert window_rect(idle.ids.title) == pytest.approx(start), "and back"
    clock.advance(60)
    pump(TICK_S)
    assert (idle.drift_x, idle.drift_y) != (0, 0)
    shoot(app, "01b-idle-moved", walk=WALK)  # away from the centre, at every size in both languages


def night_backlight(app) -> SimBacklight:
    light = app.kiosk.parts.backlight
    assert isinstance(light, SimBacklight)
    return light


def advance_to(clock, utc_offset_s: int, hour: int) -> None:
    """Move the kiosk's clock forward to the next `hour`:00 local time."""
    now_local = (clock() + utc_offset_s) % 86400
    clock.advance((hour * 3600 - now_local) % 86400)


def settles_at(light: SimBacklight, level: float, within_s: float = 10.0) -> float:
    """Pump the app until the backlight reads `level` (the app looks at the kiosk's clock once a second; a
    loaded machine may take longer than a tick to get there), or `within_s` real seconds pass; its level."""
    end = time.monotonic() + within_s
    while light.level != level and time.monotonic() < end:
        pump(0.1)
    return light.level


def test_backlight_dims_at_night_only_while_nobody_uses_the_kiosk(ui):
    app, world, clock = ui
    use_size(WALK)
    idle_screen(app)
    light, cfg = night_backlight(app), app.kiosk.cfg
    assert cfg.display.night_start == "22:00" and cfg.display.night_end == "06:00"
    saved = clock()
    try:
        advance_to(clock, cfg.flow.utc_offset_s, 23)
        assert settles_at(light, 0.5) == cfg.display.night_brightness == 0.5
        visit(app, world, clock)
        assert settles_at(light, 1.0) == 1.0, "a resident at night sees the screen at full brightness"
        clock.advance(5)
        pump(TICK_S)
        assert light.level == 1.0, "and it stays so through the visit"
        cancel(app)
        assert settles_at(light, 0.5) == 0.5
        advance_to(clock, cfg.flow.utc_offset_s, 9)
        assert settles_at(light, 1.0) == 1.0
        assert 0.5 in light.levels[-4:] and light.levels[-1] == 1.0
    finally:
        clock.now = saved  # later tests issue tickets on the real clock
        pump(TICK_S)


def test_accessible_mode_ends_with_the_visit(ui):
    app, world, clock = ui
    use_size(WALK)
    idle_screen(app)
    app.speech_on = False  # a resident before muted it
    touch(app.root.ids.accessible)
    assert look.large and app.speech_on
    visit(app, world, clock)
    assert look.large, "it lasts through the visit"
    cancel(app)
    assert not look.large, "the next resident starts from the default"
    assert app.speech_on == app.kiosk.cfg.speech.enabled
    assert app.root.ids.accessible.text == tr(app.lang, "Larger text")


def panel_touch(widget) -> None:
    """Touch the widget's centre where the panel itself reports it: in the panel's own (unturned) pixels, as
    0-1 fractions, which Kivy turns by Window.rotation into window coordinates. (UnitTestTouch(x, y) takes
    x, y as fractions of the window's turned size in the panel's frame, so uikit's touch() at window
    coordinates lands elsewhere on a turned panel.)"""
    x, y = widget.to_window(*widget.center)
    xm, ym = (v - 1.0 for v in Window.system_size)
    nx, ny = {
        0: (x / xm, y / ym),
        90: (1 - y / xm, x / ym),
        180: (1 - x / xm, 1 - y / ym),
        270: (y / xm, 1 - x / ym),
    }[Window.rotation]
    t = UnitTestTouch(0, 0)
    t.sx, t.sy = nx, ny
    t.touch_down()
    pump(0.05)
    t.touch_up()
    pump(0.2)


@contextmanager
def turned(degrees: int):
    """The 10.1" landscape panel mounted turned by `degrees`; rotation 0 and the walk size afterwards."""
    use_size("10.1-1280x800")
    try:
        Window.rotation = degrees
        pump(0.3)
        yield
    finally:
        Window.rotation = 0
        use_size(WALK)
        pump(0.3)


@pytest.mark.parametrize("degrees", [90, 270])
def test_a_landscape_panel_mounted_portrait_lays_out_portrait_and_takes_touches(ui, degrees):
    app, _world, _clock = ui
    idle_screen(app)
    with turned(degrees):
        assert Window.size == (800, 1280) and tuple(app.root.size) == (800, 1280)
        assert look.portrait, "laid out as the resident sees it"
        assert layout_problems(app.root, Window.size) == []
        button = app.root.ids.accessible
        presses: list[object] = []
        button.bind(on_press=presses.append)
        try:
            panel_touch(button)
            assert presses == [button] and look.large, "the touch reached the button under the finger"
            panel_touch(button)
        finally:
            button.unbind(on_press=presses.append)
        assert len(presses) == 2 and not look.large
    assert Window.rotation == 0 and not look.portrait and tuple(app.root.size) == (1280, 800)

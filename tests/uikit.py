"""What the UI tests share: the real Kivy window on a simulated world (opened once per test session, see
the `ui` fixture in conftest.py), touches as a hand would make them, and photographs of every screen at
every panel size in both languages that fail on what a resident would see wrong."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest

if not (os.environ.get("DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
    if os.environ.get("CI"):
        raise RuntimeError("UI tests need a display: run them under xvfb-run (the README's test command does)")
    pytest.skip("no display: run under xvfb-run", allow_module_level=True)

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.graphics.opengl import GL_PACK_ALIGNMENT, GL_RGB, GL_UNSIGNED_BYTE, glPixelStorei, glReadPixels
from kivy.lang import Builder
from kivy.tests.common import UnitTestTouch
from kivy.uix.scrollview import ScrollView

from kiosk.app import KioskApp
from kiosk.config.screen import PANELS, DisplayConfig
from kiosk.flow.model import Step
from kiosk.hardware.camera import Nothing
from kiosk.screens.look import look
from kiosk.screens.steps import spoken_text
from kiosk.sim.journeys import SimClock
from kiosk.sim.office import Resident
from kiosk.sim.panel import DevPanel
from kiosk.sim.speaker import RecordingSpeaker
from kiosk.sim.world import World, build_world
from tests.conftest import ARTEFACTS
from tests.layout import layout_problems, leaves, modal_or

SHOTS = ARTEFACTS / "ui"
SEEN: dict[str, set[str]] = {}


# Every display size a kiosk of this project may have (kiosk.config.screen.PANELS): each screen of each
# path is photographed and checked at all of them, in both languages.
SIZES = tuple(PANELS)
WALK = "10.1-1280x800"  # the size the paths are walked (touched) at unless a test picks another


def open_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KioskApp, World, SimClock]]:
    """The app on a simulated world (real worker threads); the developer panel drives the simulated hands
    but is not in the window, which is exactly the kiosk's display."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    clock = SimClock(time.time())
    world = build_world(tmp_path_factory.mktemp("ui"), seed=2, clock=clock, face_wait_s=0.0)
    app = KioskApp(world.kiosk, camera_thread=True)
    use_size(WALK)
    app.open_window()
    glPixelStorei(GL_PACK_ALIGNMENT, 1)  # save_window reads rows of exactly width * 3 bytes
    with resources.as_file(resources.files("kiosk.sim").joinpath("panel.kv")) as kv:
        Builder.load_file(str(kv))
    app.panel_for_tests = DevPanel(world)
    pump(0.5)
    yield app, world, clock
    app.stop()
    world.close()


def fresh_start(app: KioskApp, world: World, clock: SimClock) -> None:
    """Bring the shared window back to what every UI test may assume: no visit under way (a screen left
    open ends by its own timeout), the default text size, and the kiosk's clock on the day the simulated
    town was seeded for (a test that moved it a month on, for cards due out, made every ticket issued on the
    real clock 'not yet valid')."""
    if world.kiosk.today() > world.gateway.today + dt.timedelta(days=1):
        clock.now = time.time()
    end = time.monotonic() + 30
    while app.kiosk.session.step != Step.IDLE and time.monotonic() < end:
        clock.advance(app.kiosk.cfg.flow.timeout_for(app.kiosk.session.step) + 1)
        pump(1.2)  # the app's one-second tick notices
    assert app.kiosk.session.step == Step.IDLE, f"the window is stuck at {app.kiosk.session.step}"
    look.large = False
    world.camera.show(Nothing())
    use_size(WALK)
    pump(0.2)


def use_size(name: str) -> None:
    """Lay the window out as the panel `name`: its pixels, and real millimetres from its size."""
    panel = PANELS[name]
    Window.size = (panel.width, panel.height)
    look.use(DisplayConfig.of(name))


def pump(seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        EventLoop.idle()


def wait_for(app: KioskApp, step: Step, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while app.kiosk.session.step != step and time.monotonic() < end:
        EventLoop.idle()
    assert app.kiosk.session.step == step, f"expected {step}, kiosk is at {app.kiosk.session.step}"
    pump(0.3)  # let the screen draw


def touch(widget) -> None:
    assert widget.get_root_window() is not None, f"{widget} is not on screen"
    node = widget.parent
    while node is not None and node is not node.parent:  # in a scrolled list: scroll to it, as a hand would
        if isinstance(node, ScrollView):
            node.scroll_to(widget, padding=0, animate=False)
            pump(0.1)
            break
        node = node.parent
    assert widget.opacity > 0 and not widget.disabled, f"{widget} cannot be touched"
    x, y = widget.to_window(*widget.center)
    w, h = Window.size
    assert 0 <= x <= w and 0 <= y <= h, f"{widget} is outside the window"
    t = UnitTestTouch(x, y)
    t.touch_down()
    pump(0.05)
    t.touch_up()
    pump(0.15)


def screen(app: KioskApp):
    return app.root.ids.sm.current_screen


def dev(app: KioskApp, button_id: str) -> None:
    """The simulated resident's hands (the demo's developer panel, outside the kiosk's window)."""
    app.panel_for_tests.ids[button_id].dispatch("on_release")
    pump(0.1)


def choose_resident(app: KioskApp, world: World, status: str, chip: bool | None = True):
    r = next(
        r for r in world.gateway.residents if r.status == status and (chip is None or bool(r.old_chip_uid) == chip)
    )
    panel = app.panel_for_tests
    panel.ids.resident.text = panel.label(r)
    return r


def resident(
    world: World, status: str, *, chip: bool | None = True, in_vault: bool = False, uncached: bool = False
) -> Resident:
    """The first seeded resident in `status` (with an old chip card or not) who fits: for a pickup, one whose
    card is still in a working slot of this vault; `uncached`, one this kiosk never looked up."""
    alarms = world.store.alarms()
    for r in world.gateway.residents:
        if r.status != status or (chip is not None and bool(r.old_chip_uid) != chip):
            continue
        if in_vault:
            card = world.store.card_for_nik(r.nik)
            if (
                card is None
                or card.out_of_service
                or f"slot:{card.slot}" in alarms
                or not world.vault.present[card.slot]
                or card.slot in world.vault.jammed
            ):
                continue
        if uncached and world.store.known_status(world.kiosk.desk.nik_key(r.nik)) is not None:
            continue
        return r
    raise AssertionError(f"no resident left in {status} (chip={chip}, in_vault={in_vault}, uncached={uncached})")


def start_visit_of(app: KioskApp, world: World, r: Resident) -> None:
    """Resident `r` shows their ticket: the kiosk asks for the old KTP."""
    panel = app.panel_for_tests
    panel.ids.resident.text = panel.label(r)
    dev(app, "show_ticket")
    wait_for(app, Step.CARD)
    world.camera.show(Nothing())


def start_visit(app: KioskApp, world: World, status: str, chip: bool | None = True):
    """A resident in `status` shows their ticket: the kiosk asks for the old KTP."""
    r = choose_resident(app, world, status, chip)
    dev(app, "show_ticket")
    wait_for(app, Step.CARD)
    world.camera.show(Nothing())  # the ticket is put away
    return r


def shoot(app: KioskApp, name: str, walk: str = WALK, sizes: tuple[str, ...] = SIZES) -> None:
    """Photograph the current screen at every size in Bahasa Indonesia and in English (switching with the
    on-screen toggle), and fail on anything a resident would see wrong; then lay out for `walk` again."""
    problems: list[str] = []
    step = app.kiosk.session.step
    for size in sizes:
        use_size(size)
        pump(0.15)
        langs = ["id", "en"] if app.lang == "id" else ["en", "id"]
        for lang in langs:
            assert app.lang == lang
            pump(0.1)
            problems += photograph(app, name, size) + [f"{size} {lang}: {p}" for p in speech_problems(app)]
            touch(app.root.ids.language)
        assert app.lang == langs[0]  # two toggles: back to the language we came with
    assert app.kiosk.session.step == step, f"{name}: the screen changed while it was photographed"
    use_size(walk)
    pump(0.2)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def save_window(target: Path) -> None:
    """The window's pixels as a PNG. Not Window.screenshot: SDL saves its rows 4-byte aligned, so every
    picture of a panel whose width * 3 is not a multiple of 4 (1366 px) came out skewed."""
    width, height = Window.size
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    pixels = np.frombuffer(data, np.uint8)[: width * height * 3].reshape(height, width, 3)
    assert cv2.imwrite(str(target), pixels[::-1, :, ::-1]), target


def photograph(app: KioskApp, name: str, size: str) -> list[str]:
    """Save what the window shows as <size>/<name>-<lang>.png and return what a resident would see wrong."""
    folder = SHOTS / size
    folder.mkdir(exist_ok=True)
    target = folder / f"{name}-{app.lang}.png"
    save_window(target)
    SEEN.setdefault(name, set()).add(f"{size}/{app.lang}")
    found = layout_problems(modal_or(app.root), Window.size) + words_problems(app)
    return [f"{size} {app.lang}: {p}" for p in found]


def speech_problems(app: KioskApp) -> list[str]:
    """The kiosk said this screen's instruction, in the screen's language, through the speaker."""
    expected = (app.lang, spoken_text(screen(app)))
    speaker = app.kiosk.parts.speaker
    assert isinstance(speaker, RecordingSpeaker)
    said = speaker.last
    return [] if not expected[1] or said == expected else [f"said {said!r}, not {expected!r}"]


def words_problems(app: KioskApp) -> list[str]:
    """On an Indonesian screen, no English word and no raw code (a msgid without translation shows as its
    English source; a state or alarm name as its code)."""
    if app.lang != "id":
        return []
    english = set(ENGLISH_ONLY)
    found = []
    for w, _clip in leaves(modal_or(app.root)):
        text = getattr(w, "text", "")
        if not text or w is app.root.ids.language:  # the other language's own name, by convention
            continue
        words = {x.lower().strip(".,:;!?()") for x in text.split()}
        if words & english or re.search(r"[a-z]+_[a-z]+", text):
            found.append(f"not Indonesian: {text[:60]!r}")
    return found


# English words that never appear in the Indonesian texts (checked against the catalog in a test below)
ENGLISH_ONLY = (
    "the",
    "your",
    "and",
    "please",
    "step",
    "card",
    "ticket",
    "cancel",
    "help",
    "take",
    "tap",
    "show",
    "slot",
    "wait",
    "booking",
    "booked",
    "reader",
    "tamper",
    "alarms",
    "ok (simulated",
)


def shoot_overlay(app: KioskApp, name: str) -> None:
    """Photograph an overlay at every size in the current language (its toggle is under the overlay)."""
    problems: list[str] = []
    for size in SIZES:
        use_size(size)
        pump(0.2)
        problems += photograph(app, name, size)
    use_size(WALK)
    pump(0.2)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def wait_note(app: KioskApp, msgid: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    note = app.kiosk.session.operator_note
    while (note is None or note.msgid != msgid) and time.monotonic() < end:
        EventLoop.idle()
        note = app.kiosk.session.operator_note
    assert note is not None and note.msgid == msgid, note
    pump(0.3)

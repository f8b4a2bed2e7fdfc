"""The pictures of the resident's acts and the camera guide in a real Kivy window under Xvfb: each is drawn,
stays inside its box and is saved under test-artefacts/pictures/; the live frame hint on synthetic frames."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if not (os.environ.get("DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
    if os.environ.get("CI"):
        raise RuntimeError("UI tests need a display: run them under xvfb-run (the README's test command does)")
    pytest.skip("no display: run under xvfb-run", allow_module_level=True)

import cv2
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.graphics.texture import Texture
from kivy.uix.image import Image
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.widget import Widget

from kiosk.screens.pictures import ACCENT, GOOD, KINDS, MOVING, REST_PHASE, CameraGuide, Picture, frame_hint
from kiosk.screens.widgets import HINTS, Viewer
from tests.conftest import ARTEFACTS

pytestmark = pytest.mark.ui
SHOTS = ARTEFACTS / "pictures"
BG = (0.05, 0.14, 0.27, 1.0)  # the kiosk's background (common.kv)

# boxes (x, y, w, h) in window coordinates, each in a corner region so the rest of the window can be checked
BOXES = {"square": (24, 24, 300, 300), "wide": (420, 250, 360, 210), "tall": (590, 20, 170, 220)}


@pytest.fixture(scope="module")
def window():
    EventLoop.ensure_window()
    SHOTS.mkdir(parents=True, exist_ok=True)
    others = list(Window.children)
    for child in others:
        Window.remove_widget(child)
    clearcolor, size = tuple(Window.clearcolor), tuple(Window.size)
    Window.size = (800, 480)
    Window.clearcolor = BG
    pump(10)
    yield Window
    Window.clearcolor = clearcolor
    Window.size = size
    for child in others:
        Window.add_widget(child)


def pump(frames: int = 6) -> None:
    for _ in range(frames):
        EventLoop.idle()


def shoot(widget: Widget, name: str, folder: Path = SHOTS) -> np.ndarray:
    """Show the widget alone in the window and return the window's pixels (BGR, top row first)."""
    Window.add_widget(widget)
    try:
        pump()
        target = folder / f"{name}.png"
        Path(Window.screenshot(name=str(target))).replace(target)
    finally:
        Window.remove_widget(widget)
    img = cv2.imread(str(target))
    assert img is not None
    return img


def bgr(rgba: tuple[float, ...]) -> np.ndarray:
    return np.array([rgba[2], rgba[1], rgba[0]]) * 255.0


def near(img: np.ndarray, rgba: tuple[float, ...], tolerance: float = 14.0) -> np.ndarray:
    return np.abs(img.astype(np.float32) - bgr(rgba)).max(axis=2) <= tolerance


def box_mask(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The widget's box in image rows and columns (Kivy's y runs up, the image's rows run down)."""
    x, y, w, h = box
    mask = np.zeros(img.shape[:2], dtype=bool)
    height = img.shape[0]
    mask[height - (y + h) : height - y, x : x + w] = True
    return mask


def drawn(img: np.ndarray) -> np.ndarray:
    return ~near(img, BG, tolerance=6.0)


def check_inside(img: np.ndarray, box: tuple[int, int, int, int], least: float) -> None:
    inside = box_mask(img, box)
    marks = drawn(img)
    stray = np.argwhere(marks & ~inside)
    assert len(stray) == 0, f"{len(stray)} pixels drawn outside the box, e.g. (row, col) {stray[:3].tolist()}"
    share = marks[inside].mean()
    assert share >= least, f"only {share:.1%} of the box is drawn"


def picture(kind: str, box: tuple[int, int, int, int], **kwargs) -> Picture:
    x, y, w, h = box
    return Picture(kind=kind, animate=False, size_hint=(None, None), pos=(x, y), size=(w, h), **kwargs)


def test_window_is_the_size_the_boxes_assume(window):
    img = shoot(Widget(size=(1, 1)), "empty", SHOTS)
    assert img.shape[:2] == (480, 800)
    assert near(img, BG, 6.0).all()
    (SHOTS / "empty.png").unlink()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", list(BOXES))
def test_each_picture_is_drawn_inside_its_box(window, kind, shape):
    box = BOXES[shape]
    img = shoot(picture(kind, box, slot=9), f"{kind}-{shape}")
    check_inside(img, box, least=0.04)


@pytest.mark.parametrize("kind", sorted(MOVING))
def test_moving_pictures_stay_inside_their_box_all_through_the_loop(window, kind, tmp_path):
    for shape in ("square", "wide"):
        box = BOXES[shape]
        for phase in (0.0, 0.2, 0.4, 0.9):
            widget = picture(kind, box, slot=3)
            widget.phase = phase
            check_inside(shoot(widget, f"{kind}-{shape}-{phase}", tmp_path), box, least=0.04)


def test_the_moving_element_moves(window, tmp_path):
    for kind in sorted(MOVING):
        shots = []
        for phase in (0.0, REST_PHASE):
            widget = picture(kind, BOXES["square"], slot=3)
            widget.phase = phase
            shots.append(shoot(widget, f"{kind}-{phase}", tmp_path))
        changed = np.abs(shots[0].astype(int) - shots[1].astype(int)).max(axis=2) > 20
        assert changed.sum() > 300, kind


def accent_centre(img: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(near(img, ACCENT))
    assert len(rows) > 200
    return float(cols.mean()), float(rows.mean())


def test_the_slot_picture_points_at_the_slot(window):
    box = (24, 24, 420, 280)
    x, y, w, h = box
    centre = (x + w / 2, 480 - (y + h / 2))
    first = shoot(picture("slot", box, slot=1, rows=4, cols=6), "slot-1-of-24")
    last = shoot(picture("slot", box, slot=24, rows=4, cols=6), "slot-24-of-24")
    (fx, fy), (lx, ly) = accent_centre(first), accent_centre(last)
    assert fx < centre[0] - w * 0.25 and fy < centre[1] - h * 0.15  # top left
    assert lx > centre[0] + w * 0.25 and ly > centre[1] + h * 0.15  # bottom right
    assert not (near(first, ACCENT) & near(last, ACCENT)).any()
    check_inside(first, box, least=0.1)
    check_inside(last, box, least=0.1)


@pytest.mark.parametrize(("rows", "cols", "slot"), [(1, 4, 2), (2, 3, 6), (6, 8, 48), (4, 6, 19)])
def test_slot_grids_of_other_shapes_stay_inside(window, tmp_path, rows, cols, slot):
    for shape in ("square", "tall"):
        widget = picture("slot", BOXES[shape], rows=rows, cols=cols, slot=slot)
        img = shoot(widget, f"slot-{rows}x{cols}-{slot}-{shape}", tmp_path)
        check_inside(img, BOXES[shape], least=0.1)
        assert near(img, ACCENT).sum() > 100


def test_no_slot_is_highlighted_without_a_slot(window, tmp_path):
    img = shoot(picture("slot", BOXES["wide"], slot=0), "slot-none", tmp_path)
    assert near(img, ACCENT).sum() < 20
    img = shoot(picture("slot", BOXES["wide"], slot=25, rows=4, cols=6), "slot-beyond", tmp_path)
    assert near(img, ACCENT).sum() < 20


def run_for(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        EventLoop.idle()
        time.sleep(0.01)


def test_animation_runs_only_while_on_screen(window):
    moving = Picture(kind="ticket", size_hint=(None, None), size=(200, 200))
    Window.add_widget(moving)
    start = moving.phase
    run_for(0.4)
    assert moving.phase != start
    Window.remove_widget(moving)
    stopped = moving.phase
    run_for(0.3)
    assert moving.phase == stopped
    moving.animate = False
    assert moving.phase == REST_PHASE

    still = Picture(kind="done", size_hint=(None, None), size=(200, 200))
    Window.add_widget(still)
    run_for(0.3)
    Window.remove_widget(still)
    assert still.phase == REST_PHASE


def camera_frame(w: int = 320, h: int = 240) -> np.ndarray:
    """A grey, softly lit scene standing in for the camera image."""
    yy, xx = np.mgrid[0:h, 0:w]
    grey = 70 + 60 * np.exp(-(((xx - w / 2) / (w / 3)) ** 2 + ((yy - h / 2) / (h / 2.5)) ** 2))
    return np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)


def guided(box: tuple[int, int, int, int], **kwargs) -> RelativeLayout:
    x, y, w, h = box
    layout = RelativeLayout(size_hint=(None, None), pos=(x, y), size=(w, h))
    frame = camera_frame()
    texture = Texture.create(size=(frame.shape[1], frame.shape[0]), colorfmt="bgr")
    texture.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
    layout.add_widget(Image(texture=texture, fit_mode="fill"))
    layout.add_widget(CameraGuide(**kwargs))
    return layout


GUIDE_BOX = (30, 40, 480, 360)
GUIDES: dict[str, dict[str, Any]] = {
    "qr": {"guide": "qr"},
    "qr-ok": {"guide": "qr", "ok": True, "hint": "QR code found"},
    "face": {"guide": "face", "hint": "Look at the camera"},
    "face-left": {"guide": "face", "direction": "left", "hint": "Turn your head to the left"},
    "face-right": {"guide": "face", "direction": "right"},
    "face-blink": {"guide": "face", "direction": "blink", "hint": "Blink twice"},
    "face-ok": {"guide": "face", "ok": True},
    "card": {"guide": "card", "hint": "Hold the front of your old KTP in the frame, close to the camera"},
    "card-ok": {"guide": "card", "ok": True},
    "hint-only": {"hint": "Too dark: step closer to the light"},
}


@pytest.fixture(scope="module")
def bare(window):
    return shoot(guided(GUIDE_BOX), "guide-none")


@pytest.mark.parametrize("name", list(GUIDES))
def test_camera_guides_are_drawn_over_the_image_inside_its_box(window, bare, name):
    props = GUIDES[name]
    img = shoot(guided(GUIDE_BOX, **props), f"guide-{name}")
    check_inside(img, GUIDE_BOX, least=0.9)  # the camera image fills the box
    changed = np.abs(img.astype(int) - bare.astype(int)).max(axis=2) > 30
    assert changed.sum() > 1500
    green = near(img, GOOD, 20).sum()
    assert (green > 500) if props.get("ok") else (green == 0)


def side_of_accent(img: np.ndarray) -> tuple[int, int]:
    x, _, w, _ = GUIDE_BOX
    _, cols = np.nonzero(near(img, ACCENT, 20))
    return int((cols < x + w / 2).sum()), int((cols >= x + w / 2).sum())


def test_the_liveness_arrow_points_to_the_asked_side(window):
    left = side_of_accent(shoot(guided(GUIDE_BOX, guide="face", direction="left"), "guide-face-left"))
    right = side_of_accent(shoot(guided(GUIDE_BOX, guide="face", direction="right"), "guide-face-right"))
    blink = side_of_accent(shoot(guided(GUIDE_BOX, guide="face", direction="blink"), "guide-face-blink"))
    assert left[0] > 300 and left[1] == 0
    assert right[1] > 300 and right[0] == 0
    assert blink[0] > 300 and blink[1] > 300


def test_the_hint_is_a_banner_at_the_bottom(window, bare, tmp_path):
    img = shoot(guided(GUIDE_BOX, hint="Hold still"), "hint", tmp_path)
    x, y, w, h = GUIDE_BOX
    bottom = slice(480 - y - int(h * 0.12), 480 - y)
    top = slice(480 - y - h, 480 - y - int(h * 0.7))
    assert img[bottom, x : x + w].mean() < bare[bottom, x : x + w].mean() - 15  # darkened band
    assert (img[bottom, x : x + w].min(axis=2) > 200).sum() > 100  # white text in it
    assert np.array_equal(img[top, x : x + w], bare[top, x : x + w])  # the rest of the image untouched
    longer = shoot(guided(GUIDE_BOX, hint="Hold still", font_size=60), "hint-big", tmp_path)
    assert (longer[:, x : x + w].min(axis=2) > 200).sum() > (img[:, x : x + w].min(axis=2) > 200).sum()


# --- the live frame hint ----------------------------------------------------------------------------------


def checks(level_a: int, level_b: int, block: int = 40, shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    board = ((yy // block + xx // block) % 2).astype(bool)
    grey = np.where(board, level_a, level_b).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def test_a_dark_frame_asks_for_light():
    assert frame_hint(np.full((480, 640, 3), 20, np.uint8), None) == "dark"
    assert frame_hint(checks(10, 70), None) == "dark"  # mean 40


def test_a_washed_out_frame_is_bright():
    assert frame_hint(np.full((480, 640, 3), 240, np.uint8), None) == "bright"
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[:300] = 255  # most of it saturated, the mean still moderate
    assert frame_hint(frame, None) == "bright"


def test_a_frame_that_moved_asks_to_hold_still():
    frame = checks(60, 180)
    assert frame_hint(np.roll(frame, 40, axis=1), frame) == "still"


def test_a_normal_frame_has_no_hint():
    rng = np.random.default_rng(1)
    frame = checks(60, 180)
    noisy = np.clip(frame.astype(int) + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
    assert frame_hint(frame, None) == ""
    assert frame_hint(noisy, frame) == ""
    assert frame_hint(frame[..., 0], None) == ""  # a grey frame
    assert frame_hint(frame, checks(60, 180, shape=(240, 320))) == ""  # a previous of another size is ignored
    assert frame_hint(None, frame) == ""


def test_the_camera_view_shows_a_hint_only_when_two_looks_agree():
    viewer = Viewer()
    dark, fine = np.full((480, 640, 3), 20, np.uint8), checks(60, 180)
    viewer.look_at(dark)
    assert viewer.hint_msgid == "", "one dark frame (a hand passing) is not enough"
    viewer.look_at(dark)
    assert viewer.hint_msgid == HINTS["dark"]
    viewer.look_at(fine)  # the light comes on: that change is a movement, and one look
    assert viewer.hint_msgid == HINTS["dark"], "nor is one good frame"
    viewer.look_at(fine)
    viewer.look_at(fine)
    assert viewer.hint_msgid == ""
    viewer.look_at(np.roll(fine, 40, axis=1))
    viewer.look_at(fine)
    assert viewer.hint_msgid == HINTS["still"]
    viewer.motion_hint = False  # nobody holds anything up yet: people walking past are no reason
    viewer.look_at(np.roll(fine, 40, axis=1))
    viewer.look_at(fine)
    assert viewer.hint_msgid == ""

"""The lock-down (kiosk/lockdown.py) in the real Kivy window: Escape, Alt+F4 and every other key or key
combination that Kivy, SDL or a desktop turns into leaving, close requests and multi-touch gestures; the
kiosk is still running and serving afterwards. `kiosk run` in a process of its own stops on the service
manager's SIGTERM, in order, and on nothing else; the demo keeps its way out (helpers in tests/uikit.py)."""

from __future__ import annotations

import ctypes
import inspect
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kivy.app import App
from kivy.base import EventLoop
from kivy.config import Config
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.settings import Settings

from kiosk import lockdown
from kiosk.cli import build_parser, main
from kiosk.flow.model import Step
from kiosk.lockdown import DEMO, KIOSK, Verdict, WindowGuard
from tests.uikit import pump, start_visit, touch, wait_for

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parent.parent


class SdlKeysym(ctypes.Structure):
    _fields_ = [
        ("scancode", ctypes.c_int32),
        ("sym", ctypes.c_int32),
        ("mod", ctypes.c_uint16),
        ("unused", ctypes.c_uint32),
    ]


class SdlKeyEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_uint32),
        ("timestamp", ctypes.c_uint32),
        ("window", ctypes.c_uint32),
        ("state", ctypes.c_uint8),
        ("repeat", ctypes.c_uint8),
        ("padding", ctypes.c_uint8 * 2),
        ("keysym", SdlKeysym),
    ]


class SdlEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_uint32), ("key", SdlKeyEvent), ("size", ctypes.c_uint8 * 56)]


class SdlQueue:
    """SDL's own event queue under Kivy's window: an event put here reaches the app as the keyboard's or the
    window system's would (Kivy's SDL window polls it, maps the key, keeps the modifiers). It and the three
    structures above need only ctypes, so a `kiosk run` of its own is given them too (SDL_SOURCE)."""

    QUIT, KEYDOWN, KEYUP = 0x100, 0x300, 0x301
    SHIFT, CTRL, ALT, GUI = 0x0001, 0x0040, 0x0100, 0x0400  # SDL's left-hand modifier bits

    def __init__(self) -> None:
        with open("/proc/self/maps") as maps:  # the SDL the window runs on, wherever Kivy's wheel put it
            path = next(line.split()[-1] for line in maps if "libSDL2-2" in line and "_ttf" not in line)
        self.sdl = ctypes.CDLL(path)

    def drop_pending(self) -> None:
        """Forget what the window system queued so far (the UI tests pump frames, never SDL's events)."""
        self.sdl.SDL_PumpEvents()
        self.sdl.SDL_FlushEvents(0, 0xFFFF)

    def push(self, event: SdlEvent) -> None:
        assert self.sdl.SDL_PushEvent(ctypes.byref(event)) == 1, "SDL refused the event"

    def press(self, sym: int, scancode: int, mod: int = 0) -> None:
        """A key pressed with `mod` held, then released with nothing held."""
        for kind, state, held in ((self.KEYDOWN, 1, mod), (self.KEYUP, 0, 0)):
            event = SdlEvent()
            event.key.type, event.key.state = kind, state
            event.key.keysym.sym, event.key.keysym.scancode, event.key.keysym.mod = sym, scancode, held
            self.push(event)

    def close_request(self) -> None:
        """SDL's quit event: the window's close button, Alt+F4 under a window manager (and, unless SDL is told
        otherwise, SIGTERM)."""
        event = SdlEvent()
        event.type = self.QUIT
        self.push(event)


F1, F4, F11, F12, MENU, BACK, SUPER = 0x4000003A, 0x4000003D, 0x40000044, 0x40000045, 0x40000076, 0x4000010E, 0x400000E3
Q = SdlQueue
SDL_SOURCE = "\n\n".join(textwrap.dedent(inspect.getsource(c)) for c in (SdlKeysym, SdlKeyEvent, SdlEvent, SdlQueue))
WAYS_OUT = {  # name: (SDL keycode, scancode, modifiers held)
    "Escape": (27, 41, 0),
    "Alt+F4": (F4, 61, Q.ALT),
    "Ctrl+Q": (113, 20, Q.CTRL),
    "Ctrl+W": (119, 26, Q.CTRL),
    "Cmd+Q": (113, 20, Q.GUI),
    "F1 (Kivy's settings)": (F1, 58, 0),
    "Menu (Kivy's settings)": (MENU, 118, 0),
    "Ctrl+E (Kivy's inspector)": (101, 8, Q.CTRL),
    "F11, F12 (Kivy's rotate, screenshot)": (F11, 68, 0),
    "Shift+F12": (F12, 69, Q.SHIFT),
    "Ctrl+C": (99, 6, Q.CTRL),
    "Alt+Tab": (9, 43, Q.ALT),
    "Ctrl+Alt+Backspace": (8, 42, Q.CTRL | Q.ALT),
    "Ctrl+Alt+Delete": (127, 76, Q.CTRL | Q.ALT),
    "Back (Android's back button)": (BACK, 270, 0),
    "Super": (SUPER, 227, Q.GUI),
}


def assert_running(app) -> None:
    """Nothing has stopped the app or asked Kivy to: its loop, its window and its screens are as they were."""
    assert App.get_running_app() is app
    assert not EventLoop.quit and not EventLoop.stopping, "Kivy was asked to leave its main loop"
    assert app.root in Window.children, "the app's screens left the window (App.stop clears it)"
    assert not [w for w in Window.children if isinstance(w, Settings)], "a settings panel opened"
    assert not Config.getboolean("kivy", "exit_on_escape")


def assert_serving(app, world) -> None:
    """A touch still reaches the screen (the language toggles and back) and a resident can still start."""
    lang = app.lang
    touch(app.root.ids.language)
    assert app.lang != lang, "a touch on the language button did nothing"
    touch(app.root.ids.language)
    assert app.lang == lang
    start_visit(app, world, "printing")  # the camera sees a ticket: the kiosk asks for the old KTP
    touch(app.root.ids.cancel)
    wait_for(app, Step.IDLE)


@pytest.fixture
def kivy_defaults(monkeypatch):
    """Kivy's own default handler of on_keyboard (Escape quits) replaced by a recorder: a key the lock-down
    let through would be recorded there instead of stopping the shared window."""
    reached: list[tuple] = []
    monkeypatch.setattr(Window, "on_keyboard", lambda *args, **kwargs: reached.append(args))
    return reached


def test_escape_alt_f4_and_every_other_way_out_key_leave_the_kiosk_running(ui, kivy_defaults):
    app, world, _clock = ui
    assert not app.guard.policy.way_out, "the UI tests run the app as `kiosk run` does: locked"
    sdl = SdlQueue()
    sdl.drop_pending()
    for sym, scancode, mod in WAYS_OUT.values():
        sdl.press(sym, scancode, mod)
    Window.mainloop()  # what Kivy's main loop does after each frame: take SDL's events
    pump(0.3)
    assert kivy_defaults == [], "a key reached Kivy's own handler"
    assert app.kiosk.session.step == Step.IDLE, "a key did something"
    # the same keys dispatched on the window as any input provider would, with their modifiers
    for key, modifiers in ((27, []), (285, ["alt"]), (113, ["ctrl"]), (282, []), (319, []), (101, ["ctrl"])):
        assert Window.dispatch("on_key_down", key, 0, None, modifiers), f"key {key} {modifiers} not swallowed"
        assert Window.dispatch("on_keyboard", key, 0, None, modifiers), f"key {key} {modifiers} not swallowed"
    pump(0.3)
    assert kivy_defaults == []
    assert_running(app)
    assert_serving(app, world)


def test_close_requests_are_refused(ui, caplog):
    app, world, _clock = ui
    sdl = SdlQueue()
    sdl.drop_pending()
    for _ in range(3):
        sdl.close_request()  # the window's close button; Alt+F4 under a window manager
    Window.mainloop()
    assert Window.dispatch("on_request_close"), "a close request from the window was let through"
    assert Window.dispatch("on_request_close", source="keyboard"), "Kivy's close request on Escape was let through"
    pump(0.3)
    assert "close request (window) refused" in caplog.text
    assert_running(app)
    assert_serving(app, world)


class Finger(UnitTestTouch):
    """One finger on a multi-touch panel, with its own slot number as the panel's driver gives it."""

    def __init__(self, slot: int, x: float, y: float) -> None:
        super().__init__(x, y)
        self.id = slot
        self.at = (x, y)

    def move_by(self, dx: float, dy: float) -> None:
        self.at = (self.at[0] + dx, self.at[1] + dy)
        self.touch_move(*self.at)


def gesture(starts: list[tuple[float, float]], step: tuple[float, float] | list[tuple[float, float]], moves=8):
    """Fingers down at `starts` together, moved `moves` times by `step` (one for all, or one per finger), then
    lifted in the reverse order: a pinch, a swipe, a palm."""
    fingers = [Finger(i, x, y) for i, (x, y) in enumerate(starts)]
    for f in fingers:
        f.touch_down()
    pump(0.02)
    steps = step if isinstance(step, list) else [step] * len(fingers)
    for _ in range(moves):
        for f, (dx, dy) in zip(fingers, steps, strict=True):
            f.move_by(dx, dy)
        pump(0.02)
    for f in reversed(fingers):
        f.touch_up()
    pump(0.05)


def test_multi_touch_gestures_leave_the_kiosk_running_and_serving(ui):
    app, world, _clock = ui
    w, h = Window.size
    cx, cy = w / 2, h / 2
    gesture([(cx - 200, cy), (cx + 200, cy)], [(20, 0), (-20, 0)])  # pinch in
    gesture([(cx - 20, cy - 20), (cx + 20, cy + 20)], [(-20, -15), (20, 15)])  # pinch out
    for dx, dy in ((60, 0), (-60, 0), (0, 60), (0, -60)):  # two- and three-finger swipes
        gesture([(cx - 40, cy), (cx + 40, cy)], (dx, dy))
        gesture([(cx - 80, cy), (cx, cy), (cx + 80, cy)], (dx, dy))
    for start, step in (((2, cy), (60, 0)), ((w - 2, cy), (-60, 0)), ((cx, 2), (0, 60)), ((cx, h - 2), (0, -60))):
        gesture([start], step)  # from each edge, as phones leave an app
        gesture([(start[0] + i * 30 * (step[1] != 0), start[1] + i * 30 * (step[0] != 0)) for i in range(3)], step)
    gesture([(cx + 60 * i, cy + 20 * (i % 2)) for i in range(-2, 3)], (0, 0), moves=10)  # five fingers held
    gesture([(100 + 110 * i, 100 + 55 * (i % 3)) for i in range(10)], (5, 5), moves=4)  # a palm of ten
    for _ in range(3):  # two-finger double and triple taps
        gesture([(cx - 30, cy), (cx + 30, cy)], (0, 0), moves=0)
    pump(0.5)
    assert_running(app)
    assert app.kiosk.session.step == Step.IDLE
    assert_serving(app, world)
    assert "disable_multitouch" in Config.get("input", "mouse"), "the mouse would leave right-click dots as touches"


class BrokenPolicy:
    def judge_key(self, *_args):
        raise RuntimeError("judge_key broke")

    def allows_close(self):
        raise RuntimeError("allows_close broke")


def test_a_lock_down_that_breaks_still_swallows_and_refuses(ui, monkeypatch, caplog, kivy_defaults):
    """Kivy stops the whole app on an exception from a window handler: a broken lock-down must not be a way out."""
    app, world, _clock = ui
    monkeypatch.setattr(app.guard, "policy", BrokenPolicy())
    assert Window.dispatch("on_key_down", 27, 41, None, [])
    assert Window.dispatch("on_keyboard", 27, 41, None, [])
    assert Window.dispatch("on_request_close")
    pump(0.2)
    assert "lock-down: on_key failed" in caplog.text and "lock-down: on_close failed" in caplog.text
    assert kivy_defaults == []
    monkeypatch.undo()
    assert_running(app)
    assert_serving(app, world)


def test_kiosk_run_swallows_every_key_and_refuses_every_close():
    for key in [*range(0, 512), F1, F4, MENU, BACK]:
        for modifiers in ([], ["ctrl"], ["alt"], ["ctrl", "alt"], ["meta"], ["shift"]):
            assert KIOSK.judge_key(key, modifiers) is Verdict.SWALLOW, (key, modifiers)
    assert not KIOSK.allows_close()


def test_the_demo_keeps_its_way_out_and_says_so(capsys):
    assert DEMO.judge_key(27) is Verdict.QUIT
    assert DEMO.judge_key(113, ["ctrl"]) is Verdict.QUIT
    assert DEMO.judge_key(113) is Verdict.PASS, "typing q does not quit"
    assert DEMO.judge_key(285, ["alt"]) is Verdict.PASS and DEMO.judge_key(282) is Verdict.PASS
    assert DEMO.allows_close()
    stops: list[int] = []
    guard = WindowGuard(DEMO, lambda: stops.append(1))  # not on the window: the shared app keeps running
    assert guard.on_key(Window, 27, 41, None, [])
    pump(0.1)
    assert stops == [1], "Escape did not stop the demo"
    assert guard.on_key(Window, 113, 20, "q", ["ctrl"]) and not guard.on_key(Window, 113, 20, "q", [])
    pump(0.1)
    assert stops == [1], "the demo stops once"
    assert guard.on_close() is False, "the demo's window closes"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    assert "Escape or Ctrl+Q" in " ".join(capsys.readouterr().out.split())


def test_the_demo_command_chooses_the_way_out(monkeypatch, tmp_path):
    chosen: list[lockdown.Lockdown] = []
    monkeypatch.setattr(lockdown, "_chosen", [KIOSK])  # the process's choice, as before, after this test
    monkeypatch.setenv("KIVY_HOME", str(tmp_path / "kivy"))
    monkeypatch.setenv("KCFG_INPUT_MOUSE", "mouse,disable_multitouch")

    def run_demo(*_args: object, **_kwargs: object) -> int:
        chosen.append(lockdown.chosen())
        return 0

    monkeypatch.setattr("kiosk.sim.demo.run_demo", run_demo)
    assert lockdown.chosen() is KIOSK, "an app given no policy is locked"
    assert main(["demo", "--data-dir", str(tmp_path)]) == 0
    assert chosen == [DEMO]


# `kiosk run` in a process of its own, on simulated parts: the keys and close requests of the first test go
# into its SDL queue once it runs, the service manager's notify socket is the test's, and SIGTERM stops it.
CHILD = """
import ctypes, sys, threading, time
from pathlib import Path
{queue}
WAYS_OUT = {ways_out}

def abuse(go):  # a thread of its own: SDL takes pushed events from any thread, and Kivy is not imported here
    while not go.exists():
        time.sleep(0.1)
    sdl = SdlQueue()
    for sym, scancode, mod in WAYS_OUT:
        sdl.press(sym, scancode, mod)
    sdl.close_request()
    print("pushed", flush=True)

threading.Thread(target=abuse, args=(Path(sys.argv[2]),), daemon=True).start()
import kiosk.cli
sys.exit(kiosk.cli.main(["run", "--windowed", "--config", sys.argv[1]]))
"""

RUN_CONFIG = """
[kiosk]
id = "KIOSK-LOCK"
office = "DKP-KUPANG"
data_dir = "data"

[gateway]
url = "http://127.0.0.1:9/kiosk"
api_key_file = "api-key"

[tickets]
keys = {{ "1" = "{key}" }}

[hardware]
camera = "sim"
reader = "sim"
vault = "sim"
printer = "sim"

[display]
panel = "pi-touch-7"

[speech]
enabled = false
"""


def notes(sock: socket.socket, until: float) -> list[str]:
    got = []
    while time.monotonic() < until:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return got


def test_kiosk_run_stops_on_sigterm_in_order_and_on_nothing_else(tmp_path):
    (tmp_path / "api-key").write_text("secret\n")
    config = tmp_path / "kiosk.toml"
    config.write_text(RUN_CONFIG.format(key="ab" * 32))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(1)
    code = CHILD.replace("{queue}", SDL_SOURCE).replace("{ways_out}", repr(list(WAYS_OUT.values())))
    env = {
        **{k: v for k, v in os.environ.items() if k != "KIVY_USE_DEFAULTCONFIG"},  # Kivy writes its config.ini
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "1500000",  # a ping every half second
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KCFG_INPUT_MOUSE": "mouse,disable_multitouch",
    }
    (tmp_path / "kivy").mkdir()
    log = (tmp_path / "log").open("w")
    go = tmp_path / "go"
    child = subprocess.Popen([sys.executable, "-c", code, config, go], env=env, stdout=log, stderr=log, cwd=REPO)
    try:
        seen: list[str] = []
        end = time.monotonic() + 60
        while not any(n.startswith("READY=1") for n in seen) and time.monotonic() < end and child.poll() is None:
            seen += notes(sock, time.monotonic() + 1)
        assert any(n.startswith("READY=1") for n in seen), (tmp_path / "log").read_text()[-3000:]
        go.touch()  # the window is up: the keys and the close request now
        end = time.monotonic() + 20
        while "pushed" not in (tmp_path / "log").read_text() and time.monotonic() < end:
            time.sleep(0.2)
        after = notes(sock, time.monotonic() + 3)
        text = (tmp_path / "log").read_text()
        assert "pushed" in text and child.poll() is None, text[-3000:]
        assert "close request (window) refused" in text, text[-3000:]
        assert "WATCHDOG=1" in after, f"the kiosk stopped pinging its watchdog after the keys: {after}"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 0, (tmp_path / "log").read_text()[-3000:]
        assert "stopped by SIGTERM" in (tmp_path / "log").read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
        sock.close()

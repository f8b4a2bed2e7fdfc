"""The kiosk's lock-down: under `kiosk run` no key, key combination, window close request or touch gesture
ends the app and no settings panel opens; only the service manager stops it (SIGTERM), and then in order.
`kiosk demo` keeps one way out, Escape or Ctrl+Q.

The policy (`Lockdown`) is plain data the `kiosk` command chooses; `WindowGuard` puts it on Kivy's window
from the app's start to its stop. Kivy is imported only there, once the command has prepared its
environment."""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

log = logging.getLogger(__name__)

ESCAPE = 27  # Kivy's code for Escape; Kivy maps Android's back button to it too
KEY_Q = 113
STOP_SIGNAL = signal.SIGTERM  # the service manager's stop (a kiosk has no terminal: no Ctrl+C to mind)
DEMO_HELP = "Escape or Ctrl+Q quits the demo; kiosk run has no way out but its service manager"

T = TypeVar("T")


class Verdict(enum.Enum):
    """What becomes of a key press."""

    PASS = "pass"  # Kivy and the app's widgets may have it
    SWALLOW = "swallow"  # nothing else sees it: not Kivy's Escape, its F1 settings panel, nor any Kivy module
    QUIT = "quit"  # the demo's way out


@dataclass(frozen=True)
class Lockdown:
    """The ways out of the app: none but the service manager's (`kiosk run`), or the demo's as well."""

    way_out: bool = False

    def judge_key(self, key: int, modifiers: Iterable[str] = ()) -> Verdict:
        """A kiosk takes no key at all (its keypad is on the screen), so every key is swallowed; the demo quits
        on Escape or Ctrl+Q and leaves every other key to Kivy."""
        if not self.way_out:
            return Verdict.SWALLOW
        if key == ESCAPE or (key == KEY_Q and "ctrl" in modifiers):
            return Verdict.QUIT
        return Verdict.PASS

    def allows_close(self) -> bool:
        """A close request: the window's close button, Alt+F4 under a window manager, SDL's quit event."""
        return self.way_out


KIOSK = Lockdown()  # `kiosk run`
DEMO = Lockdown(way_out=True)  # `kiosk demo`
_chosen = [KIOSK]  # the process's policy for an app not given one: locked, unless the demo command chose


def choose(policy: Lockdown) -> None:
    """The `kiosk` command's choice for this process (before the app is made)."""
    _chosen[0] = policy


def chosen() -> Lockdown:
    return _chosen[0]


def never_raises(refusal: T) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A window handler that cannot raise: Kivy stops the whole app on an exception from a handler, which
    would make a broken lock-down a way out. A fault is logged and answered with `refusal`."""

    def wrap(handler: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(handler)
        def guarded(*args: Any, **kwargs: Any) -> T:
            try:
                return handler(*args, **kwargs)
            except Exception:
                with contextlib.suppress(Exception):
                    log.exception("lock-down: %s failed; answered %r", handler.__name__, refusal)
                return refusal

        return guarded

    return wrap


class WindowGuard:
    """The policy on Kivy's window: keys judged before Kivy's own handlers see them, close requests refused,
    Kivy's exit on Escape off, the mouse never left holding simulated touches; under lock the service
    manager's SIGTERM leaves the main loop in order (SDL would make it a close request, which the lock refuses)."""

    def __init__(self, policy: Lockdown, stop: Callable[[], None]) -> None:
        self.policy = policy
        self._stop = stop  # the app's orderly stop, for the demo's way out
        self.stopped_by: int | None = None  # the signal that stopped the app
        self.quitting = False
        self._previous: Any = None  # the stop signal's handler before ours (None: not one set from Python)
        self._signal_set = False
        self._window: Any = None
        self._loop: Any = None

    def install(self) -> None:
        """From the app's start (after Kivy bound its own keys: handlers bound later are asked first)."""
        from kivy.base import EventLoop
        from kivy.config import Config
        from kivy.core.window import Window

        Config.set("kivy", "exit_on_escape", "0")  # Escape is this policy's, not Kivy's
        if Config.has_section("input"):  # read when the main loop starts its input providers
            Config.set("input", "mouse", "mouse,disable_multitouch")  # no right-click dots left as touches
        Window.fbind("on_key_down", self.on_key)
        Window.fbind("on_keyboard", self.on_key)
        Window.fbind("on_request_close", self.on_close)
        self._window, self._loop = Window, EventLoop
        if not self.policy.way_out:
            self._previous = signal.signal(STOP_SIGNAL, self.on_signal)
            self._signal_set = True
        log.info("%s", DEMO_HELP if self.policy.way_out else "locked down: only the service manager stops the kiosk")

    def remove(self) -> None:
        """At the app's stop: the window's handlers and the signals as they were."""
        window, self._window = self._window, None
        if window is not None:
            window.funbind("on_key_down", self.on_key)
            window.funbind("on_keyboard", self.on_key)
            window.funbind("on_request_close", self.on_close)
        if self._signal_set:
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(STOP_SIGNAL, signal.SIG_DFL if self._previous is None else self._previous)
            self._signal_set = False
        if self.stopped_by is not None:
            log.info("stopped by %s", signal.Signals(self.stopped_by).name)

    @never_raises(True)
    def on_key(self, _window: object, key: int, *args: Any, **_kwargs: Any) -> bool:
        """on_key_down and on_keyboard (key, scancode, codepoint, modifiers): True when no one else may have it."""
        modifiers = args[2] if len(args) > 2 and args[2] else ()
        verdict = self.policy.judge_key(int(key), modifiers)
        if verdict is Verdict.QUIT and not self.quitting:
            self.quitting = True
            log.info("demo: quit by key")
            from kivy.clock import Clock

            Clock.schedule_once(lambda _dt: self._stop(), 0)
        return verdict is not Verdict.PASS

    @never_raises(True)
    def on_close(self, *_args: Any, **kwargs: Any) -> bool:
        """on_request_close: True refuses it."""
        if self.policy.allows_close():
            return False
        log.info("close request (%s) refused: only the service manager stops the kiosk", kwargs.get("source", "window"))
        return True

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Leave Kivy's main loop as SDL's own quit does; App.on_stop then closes the parts in order. Where no
        main loop runs (tests pump frames themselves) the signal does what it did before, so a test runner's
        timeout still ends the process. A signal handler runs between any two bytecodes: nothing here locks."""
        self.stopped_by = signum
        if self._loop is not None and self._loop.status == "started":
            self._loop.quit = True
            return
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

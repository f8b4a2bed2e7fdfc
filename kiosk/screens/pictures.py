"""Pictures of every physical act a resident does at the kiosk, drawn with canvas instructions (no image
files), the overlay drawn over the live camera image, and a cheap live hint on camera frames.

Nothing here is user text: the screens put translated words beside the pictures and pass translated hints
to the camera guide; the only glyphs drawn are the digits of a vault slot's number.

Picture lives here; the drawing kit is in pictures_pen, the routine of each kind in pictures_kinds (with the
parts they share in pictures_parts), and CameraGuide and frame_hint in pictures_guide, all re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.clock import Clock, ClockEvent
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty
from kivy.uix.widget import Widget

from kiosk.screens.pictures_guide import (
    BRIGHT_ABOVE,
    DARK_BELOW,
    MOVING_ABOVE,
    SATURATED,
    SATURATED_SHARE,
    CameraGuide,
    frame_hint,
)
from kiosk.screens.pictures_kinds import DRAW, draw_slot
from kiosk.screens.pictures_pen import (
    ACCENT,
    CARD_RATIO,
    GOOD,
    INK,
    MARK,
    PAPER,
    STROKE,
    Corners,
    Pen,
    Point,
    motion,
)

__all__ = [
    "ACCENT",
    "BRIGHT_ABOVE",
    "CARD_RATIO",
    "DARK_BELOW",
    "FPS",
    "GOOD",
    "INK",
    "KINDS",
    "MARK",
    "MOVING",
    "MOVING_ABOVE",
    "PAPER",
    "PERIOD_S",
    "REST_PHASE",
    "SATURATED",
    "SATURATED_SHARE",
    "STROKE",
    "CameraGuide",
    "Corners",
    "Picture",
    "Point",
    "frame_hint",
    "motion",
]

KINDS = ("ticket", "reader", "card_front", "face", "slot", "tap_new", "booking", "status", "help", "refused", "done")
MOVING = frozenset({"ticket", "reader", "card_front", "tap_new", "slot"})

FPS = 15
PERIOD_S = 2.4  # one loop of a movement: towards the target, a pause there, back
REST_PHASE = 0.6  # the pose shown without animation: the thing is where it belongs


class Picture(Widget):
    """A picture of one act at the kiosk (see KINDS), fitted and centred in the widget.

    The acts that involve movement loop gently at FPS while the widget is on screen and `animate` is True;
    `phase` is where the loop is (REST_PHASE, the thing in its place, when not animating).
    """

    kind = OptionProperty("ticket", options=list(KINDS))
    slot = NumericProperty(0)
    rows = NumericProperty(4)
    cols = NumericProperty(6)
    animate = BooleanProperty(True)
    phase = NumericProperty(REST_PHASE)
    ink = ListProperty(list(INK))
    accent = ListProperty(list(ACCENT))
    paper = ListProperty(list(PAPER))
    mark = ListProperty(list(MARK))
    good = ListProperty(list(GOOD))

    def __init__(self, **kwargs: object) -> None:
        self._tickers: list[Callable[[float], None]] = []
        self._event: ClockEvent | None = None
        self._trigger = Clock.create_trigger(self._redraw, -1)
        super().__init__(**kwargs)
        self.fbind("pos", self._trigger)
        for name in ("size", "kind", "slot", "rows", "cols", "ink", "accent", "paper", "mark", "good"):
            self.fbind(name, self._trigger)
        self.fbind("kind", self._update_clock)
        self._trigger()

    # --- animation -------------------------------------------------------------------------------------

    def on_parent(self, _widget: Widget, _parent: Widget | None) -> None:
        self._update_clock()

    def on_animate(self, _widget: Widget, value: bool) -> None:
        if not value:
            self.phase = REST_PHASE
        self._update_clock()

    def on_phase(self, _widget: Widget, value: float) -> None:
        for tick in self._tickers:
            tick(value)

    def _update_clock(self, *_args: object) -> None:
        wanted = bool(self.animate) and self.parent is not None and self.kind in MOVING
        if wanted and self._event is None:
            self._event = Clock.schedule_interval(self._tick, 1.0 / FPS)
        elif not wanted and self._event is not None:
            self._event.cancel()
            self._event = None

    def _tick(self, dt: float) -> None:
        if self.get_root_window() is None:  # parented but not shown (its screen is not the current one)
            return
        self.phase = (self.phase + dt / PERIOD_S) % 1.0

    # --- drawing ---------------------------------------------------------------------------------------

    def _redraw(self, *_args: object) -> None:
        self.canvas.clear()
        self._tickers = []
        w, h = float(self.width), float(self.height)
        if w < 4 or h < 4:
            return
        if self.kind == "slot":
            aspect = min(1.6, max(0.8, w / h))
            unit = min(h, w / aspect)
            pen = Pen(self.canvas, self.x + (w - unit * aspect) / 2, self.y + (h - unit) / 2, unit)
            draw_slot(pen, self, aspect)
        else:
            side = min(w, h)
            pen = Pen(self.canvas, self.x + (w - side) / 2, self.y + (h - side) / 2, side)
            DRAW[self.kind](pen, self)
        self._tickers = pen.tickers
        self.on_phase(self, self.phase)

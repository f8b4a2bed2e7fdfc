"""Pictures of every physical act a resident does at the kiosk, drawn with canvas instructions (no image
files), the overlay drawn over the live camera image, and a cheap live hint on camera frames.

Nothing here is user text: the screens put translated words beside the pictures and pass translated hints
to the camera guide; the only glyphs drawn are the digits of a vault slot's number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from kivy.clock import Clock, ClockEvent
from kivy.core.text import Label as CoreLabel
from kivy.graphics import (
    Color,
    InstructionGroup,
    Line,
    Mesh,
    PopMatrix,
    PushMatrix,
    Quad,
    Rectangle,
    SmoothEllipse,
    SmoothRoundedRectangle,
    SmoothTriangle,
    Translate,
)
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.widget import Widget

Point = tuple[float, float]
Corners = tuple[Point, Point, Point, Point]  # bottom left, bottom right, top right, top left

KINDS = ("ticket", "reader", "card_front", "face", "slot", "tap_new", "booking", "status", "help", "refused", "done")
MOVING = frozenset({"ticket", "reader", "card_front", "tap_new", "slot"})

INK = (0.93, 0.95, 0.99, 1.0)  # outlines and devices on the dark blue background
ACCENT = (0.98, 0.78, 0.25, 1.0)  # what to look at: the target, the arrow, the highlighted slot
PAPER = (0.99, 0.97, 0.90, 1.0)  # things the resident holds: ticket, cards, documents
MARK = (0.05, 0.14, 0.27, 1.0)  # print on paper and on the accent colour
GOOD = (0.30, 0.80, 0.45, 1.0)  # done, found

FPS = 15
PERIOD_S = 2.4  # one loop of a movement: towards the target, a pause there, back
REST_PHASE = 0.6  # the pose shown without animation: the thing is where it belongs
STROKE = 0.035  # bold outline thickness, in units of the picture's side

CARD_RATIO = 54.0 / 85.6  # ID-1 card: height over width

# A fixed 9x9 pattern that reads as a QR code (1 = dark); the finder corners are drawn separately.
_QR_DATA = (
    "000010100",
    "000001000",
    "000010100",
    "000000000",
    "101101011",
    "010110110",
    "000011010",
    "000001101",
    "000010111",
)


def _smooth(t: float) -> float:
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


def motion(phase: float) -> float:
    """How far along its path the moving element is (1 = at the target) at `phase` in [0, 1)."""
    if phase < 0.45:
        return _smooth(phase / 0.45)
    if phase < 0.8:
        return 1.0
    return 1.0 - _smooth((phase - 0.8) / 0.2)


def _bilinear(corners: Corners, u: float, v: float) -> Point:
    """The point at (u, v) of a quadrilateral, (0, 0) its bottom left and (1, 1) its top right."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = corners
    bottom = (ax + (bx - ax) * u, ay + (by - ay) * u)
    top = (dx + (cx - dx) * u, dy + (cy - dy) * u)
    return (bottom[0] + (top[0] - bottom[0]) * v, bottom[1] + (top[1] - bottom[1]) * v)


def _sub_quad(corners: Corners, u0: float, v0: float, u1: float, v1: float) -> Corners:
    return (
        _bilinear(corners, u0, v0),
        _bilinear(corners, u1, v0),
        _bilinear(corners, u1, v1),
        _bilinear(corners, u0, v1),
    )


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> list[Point]:
    return [(cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n)) for i in range(n)]


def _arc_points(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 24) -> list[Point]:
    """Points on a circle from angle a0 to a1 (degrees, counter-clockwise from the +x axis)."""
    return [
        (
            cx + r * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + r * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def _clip_convex(subject: list[Point], clip: list[Point]) -> list[Point]:
    """Sutherland-Hodgman: the part of polygon `subject` inside the convex, counter-clockwise `clip`."""
    out = subject
    for i, (ax, ay) in enumerate(clip):
        bx, by = clip[(i + 1) % len(clip)]
        pts, out = out, []

        def inside(p: Point, ax: float = ax, ay: float = ay, bx: float = bx, by: float = by) -> bool:
            return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) >= 0

        for j, p in enumerate(pts):
            q = pts[j - 1]
            if inside(p) != inside(q):
                dx, dy = p[0] - q[0], p[1] - q[1]
                den = (bx - ax) * dy - (by - ay) * dx
                t = ((bx - ax) * (ay - q[1]) - (by - ay) * (ax - q[0])) / den if den else 0.0
                out.append((q[0] + t * dx, q[1] + t * dy))
            if inside(p):
                out.append(p)
        if not out:
            break
    return out


class _Pen:
    """Adds canvas instructions in picture units: (x0, y0) is the origin and one unit is `unit` pixels."""

    def __init__(self, canvas: InstructionGroup, x0: float, y0: float, unit: float) -> None:
        self.canvas = canvas
        self.x0, self.y0, self.unit = x0, y0, unit

    def at(self, x: float, y: float) -> Point:
        return (self.x0 + x * self.unit, self.y0 + y * self.unit)

    def flat(self, points: Sequence[Point]) -> list[float]:
        return [c for x, y in points for c in self.at(x, y)]

    def add(self, instruction: object) -> object:
        self.canvas.add(instruction)
        return instruction

    def color(self, rgba: Sequence[float], alpha: float = 1.0) -> Color:
        r, g, b, a = rgba
        c = Color(r, g, b, a * alpha)
        self.add(c)
        return c

    def box(self, x: float, y: float, w: float, h: float, r: float = 0.0) -> None:
        u = self.unit
        radius = max(0.0, min(r, w / 2, h / 2)) * u
        self.add(SmoothRoundedRectangle(pos=self.at(x, y), size=(w * u, h * u), radius=[radius] * 4))

    def frame(self, x: float, y: float, w: float, h: float, r: float, width: float) -> None:
        """A rounded rectangle's outline, the stroke inside the box."""
        u, i = self.unit, width / 2
        px, py = self.at(x + i, y + i)
        radius = max(0.0, min(r - i, (w - width) / 2, (h - width) / 2)) * u
        self.add(Line(rounded_rectangle=(px, py, (w - width) * u, (h - width) * u, radius), width=max(1.0, i * u)))

    def disc(self, cx: float, cy: float, rx: float, ry: float | None = None) -> None:
        ry = rx if ry is None else ry
        u = self.unit
        self.add(SmoothEllipse(pos=self.at(cx - rx, cy - ry), size=(2 * rx * u, 2 * ry * u)))

    def ring(self, cx: float, cy: float, rx: float, ry: float, width: float) -> None:
        """An ellipse's outline, the stroke inside the ellipse (rx, ry)."""
        u, i = self.unit, width / 2
        px, py = self.at(cx - rx + i, cy - ry + i)
        self.add(Line(ellipse=(px, py, 2 * (rx - i) * u, 2 * (ry - i) * u), width=max(1.0, i * u)))

    def poly(self, points: Sequence[Point]) -> None:
        """A filled convex polygon."""
        if len(points) < 3:
            return
        vertices: list[float] = []
        for x, y in points:
            vertices += [*self.at(x, y), 0.0, 0.0]
        self.add(Mesh(vertices=vertices, indices=list(range(len(points))), mode="triangle_fan"))

    def quad(self, corners: Corners) -> None:
        self.add(Quad(points=self.flat(corners)))

    def stroke(self, points: Sequence[Point], width: float, close: bool = False) -> None:
        self.add(
            Line(
                points=self.flat(points), width=max(1.0, width * self.unit / 2), cap="round", joint="round", close=close
            )
        )

    def triangle(self, a: Point, b: Point, c: Point) -> None:
        self.add(SmoothTriangle(points=self.flat((a, b, c))))

    def arrow(self, start: Point, end: Point, width: float, head: float) -> None:
        """A bold arrow from start to end (caps included); the head is `head` long."""
        dx, dy = end[0] - start[0], end[1] - start[1]
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        base = (end[0] - ux * head, end[1] - uy * head)
        tail = (start[0] + ux * width / 2, start[1] + uy * width / 2)  # the round cap ends at start
        self.stroke([tail, (base[0] + ux * head * 0.2, base[1] + uy * head * 0.2)], width)
        half = head * 0.75
        self.triangle(end, (base[0] - uy * half, base[1] + ux * half), (base[0] + uy * half, base[1] - ux * half))

    def text(self, text: str, cx: float, cy: float, w: float, h: float) -> None:
        """Bold text centred at (cx, cy), as large as fits a w x h box; tinted by the current colour."""
        u = self.unit
        label = CoreLabel(text=text, font_size=max(6.0, h * u), bold=True)
        label.refresh()
        texture = label.texture
        if texture is None or not texture.width or not texture.height:
            return
        scale = min(w * u / texture.width, h * u / texture.height)
        tw, th = texture.width * scale, texture.height * scale
        px, py = self.at(cx, cy)
        self.add(Rectangle(texture=texture, pos=(px - tw / 2, py - th / 2), size=(tw, th)))


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

    def _moving(self, pen: _Pen, away: Point) -> None:
        """Start the moving element: drawn at its target, it is `away` from there at the loop's start."""
        pen.add(PushMatrix())
        shift = Translate(0, 0)
        pen.add(shift)
        unit = pen.unit

        def tick(phase: float) -> None:
            k = 1.0 - motion(phase)
            shift.xy = (away[0] * k * unit, away[1] * k * unit)

        self._tickers.append(tick)

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
            pen = _Pen(self.canvas, self.x + (w - unit * aspect) / 2, self.y + (h - unit) / 2, unit)
            self._draw_slot(pen, aspect)
        else:
            side = min(w, h)
            pen = _Pen(self.canvas, self.x + (w - side) / 2, self.y + (h - side) / 2, side)
            getattr(self, f"_draw_{self.kind}")(pen)
        self.on_phase(self, self.phase)

    def _camera_head(self, pen: _Pen) -> None:
        """The top of the kiosk with its camera lens, above the screen."""
        pen.color(self.ink, 0.16)
        pen.box(0.14, 0.80, 0.72, 0.16, 0.05)
        pen.color(self.ink)
        pen.frame(0.14, 0.80, 0.72, 0.16, 0.05, STROKE * 0.6)
        pen.disc(0.5, 0.88, 0.062)
        pen.color(self.mark)
        pen.disc(0.5, 0.88, 0.036)
        pen.color(self.accent)
        pen.disc(0.5, 0.88, 0.014)
        pen.color(self.ink, 0.8)
        pen.disc(0.482, 0.898, 0.008)

    def _beam(self, pen: _Pen, left: Point, right: Point, away: Point) -> None:
        """The camera's view, from the lens down to the top edge of the moving element."""
        pen.color(self.ink, 0.16)
        beam = Quad(points=pen.flat(((0.47, 0.835), (0.53, 0.835), right, left)))
        pen.add(beam)

        def tick(phase: float) -> None:
            k = 1.0 - motion(phase)
            r = (right[0] + away[0] * k, right[1] + away[1] * k)
            lf = (left[0] + away[0] * k, left[1] + away[1] * k)
            beam.points = pen.flat(((0.47, 0.835), (0.53, 0.835), r, lf))

        self._tickers.append(tick)

    def _qr(self, pen: _Pen, x: float, y: float, side: float) -> None:
        module = side / 9
        pen.color(self.mark)
        for row, bits in enumerate(_QR_DATA):
            for col, bit in enumerate(bits):
                if bit == "1":
                    pen.add(
                        Rectangle(
                            pos=pen.at(x + col * module, y + side - (row + 1) * module), size=(module * pen.unit,) * 2
                        )
                    )
        for fx, fy in ((x, y + side - 3 * module), (x + side - 3 * module, y + side - 3 * module), (x, y)):
            pen.color(self.mark)
            pen.add(Rectangle(pos=pen.at(fx, fy), size=(3 * module * pen.unit,) * 2))
            pen.color(self.paper)
            pen.add(Rectangle(pos=pen.at(fx + 0.5 * module, fy + 0.5 * module), size=(2 * module * pen.unit,) * 2))
            pen.color(self.mark)
            pen.add(Rectangle(pos=pen.at(fx + module, fy + module), size=(module * pen.unit,) * 2))

    def _draw_ticket(self, pen: _Pen) -> None:
        away = (0.0, -0.14)
        tx, ty, tw, th = 0.36, 0.17, 0.28, 0.45
        self._camera_head(pen)
        self._beam(pen, (tx + 0.02, ty + th), (tx + tw - 0.02, ty + th), away)
        pen.color(self.accent)
        pen.arrow((0.82, 0.30), (0.82, 0.66), STROKE, 0.09)
        pen.arrow((0.18, 0.30), (0.18, 0.66), STROKE, 0.09)
        self._moving(pen, away)
        pen.color(self.paper)
        pen.box(tx, ty, tw, th, 0.02)
        self._qr(pen, tx + 0.035, ty + th - 0.245, 0.21)
        pen.color(self.mark)
        pen.stroke([(tx + 0.08, ty + 0.12), (tx + tw - 0.08, ty + 0.12)], 0.04)
        pen.color(self.mark, 0.45)
        pen.stroke([(tx + 0.05, ty + 0.05), (tx + tw - 0.05, ty + 0.05)], 0.018)
        pen.add(PopMatrix())

    def _card_front(self, pen: _Pen, x: float, y: float, w: float) -> None:
        """The printed front of an old KTP: header, the NIK line highlighted, text lines, photo on the right."""
        h = w * CARD_RATIO
        pen.color(self.paper)
        pen.box(x, y, w, h, w * 0.05)

        def at(u: float, v: float) -> Point:
            return (x + u * w, y + v * h)

        pen.color(self.mark, 0.5)
        pen.stroke([at(0.25, 0.90), at(0.75, 0.90)], h * 0.05)
        pen.stroke([at(0.33, 0.80), at(0.67, 0.80)], h * 0.05)
        pen.color(self.accent)
        pen.box(*at(0.04, 0.58), 0.64 * w, 0.15 * h, 0.03 * w)
        pen.color(self.mark)
        for i in range(16):
            cx = 0.075 + i * 0.0385
            pen.box(*at(cx, 0.605), 0.024 * w, 0.10 * h, 0.004 * w)
        pen.color(self.mark, 0.45)
        for v, end in ((0.46, 0.62), (0.36, 0.50), (0.26, 0.58), (0.16, 0.42), (0.06, 0.54)):
            pen.stroke([at(0.07, v), at(end, v)], h * 0.045)
        pen.color(self.mark, 0.2)
        pen.box(*at(0.74, 0.20), 0.22 * w, 0.52 * h, 0.02 * w)
        pen.color(self.mark, 0.55)
        pen.disc(*at(0.85, 0.53), 0.045 * w, 0.075 * h)
        pen.poly(
            _clip_convex(
                _ellipse_points(*at(0.85, 0.23), 0.09 * w, 0.2 * h), _rect_points(*at(0.74, 0.20), 0.22 * w, 0.52 * h)
            )
        )
        pen.color(self.mark, 0.45)
        pen.stroke([at(0.76, 0.09), at(0.94, 0.09)], h * 0.035)

    def _draw_card_front(self, pen: _Pen) -> None:
        away = (0.0, -0.13)
        x, y, w = 0.14, 0.16, 0.72
        self._camera_head(pen)
        top = y + w * CARD_RATIO
        self._beam(pen, (x + 0.04, top), (x + w - 0.04, top), away)
        self._moving(pen, away)
        self._card_front(pen, x, y, w)
        pen.add(PopMatrix())

    def _screen_and_reader(self, pen: _Pen) -> Corners:
        """The bottom of the kiosk's screen and the card reader below it; returns the reader's top face."""
        pen.color(self.ink, 0.14)
        pen.box(0.16, 0.74, 0.68, 0.22, 0.04)
        pen.color(self.ink)
        pen.frame(0.16, 0.74, 0.68, 0.22, 0.04, STROKE * 0.6)
        pen.color(self.ink, 0.35)
        for v, end in ((0.885, 0.62), (0.815, 0.72)):
            pen.stroke([(0.28, v), (end, v)], 0.03)
        top: Corners = ((0.06, 0.13), (0.94, 0.13), (0.80, 0.36), (0.20, 0.36))
        pen.color(self.ink, 0.3)
        pen.quad(top)
        pen.color(self.ink, 0.55)
        pen.box(0.06, 0.05, 0.88, 0.085, 0.02)
        pen.color(self.ink)
        pen.stroke([*top, top[0]], STROKE * 0.5)
        return top

    def _flat_card(self, pen: _Pen, card: Corners, new: bool) -> None:
        """A card lying flat, seen from above in perspective: old (photo, text) or new (chip)."""
        pen.color(self.paper)
        pen.quad(card)
        if new:
            pen.color(self.accent)
            pen.quad(_sub_quad(card, 0.08, 0.38, 0.34, 0.80))
            pen.color(self.mark, 0.5)
            for v in (0.52, 0.66):
                pen.stroke(_sub_quad(card, 0.08, v, 0.34, v)[:2], 0.008)
            pen.color(self.mark, 0.35)
            for v, end in ((0.22, 0.85), (0.12, 0.6)):
                pen.stroke(_sub_quad(card, 0.10, v, end, v)[:2], 0.02)
        else:
            pen.color(self.mark, 0.35)
            pen.quad(_sub_quad(card, 0.70, 0.20, 0.92, 0.75))
            pen.color(self.accent)
            pen.quad(_sub_quad(card, 0.06, 0.60, 0.62, 0.74))
            pen.color(self.mark, 0.35)
            for v, end in ((0.44, 0.6), (0.30, 0.48), (0.16, 0.56)):
                pen.stroke(_sub_quad(card, 0.08, v, end, v)[:2], 0.02)

    def _draw_reader(self, pen: _Pen) -> None:
        away = (0.0, 0.2)
        top = self._screen_and_reader(pen)
        pen.color(self.accent)
        pen.stroke([*_sub_quad(top, 0.18, 0.12, 0.82, 0.88), _sub_quad(top, 0.18, 0.12, 0.82, 0.88)[0]], 0.015)
        pen.arrow((0.5, 0.71), (0.5, 0.52), STROKE * 1.2, 0.09)
        self._moving(pen, away)
        card = _sub_quad(top, 0.2, 0.15, 0.8, 0.85)
        self._flat_card(pen, card, new=False)
        pen.add(PopMatrix())

    def _draw_tap_new(self, pen: _Pen) -> None:
        away = (0.0, 0.08)
        top = self._screen_and_reader(pen)
        cx, cy = _bilinear(top, 0.5, 0.95)
        for i, r in enumerate((0.10, 0.17, 0.24)):
            wave = pen.color(self.accent)
            pen.stroke(_arc_points(cx, cy + 0.02, r, 50, 130, 16), STROKE * 0.8)

            def tick(phase: float, wave: Color = wave, i: int = i) -> None:
                near = motion(phase)
                wave.a = self.accent[3] * (0.25 + 0.75 * _smooth(near * 3.0 - i))

            self._tickers.append(tick)
        self._moving(pen, away)
        self._flat_card(pen, _sub_quad(top, 0.22, 0.2, 0.78, 0.9), new=True)
        pen.add(PopMatrix())

    def _draw_face(self, pen: _Pen) -> None:
        cx, cy, rx, ry = 0.5, 0.5, 0.32, 0.43
        inner = _ellipse_points(cx, cy, rx - STROKE * 1.6, ry - STROKE * 1.6)
        pen.color(self.ink, 0.12)
        pen.disc(cx, cy, rx, ry)
        pen.color(self.ink)
        pen.disc(0.5, 0.6, 0.13, 0.165)
        pen.poly(_clip_convex(_ellipse_points(0.5, 0.15, 0.30, 0.24), inner))
        pen.color(self.accent)
        pen.ring(cx, cy, rx, ry, STROKE)

    def _draw_slot(self, pen: _Pen, aspect: float) -> None:
        rows, cols = max(1, int(self.rows)), max(1, int(self.cols))
        x0, y0, x1, y1 = 0.03, 0.03, aspect - 0.03, 0.97
        pen.color(self.ink, 0.12)
        pen.box(x0, y0, x1 - x0, y1 - y0, 0.04)
        pen.color(self.ink)
        pen.frame(x0, y0, x1 - x0, y1 - y0, 0.04, STROKE * 0.5)
        pad, gap = 0.045, 0.018
        cw = (x1 - x0 - 2 * pad - (cols - 1) * gap) / cols
        ch = (y1 - y0 - 2 * pad - (rows - 1) * gap) / rows

        def door(index: int) -> tuple[float, float]:
            row, col = divmod(index, cols)
            return (x0 + pad + col * (cw + gap), y1 - pad - ch - row * (ch + gap))

        chosen = int(self.slot) - 1
        for i in range(rows * cols):
            if i == chosen:
                continue
            dx, dy = door(i)
            pen.color(self.ink, 0.28)
            pen.box(dx, dy, cw, ch, min(cw, ch) * 0.12)
            pen.color(self.ink, 0.7)
            pen.stroke([(dx + cw * 0.8, dy + ch * 0.42), (dx + cw * 0.8, dy + ch * 0.58)], min(cw, ch) * 0.08)
        if not 0 <= chosen < rows * cols:
            return
        dx, dy = door(chosen)
        pen.color(self.accent)
        halo = gap * 0.9
        pen.frame(dx - halo, dy - halo, cw + 2 * halo, ch + 2 * halo, min(cw, ch) * 0.2, gap * 0.6)
        pen.box(dx, dy, cw, ch, min(cw, ch) * 0.12)
        pen.color(self.mark)
        pen.text(str(int(self.slot)), dx + cw / 2, dy + ch / 2, cw * 0.8, ch * 0.62)
        if rows == 1:  # no row to point from: the highlighted door says it
            return
        # the arrow points at the door from the next row (from below for the top row), bobbing towards it
        up = chosen < cols
        tip_y = dy - gap * 0.5 if up else dy + ch + gap * 0.5
        length = min(ch * 0.95, 0.22)
        tail_y = tip_y - length if up else tip_y + length
        sign = 1.0 if up else -1.0
        self._moving(pen, (0.0, -sign * min(0.05, length * 0.25)))
        cxm = dx + cw / 2
        head = min(cw * 0.45, length * 0.5)
        pen.color(self.mark)
        pen.arrow((cxm, tail_y), (cxm, tip_y), STROKE * 1.8, head * 1.15)
        pen.color(self.accent)
        pen.arrow((cxm, tail_y - sign * 0.006), (cxm, tip_y - sign * 0.012), STROKE, head)
        pen.add(PopMatrix())

    def _draw_booking(self, pen: _Pen) -> None:
        x, y, w, h = 0.14, 0.06, 0.72, 0.80
        pen.color(self.paper)
        pen.box(x, y, w, h, 0.05)
        pen.color(self.accent)
        pen.box(x, y + h - 0.17, w, 0.17, 0.05)
        pen.add(Rectangle(pos=pen.at(x, y + h - 0.17), size=(w * pen.unit, 0.08 * pen.unit)))
        for rx in (0.32, 0.68):
            pen.color(self.mark)
            pen.box(rx - 0.03, 0.80, 0.06, 0.15, 0.03)
            pen.color(self.ink)
            pen.box(rx - 0.015, 0.82, 0.03, 0.11, 0.015)
        cols, rows = 5, 4
        cw, ch = 0.098, 0.10
        for r in range(rows):
            for c in range(cols):
                cx = x + 0.06 + c * (cw + 0.024)
                cy = y + 0.05 + (rows - 1 - r) * (ch + 0.035)
                if (r, c) == (1, 3):
                    pen.color(self.accent)
                    pen.box(cx - 0.012, cy - 0.012, cw + 0.024, ch + 0.024, 0.03)
                    pen.color(self.mark)
                    pen.stroke([(cx + 0.02, cy + 0.05), (cx + 0.045, cy + 0.022), (cx + 0.082, cy + 0.082)], 0.022)
                else:
                    pen.color(self.mark, 0.22)
                    pen.box(cx, cy, cw, ch, 0.015)

    def _draw_status(self, pen: _Pen) -> None:
        page = [(0.18, 0.06), (0.72, 0.06), (0.72, 0.76), (0.58, 0.92), (0.18, 0.92)]
        pen.color(self.paper)
        pen.poly(page)
        pen.color(self.mark, 0.3)
        pen.poly([(0.58, 0.76), (0.72, 0.76), (0.58, 0.92)])
        pen.color(self.mark, 0.45)
        for v, end in ((0.80, 0.48), (0.68, 0.62), (0.57, 0.55), (0.46, 0.62), (0.35, 0.40)):
            pen.stroke([(0.26, v), (end, v)], 0.035)
        pen.color(self.mark)
        pen.disc(0.70, 0.24, 0.19)
        pen.color(self.accent)
        pen.disc(0.70, 0.24, 0.165)
        pen.color(self.mark)
        pen.disc(0.70, 0.325, 0.028)
        pen.stroke([(0.70, 0.15), (0.70, 0.255)], 0.055)

    def _draw_help(self, pen: _Pen) -> None:
        pen.color(self.ink)
        pen.disc(0.34, 0.56, 0.105)
        pen.poly(_clip_convex(_ellipse_points(0.34, 0.27, 0.21, 0.19), _rect_points(0.0, 0.33, 1.0, 0.67)))
        pen.color(self.accent)
        pen.box(0.05, 0.30, 0.90, 0.06, 0.02)
        pen.color(self.ink, 0.25)
        pen.box(0.09, 0.05, 0.82, 0.25, 0.015)
        pen.color(self.accent)
        pen.disc(0.70, 0.71, 0.22)
        pen.triangle((0.51, 0.64), (0.60, 0.54), (0.46, 0.50))
        pen.color(self.mark)
        self._question_mark(pen, 0.70, 0.71, 0.22)

    def _question_mark(self, pen: _Pen, cx: float, cy: float, size: float) -> None:
        r = size * 0.3
        arc = _arc_points(cx, cy + size * 0.22, r, 160, -60, 16)
        stem_end = (cx, cy - size * 0.12)
        pen.stroke([*arc, (cx, arc[-1][1] - r * 0.4), stem_end], size * 0.17)
        pen.disc(cx, cy - size * 0.42, size * 0.1)

    def _draw_refused(self, pen: _Pen) -> None:
        pen.color(self.accent)
        pen.disc(0.5, 0.5, 0.44)
        pen.color(self.mark)
        pen.ring(0.5, 0.5, 0.38, 0.38, 0.025)
        pen.stroke([(0.5, 0.43), (0.5, 0.72)], 0.11)
        pen.disc(0.5, 0.28, 0.06)

    def _draw_done(self, pen: _Pen) -> None:
        pen.color(self.good)
        pen.disc(0.5, 0.5, 0.44)
        pen.color(self.ink)
        pen.stroke([(0.29, 0.51), (0.44, 0.36), (0.72, 0.65)], 0.095)


def _rect_points(x: float, y: float, w: float, h: float) -> list[Point]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


class CameraGuide(Widget):
    """Drawn over the live camera image (same size, e.g. both in a RelativeLayout): where to hold the thing,
    the liveness challenge and a hint in a banner at the bottom.

    `direction` is in screen terms: the camera view is mirrored, so screen left is the resident's own left.
    """

    guide = OptionProperty("", options=["", "qr", "face", "card"])
    direction = OptionProperty("", options=["", "left", "right", "blink"])
    hint = StringProperty("")
    ok = BooleanProperty(False)
    font_size = NumericProperty("6mm")
    color = ListProperty(list(INK))
    ok_color = ListProperty(list(GOOD))
    accent = ListProperty(list(ACCENT))
    shade = ListProperty([0.0, 0.0, 0.0, 0.55])

    def __init__(self, **kwargs: object) -> None:
        self._trigger = Clock.create_trigger(self._redraw, -1)
        super().__init__(**kwargs)
        for name in ("pos", "size", "guide", "direction", "hint", "ok", "font_size", "color", "ok_color", "accent"):
            self.fbind(name, self._trigger)
        self.fbind("shade", self._trigger)
        self._trigger()

    def _redraw(self, *_args: object) -> None:
        self.canvas.clear()
        w, h = float(self.width), float(self.height)
        if w < 8 or h < 8:
            return
        pen = _Pen(self.canvas, self.x, self.y, 1.0)
        banner = self._banner(pen, w, h) if self.hint else 0.0
        gx, gy, gw, gh = 0.0, banner, w, h - banner
        if gh < 8:
            return
        line = self.ok_color if self.ok else self.color
        thick = max(4.0, min(gw, gh) * 0.025)
        cx, cy = gx + gw / 2, gy + gh / 2
        if self.guide == "qr":
            side = min(gw, gh) * 0.72
            arm = side * 0.24
            for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                corner = (cx + sx * side / 2, cy + sy * side / 2)
                pts = [(corner[0], corner[1] - sy * arm), corner, (corner[0] - sx * arm, corner[1])]
                self._shaded(pen, pts, thick, line)
        elif self.guide == "face":
            ry = gh * 0.42
            rx = min(ry * 0.76, gw * 0.3)
            pts = _ellipse_points(cx, cy, rx, ry, 96)
            self._shaded(pen, pts, thick, line, close=True)
            self._challenge(pen, cx, cy, rx, gx, gw, gh)
        elif self.guide == "card":
            cw = min(gw * 0.86, gh * 0.86 / CARD_RATIO)
            ch = cw * CARD_RATIO
            r = cw * 0.05
            pen.color(self.shade)
            pen.add(Line(rounded_rectangle=(cx - cw / 2, cy - ch / 2, cw, ch, r), width=thick * 0.5 + 2))
            pen.color(line)
            pen.add(Line(rounded_rectangle=(cx - cw / 2, cy - ch / 2, cw, ch, r), width=thick * 0.5))

    def _shaded(
        self, pen: _Pen, pts: Sequence[Point], thick: float, rgba: Sequence[float], close: bool = False
    ) -> None:
        """A stroke with a dark edge so it reads on any camera image."""
        pen.color(self.shade)
        pen.stroke(pts, thick + 4, close=close)
        pen.color(rgba)
        pen.stroke(pts, thick, close=close)

    def _challenge(self, pen: _Pen, cx: float, cy: float, rx: float, gx: float, gw: float, gh: float) -> None:
        if not self.direction:
            return
        gap = (gw - 2 * rx) / 2  # free room beside the oval on each side
        size = min(gh * 0.3, max(gap * 0.8, rx * 0.6))
        inset = gap / 2 if gap > size * 1.1 else rx * 0.05 + size / 2 - gap
        sides = {"left": (-1,), "right": (1,), "blink": (-1, 1)}[self.direction]
        rgba = self.ok_color if self.ok else self.accent
        for side in sides:
            sx = cx + side * (rx + gap) - side * inset
            sx = min(gx + gw - size / 2 - 4, max(gx + size / 2 + 4, sx))
            if self.direction == "blink":
                self._eye(pen, sx, cy, size, rgba)
            else:
                start, end = (sx - side * size / 2, cy), (sx + side * size / 2, cy)
                pen.color(self.shade)
                pen.arrow(start, end, size * 0.26 + 4, size * 0.55 + 3)
                pen.color(rgba)
                pen.arrow((start[0] + side * 2, cy), (end[0] - side * 2, cy), size * 0.26, size * 0.55)

    def _eye(self, pen: _Pen, cx: float, cy: float, size: float, rgba: Sequence[float]) -> None:
        half_w, half_h = size / 2 - 2, size * 0.28
        n = 16
        upper = [(cx - half_w + 2 * half_w * i / n, cy + half_h * math.sin(math.pi * i / n)) for i in range(n + 1)]
        lower = [(cx + half_w - 2 * half_w * i / n, cy - half_h * math.sin(math.pi * i / n)) for i in range(1, n)]
        almond = upper + lower
        pen.color(self.shade)
        pen.stroke(almond, size * 0.1 + 4, close=True)
        pen.color(rgba)
        pen.poly(almond)
        pen.color(self.shade)
        pen.disc(cx, cy, half_h * 0.75)
        pen.color(rgba)
        pen.disc(cx + half_h * 0.2, cy + half_h * 0.2, half_h * 0.18)

    def _banner(self, pen: _Pen, w: float, h: float) -> float:
        """The hint in a dark band across the bottom; returns the band's height."""
        size = float(self.font_size)
        pad = size * 0.4
        label = CoreLabel(
            text=self.hint, font_size=size, bold=True, halign="center", text_size=(max(1.0, w - 2 * pad), None)
        )
        label.refresh()
        texture = label.texture
        if texture is None or not texture.width:
            return 0.0
        tw, th = float(texture.width), float(texture.height)
        band = min(h * 0.45, th + 2 * pad)
        scale = min(1.0, (band - 2 * pad) / th, (w - 2 * pad) / tw) if band > 2 * pad else 0.0
        pen.color(self.shade)
        pen.add(Rectangle(pos=pen.at(0, 0), size=(w, band)))
        if scale > 0:
            pen.color(self.color)
            tw, th = tw * scale, th * scale
            pen.add(Rectangle(texture=texture, pos=pen.at((w - tw) / 2, (band - th) / 2), size=(tw, th)))
        return band


DARK_BELOW = 50.0  # mean luminance (0..255) under which the picture is too dark
BRIGHT_ABOVE = 225.0  # mean luminance over which it is washed out
SATURATED = 250  # a pixel this bright has lost its detail
SATURATED_SHARE = 0.5  # ... and when more than this share of pixels have, the frame is washed out
MOVING_ABOVE = 18.0  # mean absolute luminance change from the previous frame: the thing is moving
_SAMPLES = 80  # frames are sampled down to about this many pixels across


def _luma(frame: np.ndarray) -> np.ndarray:
    step = max(1, frame.shape[1] // _SAMPLES)
    small = frame[::step, ::step].astype(np.float32)
    if small.ndim == 3 and small.shape[2] >= 3:
        return small[..., 0] * 0.114 + small[..., 1] * 0.587 + small[..., 2] * 0.299
    return small.reshape(small.shape[0], small.shape[1], -1)[..., 0]


def frame_hint(frame: np.ndarray | None, previous: np.ndarray | None) -> str:
    """A live hint on a BGR (or grey) camera frame: "dark", "bright", "still" (it moves: hold still) or ""."""
    if frame is None or frame.ndim < 2 or frame.size == 0:
        return ""
    luma = _luma(frame)
    mean = float(luma.mean())
    if mean < DARK_BELOW:
        return "dark"
    if mean > BRIGHT_ABOVE or float((luma >= SATURATED).mean()) > SATURATED_SHARE:
        return "bright"
    if previous is None or previous.shape != frame.shape:
        return ""
    moved = float(np.abs(luma - _luma(previous)).mean())
    return "still" if moved > MOVING_ABOVE else ""

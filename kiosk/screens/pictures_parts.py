"""The parts several pictures share (the kiosk's camera head and card reader, a QR code, cards), drawn in
the colours of a Picture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kivy.graphics import PushMatrix, Quad, Rectangle, Translate

from kiosk.screens.pictures_pen import (
    CARD_RATIO,
    STROKE,
    Corners,
    Pen,
    Point,
    arc_points,
    clip_convex,
    ellipse_points,
    motion,
    rect_points,
    sub_quad,
)

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


class Look(Protocol):
    """What the drawing routines read from a Picture: its colours and, for "slot", the vault and its door."""

    ink: Sequence[float]
    accent: Sequence[float]
    paper: Sequence[float]
    mark: Sequence[float]
    good: Sequence[float]
    slot: float
    rows: float
    cols: float


def moving(pen: Pen, away: Point) -> None:
    """Start the moving element (end it with PopMatrix): drawn at its target, it is `away` from there at the
    loop's start."""
    pen.add(PushMatrix())
    shift = Translate(0, 0)
    pen.add(shift)
    unit = pen.unit

    def tick(phase: float) -> None:
        k = 1.0 - motion(phase)
        shift.xy = (away[0] * k * unit, away[1] * k * unit)

    pen.tickers.append(tick)


def camera_head(pen: Pen, pic: Look) -> None:
    """The top of the kiosk with its camera lens, above the screen."""
    pen.color(pic.ink, 0.16)
    pen.box(0.14, 0.80, 0.72, 0.16, 0.05)
    pen.color(pic.ink)
    pen.frame(0.14, 0.80, 0.72, 0.16, 0.05, STROKE * 0.6)
    pen.disc(0.5, 0.88, 0.062)
    pen.color(pic.mark)
    pen.disc(0.5, 0.88, 0.036)
    pen.color(pic.accent)
    pen.disc(0.5, 0.88, 0.014)
    pen.color(pic.ink, 0.8)
    pen.disc(0.482, 0.898, 0.008)


def beam(pen: Pen, pic: Look, left: Point, right: Point, away: Point) -> None:
    """The camera's view, from the lens down to the top edge of the moving element."""
    pen.color(pic.ink, 0.16)
    view = Quad(points=pen.flat(((0.47, 0.835), (0.53, 0.835), right, left)))
    pen.add(view)

    def tick(phase: float) -> None:
        k = 1.0 - motion(phase)
        r = (right[0] + away[0] * k, right[1] + away[1] * k)
        lf = (left[0] + away[0] * k, left[1] + away[1] * k)
        view.points = pen.flat(((0.47, 0.835), (0.53, 0.835), r, lf))

    pen.tickers.append(tick)


def qr(pen: Pen, pic: Look, x: float, y: float, side: float) -> None:
    module = side / 9
    pen.color(pic.mark)
    for row, bits in enumerate(_QR_DATA):
        for col, bit in enumerate(bits):
            if bit == "1":
                pen.add(
                    Rectangle(
                        pos=pen.at(x + col * module, y + side - (row + 1) * module), size=(module * pen.unit,) * 2
                    )
                )
    for fx, fy in ((x, y + side - 3 * module), (x + side - 3 * module, y + side - 3 * module), (x, y)):
        pen.color(pic.mark)
        pen.add(Rectangle(pos=pen.at(fx, fy), size=(3 * module * pen.unit,) * 2))
        pen.color(pic.paper)
        pen.add(Rectangle(pos=pen.at(fx + 0.5 * module, fy + 0.5 * module), size=(2 * module * pen.unit,) * 2))
        pen.color(pic.mark)
        pen.add(Rectangle(pos=pen.at(fx + module, fy + module), size=(module * pen.unit,) * 2))


def card_front(pen: Pen, pic: Look, x: float, y: float, w: float) -> None:
    """The printed front of an old KTP: header, the NIK line highlighted, text lines, photo on the right."""
    h = w * CARD_RATIO
    pen.color(pic.paper)
    pen.box(x, y, w, h, w * 0.05)

    def at(u: float, v: float) -> Point:
        return (x + u * w, y + v * h)

    pen.color(pic.mark, 0.5)
    pen.stroke([at(0.25, 0.90), at(0.75, 0.90)], h * 0.05)
    pen.stroke([at(0.33, 0.80), at(0.67, 0.80)], h * 0.05)
    pen.color(pic.accent)
    pen.box(*at(0.04, 0.58), 0.64 * w, 0.15 * h, 0.03 * w)
    pen.color(pic.mark)
    for i in range(16):
        cx = 0.075 + i * 0.0385
        pen.box(*at(cx, 0.605), 0.024 * w, 0.10 * h, 0.004 * w)
    pen.color(pic.mark, 0.45)
    for v, end in ((0.46, 0.62), (0.36, 0.50), (0.26, 0.58), (0.16, 0.42), (0.06, 0.54)):
        pen.stroke([at(0.07, v), at(end, v)], h * 0.045)
    pen.color(pic.mark, 0.2)
    pen.box(*at(0.74, 0.20), 0.22 * w, 0.52 * h, 0.02 * w)
    pen.color(pic.mark, 0.55)
    pen.disc(*at(0.85, 0.53), 0.045 * w, 0.075 * h)
    pen.poly(
        clip_convex(
            ellipse_points(*at(0.85, 0.23), 0.09 * w, 0.2 * h), rect_points(*at(0.74, 0.20), 0.22 * w, 0.52 * h)
        )
    )
    pen.color(pic.mark, 0.45)
    pen.stroke([at(0.76, 0.09), at(0.94, 0.09)], h * 0.035)


def screen_and_reader(pen: Pen, pic: Look) -> Corners:
    """The bottom of the kiosk's screen and the card reader below it; returns the reader's top face."""
    pen.color(pic.ink, 0.14)
    pen.box(0.16, 0.74, 0.68, 0.22, 0.04)
    pen.color(pic.ink)
    pen.frame(0.16, 0.74, 0.68, 0.22, 0.04, STROKE * 0.6)
    pen.color(pic.ink, 0.35)
    for v, end in ((0.885, 0.62), (0.815, 0.72)):
        pen.stroke([(0.28, v), (end, v)], 0.03)
    top: Corners = ((0.06, 0.13), (0.94, 0.13), (0.80, 0.36), (0.20, 0.36))
    pen.color(pic.ink, 0.3)
    pen.quad(top)
    pen.color(pic.ink, 0.55)
    pen.box(0.06, 0.05, 0.88, 0.085, 0.02)
    pen.color(pic.ink)
    pen.stroke([*top, top[0]], STROKE * 0.5)
    return top


def flat_card(pen: Pen, pic: Look, card: Corners, new: bool) -> None:
    """A card lying flat, seen from above in perspective: old (photo, text) or new (chip)."""
    pen.color(pic.paper)
    pen.quad(card)
    if new:
        pen.color(pic.accent)
        pen.quad(sub_quad(card, 0.08, 0.38, 0.34, 0.80))
        pen.color(pic.mark, 0.5)
        for v in (0.52, 0.66):
            pen.stroke(sub_quad(card, 0.08, v, 0.34, v)[:2], 0.008)
        pen.color(pic.mark, 0.35)
        for v, end in ((0.22, 0.85), (0.12, 0.6)):
            pen.stroke(sub_quad(card, 0.10, v, end, v)[:2], 0.02)
    else:
        pen.color(pic.mark, 0.35)
        pen.quad(sub_quad(card, 0.70, 0.20, 0.92, 0.75))
        pen.color(pic.accent)
        pen.quad(sub_quad(card, 0.06, 0.60, 0.62, 0.74))
        pen.color(pic.mark, 0.35)
        for v, end in ((0.44, 0.6), (0.30, 0.48), (0.16, 0.56)):
            pen.stroke(sub_quad(card, 0.08, v, end, v)[:2], 0.02)


def question_mark(pen: Pen, cx: float, cy: float, size: float) -> None:
    r = size * 0.3
    arc = arc_points(cx, cy + size * 0.22, r, 160, -60, 16)
    stem_end = (cx, cy - size * 0.12)
    pen.stroke([*arc, (cx, arc[-1][1] - r * 0.4), stem_end], size * 0.17)
    pen.disc(cx, cy - size * 0.42, size * 0.1)

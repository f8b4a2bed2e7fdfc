"""One drawing routine per kind of Picture, in the picture's unit square ("slot" in a box `aspect` wide)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.graphics import Color, PopMatrix, Rectangle

from kiosk.screens.pictures_parts import (
    Look,
    beam,
    camera_head,
    card_front,
    flat_card,
    moving,
    qr,
    question_mark,
    screen_and_reader,
)
from kiosk.screens.pictures_pen import (
    CARD_RATIO,
    STROKE,
    Pen,
    arc_points,
    bilinear,
    clip_convex,
    ellipse_points,
    motion,
    rect_points,
    smooth,
    sub_quad,
)


def draw_ticket(pen: Pen, pic: Look) -> None:
    away = (0.0, -0.14)
    tx, ty, tw, th = 0.36, 0.17, 0.28, 0.45
    camera_head(pen, pic)
    beam(pen, pic, (tx + 0.02, ty + th), (tx + tw - 0.02, ty + th), away)
    pen.color(pic.accent)
    pen.arrow((0.82, 0.30), (0.82, 0.66), STROKE, 0.09)
    pen.arrow((0.18, 0.30), (0.18, 0.66), STROKE, 0.09)
    moving(pen, away)
    pen.color(pic.paper)
    pen.box(tx, ty, tw, th, 0.02)
    qr(pen, pic, tx + 0.035, ty + th - 0.245, 0.21)
    pen.color(pic.mark)
    pen.stroke([(tx + 0.08, ty + 0.12), (tx + tw - 0.08, ty + 0.12)], 0.04)
    pen.color(pic.mark, 0.45)
    pen.stroke([(tx + 0.05, ty + 0.05), (tx + tw - 0.05, ty + 0.05)], 0.018)
    pen.add(PopMatrix())


def draw_card_front(pen: Pen, pic: Look) -> None:
    away = (0.0, -0.13)
    x, y, w = 0.14, 0.16, 0.72
    camera_head(pen, pic)
    top = y + w * CARD_RATIO
    beam(pen, pic, (x + 0.04, top), (x + w - 0.04, top), away)
    moving(pen, away)
    card_front(pen, pic, x, y, w)
    pen.add(PopMatrix())


def draw_reader(pen: Pen, pic: Look) -> None:
    away = (0.0, 0.2)
    top = screen_and_reader(pen, pic)
    pen.color(pic.accent)
    pen.stroke([*sub_quad(top, 0.18, 0.12, 0.82, 0.88), sub_quad(top, 0.18, 0.12, 0.82, 0.88)[0]], 0.015)
    pen.arrow((0.5, 0.71), (0.5, 0.52), STROKE * 1.2, 0.09)
    moving(pen, away)
    card = sub_quad(top, 0.2, 0.15, 0.8, 0.85)
    flat_card(pen, pic, card, new=False)
    pen.add(PopMatrix())


def draw_tap_new(pen: Pen, pic: Look) -> None:
    away = (0.0, 0.08)
    top = screen_and_reader(pen, pic)
    cx, cy = bilinear(top, 0.5, 0.95)
    for i, r in enumerate((0.10, 0.17, 0.24)):
        wave = pen.color(pic.accent)
        pen.stroke(arc_points(cx, cy + 0.02, r, 50, 130, 16), STROKE * 0.8)

        def tick(phase: float, wave: Color = wave, i: int = i) -> None:
            near = motion(phase)
            wave.a = pic.accent[3] * (0.25 + 0.75 * smooth(near * 3.0 - i))

        pen.tickers.append(tick)
    moving(pen, away)
    flat_card(pen, pic, sub_quad(top, 0.22, 0.2, 0.78, 0.9), new=True)
    pen.add(PopMatrix())


def draw_face(pen: Pen, pic: Look) -> None:
    cx, cy, rx, ry = 0.5, 0.5, 0.32, 0.43
    inner = ellipse_points(cx, cy, rx - STROKE * 1.6, ry - STROKE * 1.6)
    pen.color(pic.ink, 0.12)
    pen.disc(cx, cy, rx, ry)
    pen.color(pic.ink)
    pen.disc(0.5, 0.6, 0.13, 0.165)
    pen.poly(clip_convex(ellipse_points(0.5, 0.15, 0.30, 0.24), inner))
    pen.color(pic.accent)
    pen.ring(cx, cy, rx, ry, STROKE)


def draw_slot(pen: Pen, pic: Look, aspect: float) -> None:
    rows, cols = max(1, int(pic.rows)), max(1, int(pic.cols))
    x0, y0, x1, y1 = 0.03, 0.03, aspect - 0.03, 0.97
    pen.color(pic.ink, 0.12)
    pen.box(x0, y0, x1 - x0, y1 - y0, 0.04)
    pen.color(pic.ink)
    pen.frame(x0, y0, x1 - x0, y1 - y0, 0.04, STROKE * 0.5)
    pad, gap = 0.045, 0.018
    cw = (x1 - x0 - 2 * pad - (cols - 1) * gap) / cols
    ch = (y1 - y0 - 2 * pad - (rows - 1) * gap) / rows

    def door(index: int) -> tuple[float, float]:
        row, col = divmod(index, cols)
        return (x0 + pad + col * (cw + gap), y1 - pad - ch - row * (ch + gap))

    chosen = int(pic.slot) - 1
    for i in range(rows * cols):
        if i == chosen:
            continue
        dx, dy = door(i)
        pen.color(pic.ink, 0.28)
        pen.box(dx, dy, cw, ch, min(cw, ch) * 0.12)
        pen.color(pic.ink, 0.7)
        pen.stroke([(dx + cw * 0.8, dy + ch * 0.42), (dx + cw * 0.8, dy + ch * 0.58)], min(cw, ch) * 0.08)
    if not 0 <= chosen < rows * cols:
        return
    dx, dy = door(chosen)
    pen.color(pic.accent)
    halo = gap * 0.9
    pen.frame(dx - halo, dy - halo, cw + 2 * halo, ch + 2 * halo, min(cw, ch) * 0.2, gap * 0.6)
    pen.box(dx, dy, cw, ch, min(cw, ch) * 0.12)
    pen.color(pic.mark)
    pen.text(str(int(pic.slot)), dx + cw / 2, dy + ch / 2, cw * 0.8, ch * 0.62)
    if rows == 1:  # no row to point from: the highlighted door says it
        return
    # the arrow points at the door from the next row (from below for the top row), bobbing towards it
    up = chosen < cols
    tip_y = dy - gap * 0.5 if up else dy + ch + gap * 0.5
    length = min(ch * 0.95, 0.22)
    tail_y = tip_y - length if up else tip_y + length
    sign = 1.0 if up else -1.0
    moving(pen, (0.0, -sign * min(0.05, length * 0.25)))
    cxm = dx + cw / 2
    head = min(cw * 0.45, length * 0.5)
    pen.color(pic.mark)
    pen.arrow((cxm, tail_y), (cxm, tip_y), STROKE * 1.8, head * 1.15)
    pen.color(pic.accent)
    pen.arrow((cxm, tail_y - sign * 0.006), (cxm, tip_y - sign * 0.012), STROKE, head)
    pen.add(PopMatrix())


def draw_booking(pen: Pen, pic: Look) -> None:
    x, y, w, h = 0.14, 0.06, 0.72, 0.80
    pen.color(pic.paper)
    pen.box(x, y, w, h, 0.05)
    pen.color(pic.accent)
    pen.box(x, y + h - 0.17, w, 0.17, 0.05)
    pen.add(Rectangle(pos=pen.at(x, y + h - 0.17), size=(w * pen.unit, 0.08 * pen.unit)))
    for rx in (0.32, 0.68):
        pen.color(pic.mark)
        pen.box(rx - 0.03, 0.80, 0.06, 0.15, 0.03)
        pen.color(pic.ink)
        pen.box(rx - 0.015, 0.82, 0.03, 0.11, 0.015)
    cols, rows = 5, 4
    cw, ch = 0.098, 0.10
    for r in range(rows):
        for c in range(cols):
            cx = x + 0.06 + c * (cw + 0.024)
            cy = y + 0.05 + (rows - 1 - r) * (ch + 0.035)
            if (r, c) == (1, 3):
                pen.color(pic.accent)
                pen.box(cx - 0.012, cy - 0.012, cw + 0.024, ch + 0.024, 0.03)
                pen.color(pic.mark)
                pen.stroke([(cx + 0.02, cy + 0.05), (cx + 0.045, cy + 0.022), (cx + 0.082, cy + 0.082)], 0.022)
            else:
                pen.color(pic.mark, 0.22)
                pen.box(cx, cy, cw, ch, 0.015)


def draw_status(pen: Pen, pic: Look) -> None:
    page = [(0.18, 0.06), (0.72, 0.06), (0.72, 0.76), (0.58, 0.92), (0.18, 0.92)]
    pen.color(pic.paper)
    pen.poly(page)
    pen.color(pic.mark, 0.3)
    pen.poly([(0.58, 0.76), (0.72, 0.76), (0.58, 0.92)])
    pen.color(pic.mark, 0.45)
    for v, end in ((0.80, 0.48), (0.68, 0.62), (0.57, 0.55), (0.46, 0.62), (0.35, 0.40)):
        pen.stroke([(0.26, v), (end, v)], 0.035)
    pen.color(pic.mark)
    pen.disc(0.70, 0.24, 0.19)
    pen.color(pic.accent)
    pen.disc(0.70, 0.24, 0.165)
    pen.color(pic.mark)
    pen.disc(0.70, 0.325, 0.028)
    pen.stroke([(0.70, 0.15), (0.70, 0.255)], 0.055)


def draw_help(pen: Pen, pic: Look) -> None:
    pen.color(pic.ink)
    pen.disc(0.34, 0.56, 0.105)
    pen.poly(clip_convex(ellipse_points(0.34, 0.27, 0.21, 0.19), rect_points(0.0, 0.33, 1.0, 0.67)))
    pen.color(pic.accent)
    pen.box(0.05, 0.30, 0.90, 0.06, 0.02)
    pen.color(pic.ink, 0.25)
    pen.box(0.09, 0.05, 0.82, 0.25, 0.015)
    pen.color(pic.accent)
    pen.disc(0.70, 0.71, 0.22)
    pen.triangle((0.51, 0.64), (0.60, 0.54), (0.46, 0.50))
    pen.color(pic.mark)
    question_mark(pen, 0.70, 0.71, 0.22)


def draw_refused(pen: Pen, pic: Look) -> None:
    pen.color(pic.accent)
    pen.disc(0.5, 0.5, 0.44)
    pen.color(pic.mark)
    pen.ring(0.5, 0.5, 0.38, 0.38, 0.025)
    pen.stroke([(0.5, 0.43), (0.5, 0.72)], 0.11)
    pen.disc(0.5, 0.28, 0.06)


def draw_done(pen: Pen, pic: Look) -> None:
    pen.color(pic.good)
    pen.disc(0.5, 0.5, 0.44)
    pen.color(pic.ink)
    pen.stroke([(0.29, 0.51), (0.44, 0.36), (0.72, 0.65)], 0.095)


# every kind but "slot", which needs its aspect (see Picture._redraw)
DRAW: dict[str, Callable[[Pen, Look], None]] = {
    "ticket": draw_ticket,
    "reader": draw_reader,
    "card_front": draw_card_front,
    "face": draw_face,
    "tap_new": draw_tap_new,
    "booking": draw_booking,
    "status": draw_status,
    "help": draw_help,
    "refused": draw_refused,
    "done": draw_done,
}

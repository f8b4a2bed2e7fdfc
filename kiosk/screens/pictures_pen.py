"""The drawing kit of the pictures and the camera guide: colours, geometry helpers and the Pen that adds
canvas instructions in picture units."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from kivy.core.text import Label as CoreLabel
from kivy.graphics import (
    Color,
    InstructionGroup,
    Line,
    Mesh,
    Quad,
    Rectangle,
    SmoothEllipse,
    SmoothRoundedRectangle,
    SmoothTriangle,
)

Point = tuple[float, float]
Corners = tuple[Point, Point, Point, Point]  # bottom left, bottom right, top right, top left

INK = (0.93, 0.95, 0.99, 1.0)  # outlines and devices on the dark blue background
ACCENT = (0.98, 0.78, 0.25, 1.0)  # what to look at: the target, the arrow, the highlighted slot
PAPER = (0.99, 0.97, 0.90, 1.0)  # things the resident holds: ticket, cards, documents
MARK = (0.05, 0.14, 0.27, 1.0)  # print on paper and on the accent colour
GOOD = (0.30, 0.80, 0.45, 1.0)  # done, found

STROKE = 0.035  # bold outline thickness, in units of the picture's side
CARD_RATIO = 54.0 / 85.6  # ID-1 card: height over width


def smooth(t: float) -> float:
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


def motion(phase: float) -> float:
    """How far along its path the moving element is (1 = at the target) at `phase` in [0, 1)."""
    if phase < 0.45:
        return smooth(phase / 0.45)
    if phase < 0.8:
        return 1.0
    return 1.0 - smooth((phase - 0.8) / 0.2)


def bilinear(corners: Corners, u: float, v: float) -> Point:
    """The point at (u, v) of a quadrilateral, (0, 0) its bottom left and (1, 1) its top right."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = corners
    bottom = (ax + (bx - ax) * u, ay + (by - ay) * u)
    top = (dx + (cx - dx) * u, dy + (cy - dy) * u)
    return (bottom[0] + (top[0] - bottom[0]) * v, bottom[1] + (top[1] - bottom[1]) * v)


def sub_quad(corners: Corners, u0: float, v0: float, u1: float, v1: float) -> Corners:
    return (
        bilinear(corners, u0, v0),
        bilinear(corners, u1, v0),
        bilinear(corners, u1, v1),
        bilinear(corners, u0, v1),
    )


def ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 48) -> list[Point]:
    return [(cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n)) for i in range(n)]


def arc_points(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 24) -> list[Point]:
    """Points on a circle from angle a0 to a1 (degrees, counter-clockwise from the +x axis)."""
    return [
        (
            cx + r * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + r * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def clip_convex(subject: list[Point], clip: list[Point]) -> list[Point]:
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


def rect_points(x: float, y: float, w: float, h: float) -> list[Point]:
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


class Pen:
    """Adds canvas instructions in picture units: (x0, y0) is the origin and one unit is `unit` pixels.

    `tickers` collects what the drawing moves with the loop's phase (see Picture.on_phase).
    """

    def __init__(self, canvas: InstructionGroup, x0: float, y0: float, unit: float) -> None:
        self.canvas = canvas
        self.x0, self.y0, self.unit = x0, y0, unit
        self.tickers: list[Callable[[float], None]] = []

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

"""The overlay drawn over the live camera image (CameraGuide) and a cheap live hint on camera frames.

Nothing here is user text: the screens pass translated hints to the guide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Line, Rectangle
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.screens.pictures_pen import ACCENT, CARD_RATIO, GOOD, INK, Pen, Point, ellipse_points


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
        pen = Pen(self.canvas, self.x, self.y, 1.0)
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
            rx = min(gh * 0.42 * 0.76, gw * 0.3)  # a face's proportions in a view of any shape
            ry = rx / 0.76
            pts = ellipse_points(cx, cy, rx, ry, 96)
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

    def _shaded(self, pen: Pen, pts: Sequence[Point], thick: float, rgba: Sequence[float], close: bool = False) -> None:
        """A stroke with a dark edge so it reads on any camera image."""
        pen.color(self.shade)
        pen.stroke(pts, thick + 4, close=close)
        pen.color(rgba)
        pen.stroke(pts, thick, close=close)

    def _challenge(self, pen: Pen, cx: float, cy: float, rx: float, gx: float, gw: float, gh: float) -> None:
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

    def _eye(self, pen: Pen, cx: float, cy: float, size: float, rgba: Sequence[float]) -> None:
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

    def _banner(self, pen: Pen, w: float, h: float) -> float:
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

"""The look of the screens in real millimetres on the configured panel: text and touch sizes, spacing,
orientation and colours, with the accessible mode (larger text, high contrast).

kv rules bind to the one `look` object (`font_size: look.body`), so a change of panel, orientation or mode
re-lays every screen at once. Kivy's own `mm` assumes 96 dpi; these sizes come from [display].
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.properties import AliasProperty, BooleanProperty, NumericProperty

from kiosk.config.screen import DisplayConfig

# Roboto (Kivy's font): capital height 1456 of 2048 units per em. ADA 707.7.2 / EN 301 549 ask for
# characters at least 4.8 mm high, measured on a capital I, so the smallest font size is 4.8 / 0.711 mm.
CAP_HEIGHT_EM = 1456 / 2048
MIN_TEXT_MM = 4.8
MIN_TOUCH_MM = 15.0
BODY_MM = 6.9  # body text: cap height 4.9 mm
TITLE_MM = 8.0
TITLE_COMPACT_MM = 7.2  # on the 7" panels (under 100 mm on the short side): titles only a little larger
TOUCH_MM = 16.0  # touch targets: at least 15 mm on every side
GAP_MM = 2.0
PAD_MM = 3.0
LARGE = 1.25  # accessible mode: text this much larger ...
LARGE_COMPACT = 1.12  # ... and on a 7" panel, whose 86 mm must still hold an instruction and two buttons

NORMAL = {
    "bg": (0.05, 0.14, 0.27, 1),
    "panel": (0.10, 0.22, 0.38, 1),
    "primary": (0.98, 0.78, 0.25, 1),
    "secondary": (0.27, 0.40, 0.58, 1),
    "ink": (1, 1, 1, 1),
    "primary_ink": (0.05, 0.09, 0.16, 1),
    "hint": (0.85, 0.9, 1, 1),
    "good": (0.30, 0.75, 0.45, 1),
    "warn": (0.98, 0.62, 0.20, 1),
    "danger": (0.78, 0.22, 0.20, 1),
}
HIGH_CONTRAST = {
    "bg": (0, 0, 0, 1),
    "panel": (0.12, 0.12, 0.12, 1),
    "primary": (1, 0.92, 0, 1),
    "secondary": (0.25, 0.25, 0.25, 1),
    "ink": (1, 1, 1, 1),
    "primary_ink": (0, 0, 0, 1),
    "hint": (1, 1, 1, 1),
    "good": (0.2, 1, 0.4, 1),
    "warn": (1, 0.7, 0, 1),
    "danger": (1, 0.35, 0.3, 1),
}


def _colour(name: str) -> AliasProperty:
    return AliasProperty(lambda self: (HIGH_CONTRAST if self.large else NORMAL)[name], None, bind=("large",))


def _size(mm: float, scales: bool) -> AliasProperty:
    def get(self: Look) -> float:
        return float(self.px_per_mm * mm * (self.scale if scales else 1))

    return AliasProperty(get, None, bind=("px_per_mm", "large", "compact"))


class Look(EventDispatcher):
    """Sizes (pixels) and colours for the configured panel and the current mode."""

    px_per_mm = NumericProperty(96 / 25.4)
    portrait = BooleanProperty(False)
    large = BooleanProperty(False)  # the accessible mode
    compact = BooleanProperty(False)  # a 7" panel

    @property
    def scale(self) -> float:
        """How much larger text is drawn: 1, or the accessible mode's factor for this panel."""
        return (LARGE_COMPACT if self.compact else LARGE) if self.large else 1.0

    body = _size(BODY_MM, True)
    control = _size(BODY_MM, False)  # the labels of the frame's own controls: the same in either mode
    title = AliasProperty(
        lambda self: float(self.px_per_mm * (TITLE_COMPACT_MM if self.compact else TITLE_MM) * self.scale),
        None,
        bind=("px_per_mm", "large", "compact"),
    )
    touch = _size(TOUCH_MM, False)
    gap = _size(GAP_MM, False)
    pad = _size(PAD_MM, False)

    bg = _colour("bg")
    panel = _colour("panel")
    primary = _colour("primary")
    secondary = _colour("secondary")
    ink = _colour("ink")
    primary_ink = _colour("primary_ink")
    hint = _colour("hint")
    good = _colour("good")
    warn = _colour("warn")
    danger = _colour("danger")

    def mm(self, value: float) -> float:
        """`value` real millimetres in pixels (not bound: use in Python, or multiply px_per_mm in kv)."""
        return float(self.px_per_mm * value)

    def use(self, display: DisplayConfig, width: int | None = None, height: int | None = None) -> None:
        """Lay out for this panel; `width`/`height` are the window's pixels when they differ (rotation)."""
        self.px_per_mm = display.px_per_mm
        w, h = width or display.width, height or display.height
        self.portrait = h > w
        self.compact = min(display.width_mm, display.height_mm) < 100

    def text_mm(self, font_size_px: float) -> float:
        """The capital height, in real millimetres, of text drawn at `font_size_px`."""
        return float(font_size_px * CAP_HEIGHT_EM / self.px_per_mm)


look = Look()

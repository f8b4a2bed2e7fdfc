"""The display while nobody uses the kiosk: the idle screen's attract pages and burn-in drift, and the
backlight, dimmed at night between visits (the picture darkened where the panel cannot dim)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.graphics import Color, Rectangle
from kivy.uix.widget import Widget

from kiosk.config import KioskConfig
from kiosk.config.screen import backlight_level
from kiosk.hardware.backlight import Backlight
from kiosk.screens.idle import IdleScreen

LIGHT_EVERY_S = 60.0  # the level is set again this often even when it has not changed


class IdleDisplay:
    """Follows the session (idle or in a visit) and the kiosk's clock; `keep` is called about once a second."""

    def __init__(
        self,
        cfg: KioskConfig,
        backlight: Backlight,
        clock: Callable[[], float],
        screen: IdleScreen,
        root: Widget,
    ) -> None:
        self.cfg, self.backlight, self.clock, self.screen = cfg, backlight, clock, screen
        screen.attract_s = cfg.display.attract_s
        self.idle = True
        self._lit_at: float | None = None
        with root.canvas.after:  # over every screen: the darkening where the backlight cannot dim
            self._shade = Color(0, 0, 0, 0)
            cover = Rectangle(pos=root.pos, size=root.size)
        root.bind(pos=lambda _w, pos: setattr(cover, "pos", pos), size=lambda _w, size: setattr(cover, "size", size))
        self.light(self.clock())  # at start

    def follow(self, idle: bool) -> None:
        """The session changed: a visit starts (full brightness at once) or ends (the pages start over)."""
        if idle == self.idle:
            return
        self.idle = idle
        now = self.clock()
        if idle:
            self.screen.restart(now)
        self.light(now)

    def keep(self) -> None:
        """Turn the idle pages and move the picture when due; set the backlight when its level changes,
        and once a minute."""
        now = self.clock()
        if self.idle:
            self.screen.keep(now)
        level = backlight_level(self.cfg.display, now, self.cfg.flow.utc_offset_s, idle=self.idle)
        due = self._lit_at is None or not 0 <= now - self._lit_at < LIGHT_EVERY_S
        if due or level != self.backlight.level:
            self.light(now)

    def light(self, now: float) -> None:
        """Set the backlight for this moment (the picture's darkening with it)."""
        self.backlight.set(backlight_level(self.cfg.display, now, self.cfg.flow.utc_offset_s, idle=self.idle))
        self._shade.a = self.backlight.shade
        self._lit_at = now

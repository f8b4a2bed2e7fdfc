"""Backlight port: how bright the panel shines (dimmed at night while nobody uses the kiosk). The Linux
adapter writes /sys/class/backlight/<device>/brightness; a panel without one (most HDMI monitors) is
darkened in the picture instead; the simulator records every level it was given."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SYS_BACKLIGHT = Path("/sys/class/backlight")
MAX_STEPS = 1_000_000  # no backlight has more steps; a larger max_brightness is a misread file
MAX_READ = 32  # bytes of max_brightness read: a number, not a file to slurp


class Backlight(Protocol):
    """The panel's brightness, 0 (dark) to 1 (full). Never raises: the kiosk serves in any light."""

    @property
    def level(self) -> float:
        """The last level asked for."""
        ...

    @property
    def shade(self) -> float:
        """How much the picture itself must be darkened (0: none) for the level to show, where the panel
        cannot dim (no device, or its writes fail): the app draws black at this opacity over the screen."""
        ...

    def set(self, level: float) -> None:
        """Shine at `level` (clamped to 0-1)."""
        ...


def clamp(level: float) -> float:
    """`level` within 0-1; not a number counts as full (a dark kiosk looks broken)."""
    return 1.0 if math.isnan(level) else min(1.0, max(0.0, level))


class SimBacklight:
    """A backlight that records every level set, for the simulator, the demo and tests."""

    shade = 0.0

    def __init__(self) -> None:
        self.levels: list[float] = []

    @property
    def level(self) -> float:
        return self.levels[-1] if self.levels else 1.0

    def set(self, level: float) -> None:
        self.levels.append(clamp(level))


class PictureDimmer:
    """No backlight control on this panel: the picture is darkened instead (the light stays as it is)."""

    def __init__(self) -> None:
        self.level = 1.0

    @property
    def shade(self) -> float:
        return 1.0 - self.level

    def set(self, level: float) -> None:
        self.level = clamp(level)


class SysfsBacklight:
    """/sys/class/backlight/<device>: `brightness` written as `level` x `max_brightness` (read once, at
    start). The lowest level still lights the panel (1 step), so the kiosk never looks switched off. A
    failed write is logged once (and once more when writes work again) and the picture is darkened instead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.level = 1.0
        self.failing = False
        self.max_steps = self._read_max()
        self.failing = self.max_steps is None

    def _read_max(self) -> int | None:
        path = self.folder / "max_brightness"
        try:
            with path.open("rb") as f:
                text = f.read(MAX_READ).decode("ascii").strip()
            steps = int(text)
        except (OSError, ValueError) as exc:
            log.warning("backlight %s unreadable (%s): the picture is darkened instead", path, exc)
            return None
        if not 0 < steps <= MAX_STEPS:
            log.warning("backlight %s: %r is not a step count: the picture is darkened instead", path, text)
            return None
        return steps

    @property
    def shade(self) -> float:
        return 1.0 - self.level if self.failing else 0.0

    def steps_for(self, level: float) -> int:
        """The `brightness` value that shows `level` (1 to max_brightness)."""
        assert self.max_steps is not None
        return max(1, min(self.max_steps, round(clamp(level) * self.max_steps)))

    def set(self, level: float) -> None:
        self.level = clamp(level)
        if self.max_steps is None:
            return
        path = self.folder / "brightness"
        try:
            with path.open("w", encoding="ascii") as f:
                f.write(str(self.steps_for(level)))
        except OSError as exc:
            if not self.failing:
                log.warning("backlight %s cannot be set (%s): the picture is darkened instead", path, exc)
            self.failing = True
            return
        if self.failing:
            log.info("backlight %s works again", path)
        self.failing = False


def find_backlight(name: str, root: Path = SYS_BACKLIGHT) -> Path | None:
    """The folder of backlight `name` under `root`, or with name "auto" the first there is (by name);
    None when there is none."""
    try:
        folders = sorted(p for p in root.iterdir() if (p / "max_brightness").exists())
    except OSError:
        return None
    if name == "auto":
        return folders[0] if folders else None
    return next((p for p in folders if p.name == name), None)


def build_backlight(name: str, root: Path = SYS_BACKLIGHT) -> Backlight:
    """[display] backlight: "auto" (the first device there is), a device name, or "none"; a panel without
    that device is darkened in the picture instead."""
    folder = None if name == "none" else find_backlight(name, root)
    if folder is None:
        if name != "none":
            log.info("no backlight %r in %s: the picture is darkened at night instead", name, root)
        return PictureDimmer()
    log.info("backlight %s", folder)
    return SysfsBacklight(folder)

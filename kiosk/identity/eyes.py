"""Blinks on live video: an open-eye level that follows the resident, and a blink that is a short dip of
both eyes against it.

Measured on real talking-head footage (docs in kiosk/identity/liveness.py): the eye aspect ratio (EAR)
of an open eye swings by a third with smiling and talking, and its level drifts over seconds, so a level
taken from three frames at the start is wrong a second later. Here the level is a high quantile of each
eye's EAR over the last `open_window_s` of frames that were not closed. A blink is both eyes below
`closed_ratio` of their own level, then both back above `open_ratio` of it, within `blink_max_s` (a blink
lasts 100-400 ms; a squint or a smile lasts longer, one eye closing is a wink). Eyes reopen more slowly
than they close, so "open again" is half way back from the closure's lowest point to the level, and the
lowest point must be deep (`deep_ratio`): a squint's shallow dip is not a blink. While eyes are shut the
face must stay put: a hand passing over the face, or a big move, moves the face's box and cancels it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class EyeSettings:
    """How a blink is told from talking; calibrated on the clips `kiosk bench liveness` plays."""

    closed_ratio: float = 0.78  # both eyes below this share of their own open level: closing
    deep_ratio: float = 0.75  # a blink's lowest point: both eyes together at most this share open
    open_ratio: float = 0.86  # eyes held shut too long count again once open above this share
    blink_max_s: float = 0.5  # shut longer than this: not a blink (eyes held shut, a long squint)
    open_window_s: float = 2.0  # the open level: over this many seconds of open-eyed frames
    open_quantile: float = 0.7  # a high quantile: the few half-shut frames do not pull it down
    min_samples: int = 3  # open-eyed frames needed before the level means anything
    max_shift: float = 0.25  # the face's width or place moves by more (share of width) while shut: cancelled


@dataclass
class Eyes:
    """Feed it one frame's eye openness at a time (`feed`); it counts blinks (`blinks`)."""

    settings: EyeSettings = field(default_factory=EyeSettings)
    blinks: int = 0
    _open: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, right EAR, left EAR)
    _shut_at: float | None = None
    _shut_face: tuple[float, float, float] = (0.0, 0.0, 0.0)  # width and centre when the eyes shut
    _held_shut: bool = False  # shut too long: wait for them to open, count nothing
    _lowest: float = 1.0  # the closure's lowest openness so far

    def level(self) -> tuple[float, float] | None:
        """Each eye's open level now (right, left), or None before enough open-eyed frames."""
        if len(self._open) < self.settings.min_samples:
            return None
        q = self.settings.open_quantile
        return (
            float(np.quantile([r for _, r, _ in self._open], q)),
            float(np.quantile([le for _, _, le in self._open], q)),
        )

    def lost(self) -> None:
        """No face in this frame: a closure in progress is not a blink."""
        self._shut_at, self._held_shut = None, False

    def feed(self, right: float, left: float, face: tuple[float, float, float], t: float, level: bool = True) -> bool:
        """One frame: each eye's EAR and the face's (width, centre x, centre y); whether a blink ended.
        `level`: the frame may move the open level (False for a part-turned head, whose EAR reads higher)."""
        cfg = self.settings
        while self._open and self._open[0][0] < t - cfg.open_window_s:
            self._open.popleft()
        open_level = self.level()
        if open_level is None:
            if level:
                self._open.append((t, right, left))
            return False
        ratios = (right / open_level[0] if open_level[0] else 1.0, left / open_level[1] if open_level[1] else 1.0)
        shut = max(ratios) < cfg.closed_ratio
        depth = sum(ratios) / 2  # both eyes' openness against their level
        blinked = False
        if self._held_shut:
            self._held_shut = depth < cfg.open_ratio
        elif self._shut_at is None:
            if shut:
                self._shut_at, self._shut_face, self._lowest = t, face, depth
        elif _moved(self._shut_face, face) > cfg.max_shift:
            self._shut_at = None  # the face moved (a hand over it, a step aside): no blink
        elif t - self._shut_at > cfg.blink_max_s:
            self._shut_at, self._held_shut = None, depth < cfg.open_ratio
        else:
            self._lowest = min(self._lowest, depth)
            if depth >= (self._lowest + 1.0) / 2:  # open again: half way back from the lowest to the level
                blinked = self._lowest <= cfg.deep_ratio
                self._shut_at = None
                self.blinks += int(blinked)
        if level and self._shut_at is None and not shut and not self._held_shut:
            self._open.append((t, right, left))
        return blinked


def _moved(before: tuple[float, float, float], now: tuple[float, float, float]) -> float:
    """How far the face moved, as a share of its width: the larger of its change of size and of place."""
    width = before[0] or 1.0
    return max(abs(now[0] - before[0]), abs(now[1] - before[1]), abs(now[2] - before[2])) / width

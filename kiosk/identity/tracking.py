"""Following one face through a liveness challenge, including the turn it asks for.

dlib's HOG detector finds frontal faces only, and none below about 80 px at the scale it runs on: on
real footage a three-quarter view drops out of detection, so a resident turning as asked would vanish.
The tracker detects on a frame scaled so that the face it last saw is at least `detectable_px` wide
there (a small face is detected at full resolution, then with HOG upsampling), and between detections
follows the last detected face with dlib's correlation tracker for up to `hold_s`, as long as the
tracker is confident (peak-to-sidelobe ratio at least `min_psr`). The box it gives is where the 68
landmarks are fitted, so they follow the turn too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kiosk.identity.dlibface import Box, DlibFaces


@dataclass(frozen=True)
class TrackSettings:
    """Detection scale and how long the correlation tracker may carry a face detection lost."""

    track_side: int = 480  # detection on a frame scaled to this longest side when the face is large
    detectable_px: int = 90  # scale up until the last face is at least this wide in the detector's frame
    hold_s: float = 1.5  # follow a face detection lost for this long at most
    min_psr: float = 7.0  # the correlation tracker's confidence below which the face is lost


@dataclass(frozen=True)
class Seen:
    """Where the face is in this frame, and whether the detector found it (False: tracked)."""

    box: Box
    detected: bool


class FaceTracker:
    """One face, frame by frame: `find(rgb, t)` gives its box or None."""

    def __init__(self, faces: DlibFaces, settings: TrackSettings | None = None) -> None:
        self.faces = faces
        self.settings = settings or TrackSettings()
        self._last: Box | None = None  # the last detected box ...
        self._last_rgb: np.ndarray | None = None  # ... the frame it was found in ...
        self._last_t = 0.0  # ... and when
        self._tracker: Any = None  # dlib.correlation_tracker, started when a detection is lost

    def find(self, rgb: np.ndarray, t: float) -> Seen | None:
        """The face in this frame: detected, else tracked from the last detection, else None."""
        box = self._detect(rgb)
        if box is not None:
            self._last, self._last_rgb, self._last_t, self._tracker = box, rgb, t, None
            return Seen(box, True)
        if self._last is None or self._last_rgb is None or t - self._last_t > self.settings.hold_s:
            self._last = self._last_rgb = self._tracker = None
            return None
        return self._track(rgb)

    def _detect(self, rgb: np.ndarray) -> Box | None:
        cfg = self.settings
        longest = max(rgb.shape[:2])
        side = min(longest, cfg.track_side)
        if self._last is not None and self._last.width * side / longest < cfg.detectable_px:
            side = min(longest, int(cfg.detectable_px * longest / max(self._last.width, 1)))
        boxes = self.faces.detect(rgb, side=side, upsample=0)
        if not boxes and side == longest and longest <= 2 * cfg.track_side:
            boxes = self.faces.detect(rgb, side=side, upsample=1)  # small faces: HOG on a doubled frame
        if not boxes:
            return None
        if self._last is None:
            return boxes[0]
        last = self._last
        return min(boxes, key=lambda b: abs(b.left + b.right - last.left - last.right) + abs(b.top - last.top))

    def _track(self, rgb: np.ndarray) -> Seen | None:
        import dlib

        assert self._last is not None and self._last_rgb is not None
        if self._tracker is None:
            tracker = dlib.correlation_tracker()
            tracker.start_track(self._last_rgb, DlibFaces._rect(self._last))
            self._tracker = tracker
        psr = float(self._tracker.update(rgb))
        if psr < self.settings.min_psr:
            self._last = self._last_rgb = self._tracker = None
            return None
        r = self._tracker.get_position()
        return Seen(Box(int(r.left()), int(r.top()), int(r.right()), int(r.bottom())), False)

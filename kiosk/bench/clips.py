"""Face clips for `kiosk bench liveness`: the labelled list (clips.csv in the clip folder), reading a clip
within bounds, and what the kiosk's tracker and landmarks see in each frame.

clips.csv columns: file, class (honest_natural / honest_prompted / attack), person, order (the challenge
for prompted clips and attacks, e.g. "turn_left turn_right blink_twice"), blinks (labelled blink times in
seconds, space separated; "-" where the clip was not labelled), labelled_s (blinks were labelled over the
first this many seconds; empty: the whole clip), source, licence.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.liveness import Action
from kiosk.identity.tracking import FaceTracker

CLASSES = ("honest_natural", "honest_prompted", "attack")
MAX_FRAMES = 12_000  # a clip is read up to this many frames (over six minutes at 30 fps)
MAX_SIDE = 1920  # and refused when larger
MAX_ROWS = 1000
MAX_CSV_BYTES = 1 << 20


class ClipError(ValueError):
    """The clip list or a clip is unusable: which one and why."""


@dataclass(frozen=True)
class Clip:
    """One labelled clip."""

    path: Path
    kind: str
    person: str
    order: tuple[Action, ...]
    blinks: tuple[float, ...] | None  # None: not labelled
    labelled_s: float | None  # the blinks were labelled over the first this many seconds (None: all of it)
    source: str
    licence: str

    @property
    def name(self) -> str:
        return self.path.name


def read_list(folder: Path) -> list[Clip]:
    """The clips of `folder`/clips.csv, each checked (class, order, blink times, the file there)."""
    listing = folder / "clips.csv"
    if not listing.is_file():
        raise ClipError(f"{listing}: no clip list (columns: file, class, person, order, blinks, source, licence)")
    if listing.stat().st_size > MAX_CSV_BYTES:
        raise ClipError(f"{listing}: larger than {MAX_CSV_BYTES} bytes")
    clips = []
    with listing.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            if n > MAX_ROWS:
                raise ClipError(f"{listing}: more than {MAX_ROWS} clips")
            clips.append(_clip(folder, row, f"{listing}:{n}"))
    return clips


def _clip(folder: Path, row: dict[str, str], where: str) -> Clip:
    path = folder / (row.get("file") or "")
    if not path.is_file() or path.parent != folder:
        raise ClipError(f"{where}: no clip file {row.get('file')!r} in {folder}")
    kind = row.get("class", "")
    if kind not in CLASSES:
        raise ClipError(f"{where}: class {kind!r} is not one of {', '.join(CLASSES)}")
    try:
        order = tuple(Action(a) for a in (row.get("order") or "").split())
    except ValueError:
        raise ClipError(f"{where}: order must list {', '.join(a.value for a in Action)}") from None
    if kind != "honest_natural" and sorted(order) != sorted(Action):
        raise ClipError(f"{where}: a {kind} clip needs its challenge order, each action once")
    text = (row.get("blinks") or "-").strip()
    try:
        blinks = None if text == "-" else tuple(float(x) for x in text.split())
    except ValueError:
        raise ClipError(f"{where}: blinks must be times in seconds, or '-'") from None
    span = (row.get("labelled_s") or "").strip()
    try:
        labelled = float(span) if span else None
    except ValueError:
        raise ClipError(f"{where}: labelled_s must be seconds, or empty for the whole clip") from None
    person, source, licence = row.get("person", ""), row.get("source", ""), row.get("licence", "")
    return Clip(path, kind, person, order, blinks, labelled, source, licence)


def frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds, BGR frame) of a clip, at the clip's own frame rate, up to MAX_FRAMES."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ClipError(f"{path}: cannot be decoded")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if 1 <= fps <= 240 else 25.0
    try:
        for i in range(MAX_FRAMES):
            ok, frame = cap.read()
            if not ok:
                return
            if max(frame.shape[:2]) > MAX_SIDE:
                raise ClipError(f"{path}: frames larger than {MAX_SIDE} px")
            yield i / fps, frame
    finally:
        cap.release()


@dataclass(frozen=True)
class Seen:
    """One frame as the face check sees it: the landmarks (None: no face) and the milliseconds it took."""

    t: float
    points: np.ndarray | None
    detected: bool
    width: int
    ms: float


def observe(faces: DlibFaces, stream: Iterator[tuple[float, np.ndarray]]) -> list[Seen]:
    """Track the face through a stream and fit its landmarks, frame by frame, as LiveFaceVerifier does."""
    tracker = FaceTracker(faces)
    out = []
    for t, frame in stream:
        start = time.perf_counter()
        rgb = faces.rgb(frame)
        seen = tracker.find(rgb, t)
        points = None if seen is None else faces.landmarks(rgb, seen.box)
        ms = 1000 * (time.perf_counter() - start)
        width = 0 if seen is None else seen.box.width
        out.append(Seen(t, points, seen is not None and seen.detected, width, ms))
    return out

"""Camera port: frames as BGR numpy arrays. Adapters: OpenCV VideoCapture, and a simulator that renders
scenes (a ticket QR held up, a face, a printed card) so the rest of the kiosk sees real pixels."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import qrcode

from kiosk.hardware.errors import DeviceMissing


class Camera(Protocol):
    """Something that gives frames."""

    def read(self) -> np.ndarray | None:
        """The newest frame (BGR), or None if the camera has none right now."""
        ...

    def close(self) -> None: ...


class OpenCvCamera:
    """A V4L2/USB/CSI camera through OpenCV's VideoCapture."""

    def __init__(self, device: int | str = 0, width: int = 1280, height: int = 720) -> None:
        self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            raise DeviceMissing(f"camera {device!r} cannot be opened")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._lock = threading.Lock()

    def read(self) -> np.ndarray | None:
        with self._lock:
            ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        with self._lock:
            self._cap.release()


@dataclass(frozen=True)
class Nothing:
    """Nobody and nothing in front of the camera."""


@dataclass(frozen=True)
class HeldTicket:
    """A queue ticket QR held up to the camera."""

    text: str


@dataclass(frozen=True)
class Face:
    """A person's face; `photo` marks a printed photo held up instead of a live person."""

    person: str
    photo: bool = False


@dataclass(frozen=True)
class PrintedCard:
    """An old KTP without a chip, held up so its printed NIK shows."""

    nik: str


Scene = Nothing | HeldTicket | Face | PrintedCard


def render_qr(text: str, box: int = 8) -> np.ndarray:
    """A QR code as a grey image with a quiet zone (as a printed ticket would show)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.make_image().convert("L"), dtype=np.uint8)


class SimCamera:
    """A camera that renders the scene in front of it. Set `scene` to change what it sees."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        self.width, self.height = width, height
        self.scene: Scene = Nothing()
        self.light = 1.0  # how lit the scene is (0.3: a dim corner of the lobby at night)
        self._cache: tuple[Scene, np.ndarray] | None = None

    def show(self, scene: Scene) -> None:
        self.scene = scene

    def read(self) -> np.ndarray | None:
        scene = self.scene
        if self._cache and self._cache[0] == scene:
            frame = self._cache[1]
        else:
            frame = self._render(scene)
            self._cache = (scene, frame)
        if self.light != 1.0:
            return cv2.convertScaleAbs(frame, alpha=self.light)
        return frame.copy()

    def close(self) -> None:
        self._cache = None

    def _render(self, scene: Scene) -> np.ndarray:
        frame = np.full((self.height, self.width, 3), (70, 60, 50), dtype=np.uint8)
        if isinstance(scene, HeldTicket):
            qr = render_qr(scene.text)
            side = min(int(self.height * 0.7), max(qr.shape))
            qr = cv2.resize(qr, (side, side), interpolation=cv2.INTER_NEAREST)
            paper = np.full((side + 40, side + 40), 245, dtype=np.uint8)
            paper[20 : 20 + side, 20 : 20 + side] = qr
            y, x = (self.height - paper.shape[0]) // 2, (self.width - paper.shape[1]) // 2
            frame[y : y + paper.shape[0], x : x + paper.shape[1]] = cv2.cvtColor(paper, cv2.COLOR_GRAY2BGR)
        elif isinstance(scene, Face):
            cx, cy, r = self.width // 2, self.height // 2, self.height // 4
            if scene.photo:
                cv2.rectangle(frame, (cx - r - 30, cy - r - 50), (cx + r + 30, cy + r + 80), (235, 235, 235), -1)
            cv2.ellipse(frame, (cx, cy), (r, int(r * 1.3)), 0, 0, 360, (120, 160, 210), -1)
            for dx in (-r // 2, r // 2):
                cv2.circle(frame, (cx + dx, cy - r // 4), r // 10, (40, 40, 40), -1)
            cv2.ellipse(frame, (cx, cy + r // 2), (r // 3, r // 8), 0, 0, 180, (60, 60, 140), 4)
            cv2.putText(frame, scene.person, (cx - r, cy + r + 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
        elif isinstance(scene, PrintedCard):
            w, h = int(self.width * 0.6), int(self.width * 0.6 / 1.586)
            x, y = (self.width - w) // 2, (self.height - h) // 2
            cv2.rectangle(frame, (x, y), (x + w, y + h), (230, 200, 160), -1)
            cv2.putText(frame, "NIK : " + scene.nik, (x + 30, y + 90), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3)
        return frame

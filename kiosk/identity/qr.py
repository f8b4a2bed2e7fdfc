"""QR decoding with zxing-cpp: one fast pass, then fallbacks for small, low-resolution or noisy codes.

`decode_image` (a still image: the benchmark, a scanned slip) tries every stage until one decodes.
`QrScanner` (the live camera) runs the fast pass on every frame and one fallback stage per frame in
turn, so a ticket held in view for a moment gets every stage within a few frames while a frame without
a code never costs more than two decodes. Text comes back in zxing's Plain mode: the exact characters
the code holds (control characters included), never a human-readable rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
SMALL_SIDE = 1000  # images below this are upscaled in the fallbacks (modules of a few pixels)


@dataclass(frozen=True)
class Decoded:
    """One QR code's content: text as the code's character set says, and its raw bytes."""

    text: str
    raw: bytes
    stage: str


def _grey(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return frame


def _read(image: np.ndarray, binarizer: zxingcpp.Binarizer, stage: str) -> list[Decoded]:
    results = zxingcpp.read_barcodes(image, formats=_QR_ONLY, text_mode=zxingcpp.TextMode.Plain, binarizer=binarizer)
    return [Decoded(r.text, bytes(r.bytes), stage) for r in results if r.valid]


def _upscaled(grey: np.ndarray) -> np.ndarray:
    if max(grey.shape[:2]) >= SMALL_SIDE:
        return grey
    return cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


Stage = tuple[str, Callable[[np.ndarray], list[Decoded]]]

# Fallbacks, in order of how often they rescue a real photo; each is a whole zxing pass.
FALLBACKS: tuple[Stage, ...] = (
    ("upscale", lambda g: _read(_upscaled(g), zxingcpp.Binarizer.LocalAverage, "upscale")),
    ("upscale-global", lambda g: _read(_upscaled(g), zxingcpp.Binarizer.GlobalHistogram, "upscale-global")),
    ("denoise", lambda g: _read(cv2.medianBlur(g, 3), zxingcpp.Binarizer.LocalAverage, "denoise")),
)


def fast_pass(grey: np.ndarray) -> list[Decoded]:
    return _read(grey, zxingcpp.Binarizer.LocalAverage, "fast")


def decode_image(frame: np.ndarray) -> list[Decoded]:
    """Every QR code in a still image (BGR or grey), trying the fallbacks until one decodes."""
    grey = _grey(frame)
    found = fast_pass(grey)
    for _, stage in FALLBACKS:
        if found:
            break
        found = stage(grey)
    return found


def decode_qr(frame: np.ndarray) -> list[str]:
    """Texts of every QR code in a frame (fast pass only: for the live path use QrScanner)."""
    return [d.text for d in fast_pass(_grey(frame))]


class QrScanner:
    """The live camera's decoder: the fast pass on every frame, plus one fallback stage per frame in turn."""

    def __init__(self) -> None:
        self._turn = 0

    def scan(self, frame: np.ndarray) -> list[str]:
        grey = _grey(frame)
        found = fast_pass(grey)
        if not found:
            _, stage = FALLBACKS[self._turn % len(FALLBACKS)]
            self._turn += 1
            found = stage(grey)
        return [d.text for d in found]

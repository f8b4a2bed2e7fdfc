"""The printed NIK of an old KTP without a chip, read from a camera frame with tesseract.

1. Find the card: the largest four-cornered outline with a card's proportions, flattened to the card's
   own coordinates (a card held at an angle reads as well as a flat one). No outline: the guide box the
   screen shows is taken as the card.
2. Crop the NIK band by the KTP's layout, scale the digits to a height tesseract likes, threshold, and
   surround with a white margin (a crop touching the first digit loses it).
3. tesseract, one line (`--psm 7`), digits only; a run of 16 digits is a candidate.
4. Only a candidate that passes the NIK rules (district exists, real birth date, serial) is returned,
   and only if two of three different binarisations agree on it: a misread digit rarely survives two.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
from collections import Counter

import cv2
import numpy as np

from kiosk.identity.ktp_render import CARD_H, CARD_W, NIK_BOX
from kiosk.identity.nik import Nik, mask_nik, parse_nik

log = logging.getLogger(__name__)
TESSERACT_CONFIG = "--psm 7 --oem 1 -c tessedit_char_whitelist=0123456789"
GUIDE = (0.19, 0.16, 0.81, 0.84)  # the card guide on the screen, as a share of the frame
DIGIT_HEIGHT = 48  # pixels: tesseract reads best with capitals of 30-50 px


class TesseractMissing(RuntimeError):
    """tesseract (Debian: tesseract-ocr) or pytesseract is not installed."""


def tesseract_available() -> bool:
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def _order(corners: np.ndarray) -> np.ndarray:
    s, d = corners.sum(axis=1), np.diff(corners, axis=1).ravel()
    return np.array([corners[np.argmin(s)], corners[np.argmin(d)], corners[np.argmax(s)], corners[np.argmax(d)]])


def find_card(frame: np.ndarray) -> np.ndarray:
    """The card flattened to CARD_W x CARD_H (grey); the guide box when no card outline is found."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 30, 90)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best: np.ndarray | None = None
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        if cv2.contourArea(c) < 0.08 * w * h:
            break
        poly = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(poly) != 4:
            continue
        quad = _order(poly.reshape(4, 2).astype(np.float32))
        top, left = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0])
        if left and 1.3 < top / left < 1.9:
            best = quad
            break
    if best is None:
        x0, y0, x1, y1 = (int(GUIDE[0] * w), int(GUIDE[1] * h), int(GUIDE[2] * w), int(GUIDE[3] * h))
        best = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    target = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    return cv2.warpPerspective(grey, cv2.getPerspectiveTransform(best, target), (CARD_W, CARD_H))


def nik_band(card: np.ndarray) -> np.ndarray:
    """The NIK's line, cut a little generously from the flattened card."""
    x0, y0, x1, y1 = NIK_BOX
    pad_x, pad_y = 0.01, 0.03
    return card[
        int((y0 - pad_y) * CARD_H) : int((y1 + pad_y) * CARD_H),
        int((x0 - pad_x) * CARD_W) : int((x1 + pad_x) * CARD_W),
    ]


def _at_height(band: np.ndarray, digit_height: int) -> np.ndarray:
    scale = digit_height / max(1, band.shape[0] * 0.5)  # the digits fill about half the band's height
    return cv2.resize(band, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def _adaptive(band: np.ndarray, digit_height: int) -> np.ndarray:
    big = cv2.GaussianBlur(_at_height(band, digit_height), (3, 3), 0)
    block = int(big.shape[0] * 0.9) | 1
    return cv2.adaptiveThreshold(big, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 15)


def _contrast_otsu(band: np.ndarray, digit_height: int) -> np.ndarray:
    big = cv2.createCLAHE(2.0, (4, 16)).apply(_at_height(band, digit_height))
    return cv2.threshold(cv2.GaussianBlur(big, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


# Three readings of the band, best first (measured with `kiosk bench ocr`): local (adaptive) thresholding,
# contrast-equalised Otsu, and local thresholding at a smaller size as the tie-breaker.
READINGS = (
    lambda band: _adaptive(band, 56),
    lambda band: _contrast_otsu(band, 56),
    lambda band: _adaptive(band, 40),
)


def binarised(band: np.ndarray, reading: int) -> np.ndarray:
    """One thresholding of the band at tesseract's preferred size, with a white margin all round."""
    img = READINGS[reading](band)
    return cv2.copyMakeBorder(img, 30, 30, 40, 40, cv2.BORDER_CONSTANT, value=255)


def _digits(text: str) -> str | None:
    runs = re.findall(r"[0-9]{16}", re.sub(r"\s+", "", text), re.ASCII)  # ASCII digits only, as parse_nik
    return runs[0] if runs else None


class TesseractNikReader:
    """Reads the NIK printed on a KTP held up to the camera; None unless sure."""

    def __init__(self, today: dt.date | None = None) -> None:
        if not tesseract_available():
            raise TesseractMissing("printed-NIK reading needs tesseract-ocr (apt) and pytesseract (pip)")
        self.today = today
        self.last_raw: list[str] = []  # what tesseract saw, for the benchmark's per-digit figures

    def read(self, frame: np.ndarray) -> str | None:
        import pytesseract

        band = nik_band(find_card(frame))
        today = self.today or dt.date.today()
        reads: list[str | None] = []
        for i in range(len(READINGS)):
            text = pytesseract.image_to_string(binarised(band, i), config=TESSERACT_CONFIG)
            reads.append(_digits(text))
            votes = Counter(r for r in reads if r and isinstance(parse_nik(r, today), Nik))
            if votes and votes.most_common(1)[0][1] >= 2:  # two readings agree on a valid NIK
                self.last_raw = [r or "" for r in reads]
                return votes.most_common(1)[0][0]
            if i == 1 and not any(reads):  # nothing like a NIK twice: no card there
                break
        self.last_raw = [r or "" for r in reads]
        log.debug("printed NIK not confirmed: %s", [mask_nik(r or "") for r in reads])
        return None

"""`kiosk bench qr DIR`: every image under DIR with a same-named .txt of the exact expected bytes, decoded
by the kiosk's pipeline and, for comparison, by zxing-cpp alone and OpenCV's two QR detectors."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp

from kiosk.identity.qr import decode_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
# a decoder returns, for each code it found, the forms its content can be compared in (text as UTF-8, raw bytes)
Decoder = Callable[[np.ndarray], list[tuple[bytes, ...]]]


def _kiosk(img: np.ndarray) -> list[tuple[bytes, ...]]:
    return [(d.text.encode("utf-8"), d.raw) for d in decode_image(img)]


def _zxing(img: np.ndarray) -> list[tuple[bytes, ...]]:
    return [(r.text.encode("utf-8"), bytes(r.bytes)) for r in zxingcpp.read_barcodes(img) if r.valid]


def _opencv(detector: Any) -> Decoder:
    def run(img: np.ndarray) -> list[tuple[bytes, ...]]:
        try:
            text, _points, _ = detector.detectAndDecode(img)
        except UnicodeDecodeError:  # OpenCV's binding cannot hand non-UTF-8 content to Python
            return [(b"<not UTF-8>",)]
        except cv2.error:  # e.g. an encoding mode OpenCV does not implement: no result
            return []
        return [(text.encode("utf-8"),)] if text else []

    return run


def decoders() -> dict[str, Decoder]:
    return {
        "kiosk": _kiosk,
        "zxing-cpp": _zxing,
        "opencv": _opencv(cv2.QRCodeDetector()),
        "opencv-aruco": _opencv(cv2.QRCodeDetectorAruco()),
    }


def samples(folder: Path) -> list[tuple[Path, bytes]]:
    """(image, expected bytes) for every image with a same-named .txt, recursively, in path order."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.with_suffix(".txt").is_file():
            found.append((path, path.with_suffix(".txt").read_bytes()))
    return found


def run(folder: Path) -> dict[str, Any]:
    """Decode every sample with every decoder: correct (exact bytes), wrong (decoded, not it), median ms."""
    items = samples(folder)
    result: dict[str, Any] = {"images": len(items), "decoders": {}}
    for name, decode in decoders().items():
        correct = wrong = 0
        times: list[float] = []
        misses: list[str] = []
        for path, want in items:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)  # by content, whatever the extension says
            if img is None:
                misses.append(str(path))
                continue
            t0 = time.perf_counter()
            got = decode(img)
            times.append((time.perf_counter() - t0) * 1000)
            if any(want in forms for forms in got):
                correct += 1
            elif got:
                wrong += 1
                misses.append(str(path))
            else:
                misses.append(str(path))
        result["decoders"][name] = {
            "correct": correct,
            "wrong": wrong,
            "ms_median": round(statistics.median(times), 2) if times else None,
            "missed": misses,
        }
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"{result['images']} images", f"{'decoder':<14}{'correct':>8}{'wrong':>7}{'ms median':>11}"]
    for name, r in result["decoders"].items():
        lines.append(f"{name:<14}{r['correct']:>8}{r['wrong']:>7}{r['ms_median']:>11}")
    return "\n".join(lines)

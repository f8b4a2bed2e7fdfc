"""`kiosk bench ocr`: the printed-NIK reader on rendered KTP-like cards at four degradation levels.

Per level: cards, exact reads, refusals (no confident read), wrong reads (a NIK returned that is not the
card's: must be 0), per-digit accuracy of tesseract's raw best line, and the median time per read."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from typing import Any

from kiosk.identity.ktp_render import LEVELS, in_frame, random_nik, render_card
from kiosk.identity.ocr_nik import TesseractNikReader


def _digit_accuracy(raw: list[str], truth: str) -> float:
    best = max((sum(a == b for a, b in zip(r, truth, strict=False)) for r in raw if len(r) == 16), default=0)
    return best / 16


def run(cards: int, seed: int) -> dict[str, Any]:
    reader = TesseractNikReader(today=dt.date(2026, 11, 23))
    rng = random.Random(seed)
    levels: dict[str, Any] = {}
    for level in LEVELS:
        exact = refused = wrong = 0
        digits: list[float] = []
        times: list[float] = []
        for _ in range(cards):
            nik = random_nik(rng)
            frame = in_frame(render_card(nik, rng), level, rng)
            t0 = time.perf_counter()
            got = reader.read(frame)
            times.append((time.perf_counter() - t0) * 1000)
            digits.append(_digit_accuracy(reader.last_raw, nik))
            if got is None:
                refused += 1
            elif got == nik:
                exact += 1
            else:
                wrong += 1
        levels[level] = {
            "cards": cards,
            "exact": exact,
            "refused": refused,
            "wrong": wrong,
            "digit_accuracy": round(statistics.mean(digits), 4),
            "ms_median": round(statistics.median(times), 1),
        }
    return {"seed": seed, "levels": levels}


def report(r: dict[str, Any]) -> str:
    lines = [f"{'level':<10}{'cards':>6}{'exact':>7}{'refused':>9}{'wrong':>7}{'digits':>8}{'ms':>8}"]
    for name, v in r["levels"].items():
        lines.append(
            f"{name:<10}{v['cards']:>6}{v['exact']:>7}{v['refused']:>9}{v['wrong']:>7}"
            f"{100 * v['digit_accuracy']:>7.1f}%{v['ms_median']:>8}"
        )
    return "\n".join(lines)

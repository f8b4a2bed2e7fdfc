"""`kiosk bench faces DIR --pairs PAIRS.csv`: verification on labelled image pairs.

Each pair is scored as the kiosk scores a resident: the enrolment photo's template against the probe's
embedding, both mirror-averaged. Prints genuine and impostor counts, FNMR and FMR at
the threshold, the largest threshold with FMR 0 on these pairs, and the time per detection and embedding.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.identity.dlibface import DlibFaces, FaceSettings

NO_FACE = float("inf")  # a side without a detectable face never matches


def run(folder: Path, pairs_csv: Path, threshold: float | None = None) -> dict[str, Any]:
    settings = FaceSettings() if threshold is None else FaceSettings(threshold=threshold)
    faces = DlibFaces(settings)
    with pairs_csv.open(newline="") as f:
        pairs = [(row["path_a"], row["path_b"], row["same"].strip() == "1") for row in csv.DictReader(f)]
    detect_ms: list[float] = []
    embed_ms: list[float] = []
    no_face: list[str] = []
    cache: dict[str, np.ndarray | None] = {}

    def vector(key: str) -> np.ndarray | None:
        path = key
        if key not in cache:
            image = cv2.imread(str(folder / path), cv2.IMREAD_COLOR)  # by content, not by extension
            if image is None:
                raise SystemExit(f"kiosk bench faces: cannot read {folder / path}")
            rgb = faces.rgb(image)
            t0 = time.perf_counter()
            boxes = faces.detect(rgb)
            detect_ms.append((time.perf_counter() - t0) * 1000)
            if not boxes:
                no_face.append(path)
                cache[key] = None
            else:
                t0 = time.perf_counter()
                cache[key] = faces.embed(rgb, boxes[0])
                embed_ms.append((time.perf_counter() - t0) * 1000)
        return cache[key]

    genuine: list[float] = []
    impostor: list[float] = []
    for a, b, same in pairs:
        va, vb = vector(a), vector(b)
        d = NO_FACE if va is None or vb is None else DlibFaces.distance(va, vb)
        (genuine if same else impostor).append(d)
    t = settings.threshold
    g, i = np.array(genuine), np.array(impostor)
    return {
        "pairs": len(pairs),
        "genuine": len(genuine),
        "impostor": len(impostor),
        "threshold": t,
        "fnmr": round(float((g >= t).mean()), 4) if len(g) else None,
        "fmr": round(float((i < t).mean()), 4) if len(i) else None,
        "threshold_fmr0": round(float(i.min()), 4) if len(i) else None,
        "fnmr_at_fmr0": round(float((g >= i.min()).mean()), 4) if len(i) and len(g) else None,
        "no_face": sorted(set(no_face)),
        "ms_detect": round(statistics.median(detect_ms), 1) if detect_ms else None,
        "ms_embed": round(statistics.median(embed_ms), 1) if embed_ms else None,
    }


def report(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"pairs {r['pairs']}: genuine {r['genuine']}, impostor {r['impostor']}",
            f"at threshold {r['threshold']}: FNMR {100 * r['fnmr']:.2f}%  FMR {100 * r['fmr']:.2f}%",
            f"FMR 0 below {r['threshold_fmr0']} (FNMR there {100 * r['fnmr_at_fmr0']:.2f}%)",
            f"no face found in: {', '.join(r['no_face']) or 'none'}",
            f"ms per detection {r['ms_detect']}, per embedding {r['ms_embed']}",
        ]
    )

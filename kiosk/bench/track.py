"""`kiosk bench track CLIP`: the face tracker (kiosk.identity.tracking) on one clip, frame by frame: whether
the face was detected, carried by the correlation tracker, or lost; its box; and the head's turn in
degrees (yaw_degrees, a generic-head estimate). The summary: the share of frames with the face kept, the
largest turn reached each way while it was kept, and the milliseconds a frame."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from kiosk.bench.clips import frames
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.liveness import Pose
from kiosk.identity.tracking import FaceTracker, yaw_degrees


def run(path: Path, every: int = 1) -> dict[str, Any]:
    """Track the face through the clip at `path`; the trace keeps every `every`-th frame."""
    faces = DlibFaces()
    tracker = FaceTracker(faces)
    trace: list[dict[str, Any]] = []
    kept = detected = n = 0
    yaws: list[float] = []
    ms: list[float] = []
    for i, (t, frame) in enumerate(frames(path)):
        start = time.perf_counter()
        rgb = faces.rgb(frame)
        seen = tracker.find(rgb, t)
        row: dict[str, Any] = {"frame": i, "t": round(t, 2), "state": "lost"}
        if seen is not None:
            points = faces.landmarks(rgb, seen.box)
            yaw = yaw_degrees(points, frame.shape)
            b = seen.box
            row |= {
                "state": "detected" if seen.detected else "tracked",
                "box": [b.left, b.top, b.right, b.bottom],
                "yaw_deg": None if math.isnan(yaw) else round(yaw, 1),
                "yaw_widths": round(Pose.of(points).yaw, 3),
            }
            kept += 1
            detected += int(seen.detected)
            if not math.isnan(yaw):
                yaws.append(yaw)
        ms.append(1000 * (time.perf_counter() - start))
        n += 1
        if i % every == 0:
            trace.append(row)
    return {
        "clip": str(path),
        "frames": n,
        "kept": round(kept / n, 4) if n else 0.0,
        "detected": round(detected / n, 4) if n else 0.0,
        "max_yaw_left_deg": round(max(yaws), 1) if yaws else None,
        "max_yaw_right_deg": round(-min(yaws), 1) if yaws else None,
        "frame_ms": round(sum(ms) / len(ms), 1) if ms else None,
        "trace": trace,
    }


def report(r: dict[str, Any]) -> str:
    """The trace as a table, then the summary."""
    lines = [f"{'frame':>6} {'t':>6}  {'state':<9} {'box':<22} {'yaw deg':>8} {'yaw w':>7}"]
    for row in r["trace"]:
        box = " ".join(str(v) for v in row["box"]) if "box" in row else "-"
        deg = "-" if row.get("yaw_deg") is None else f"{row['yaw_deg']:+.1f}"
        wid = f"{row['yaw_widths']:+.3f}" if "yaw_widths" in row else "-"
        lines.append(f"{row['frame']:>6} {row['t']:>6.2f}  {row['state']:<9} {box:<22} {deg:>8} {wid:>7}")
    lines += [
        "",
        f"{r['clip']}: {r['frames']} frames, face kept in {100 * r['kept']:.1f}% "
        f"(detected {100 * r['detected']:.1f}%), largest turn {r['max_yaw_left_deg']} deg to the left, "
        f"{r['max_yaw_right_deg']} deg to the right; {r['frame_ms']} ms a frame",
    ]
    return "\n".join(lines)

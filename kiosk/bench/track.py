"""`kiosk bench track CLIP`: the face tracker (kiosk.identity.tracking) on one clip, frame by frame: whether
the face was detected, carried by the correlation tracker, or lost; its box; and the head's turn (Pose's
yaw_deg in degrees, from the nose tip against the outer eye corners, and yaw in face widths). The
summary: the share of frames with the face kept, the largest turn reached each way while it was kept
(which frame, and whether it was detected or tracked there), and the milliseconds a frame."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kiosk.bench.clips import frames
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.liveness import Pose
from kiosk.identity.tracking import FaceTracker


def run(path: Path, every: int = 1) -> dict[str, Any]:
    """Track the face through the clip at `path`; the trace keeps every `every`-th frame."""
    faces = DlibFaces()
    tracker = FaceTracker(faces)
    trace: list[dict[str, Any]] = []
    kept = detected = n = 0
    peak: dict[str, dict[str, Any]] = {}  # the largest turn each way while the face was kept
    ms: list[float] = []
    for i, (t, frame) in enumerate(frames(path)):
        start = time.perf_counter()
        rgb = faces.rgb(frame)
        seen = tracker.find(rgb, t)
        row: dict[str, Any] = {"frame": i, "t": round(t, 2), "state": "lost"}
        if seen is not None:
            pose = Pose.of(faces.landmarks(rgb, seen.box))
            b = seen.box
            row |= {
                "state": "detected" if seen.detected else "tracked",
                "box": [b.left, b.top, b.right, b.bottom],
                "yaw_deg": round(pose.yaw_deg, 1),
                "yaw_widths": round(pose.yaw, 3),
            }
            kept += 1
            detected += int(seen.detected)
            side = "left" if pose.yaw_deg > 0 else "right"
            if side not in peak or abs(pose.yaw_deg) > abs(peak[side]["yaw_deg"]):
                peak[side] = {k: row[k] for k in ("frame", "t", "state", "yaw_deg")}
        ms.append(1000 * (time.perf_counter() - start))
        n += 1
        if i % every == 0:
            trace.append(row)
    return {
        "clip": str(path),
        "frames": n,
        "kept": round(kept / n, 4) if n else 0.0,
        "detected": round(detected / n, 4) if n else 0.0,
        "peak_left": peak.get("left"),
        "peak_right": peak.get("right"),
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
    turns = [
        f"{abs(p['yaw_deg']):.1f} deg to the resident's {side} (frame {p['frame']}, {p['t']:.2f} s, {p['state']})"
        for side in ("left", "right")
        if (p := r[f"peak_{side}"]) is not None
    ]
    lines += [
        "",
        f"{r['clip']}: {r['frames']} frames, face kept in {100 * r['kept']:.1f}% "
        f"(detected {100 * r['detected']:.1f}%); {r['frame_ms']} ms a frame",
        "largest turn while kept: " + ("; ".join(turns) or "-"),
    ]
    return "\n".join(lines)

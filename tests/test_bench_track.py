"""`kiosk bench track`: the real tracker on a real clip of tests/data/face-clips."""

from __future__ import annotations

from pathlib import Path

from kiosk.bench import track

CLIP = Path(__file__).parent / "data" / "face-clips" / "grid_lipnet_bbaf2n.mpg"


def test_the_track_bench_keeps_the_face_of_a_real_clip_and_prints_its_trace() -> None:
    result = track.run(CLIP, every=5)
    assert result["frames"] > 20
    assert len(result["trace"]) == -(-result["frames"] // 5)  # every 5th frame, the first included
    assert result["kept"] >= 0.9, result  # the face is kept in (nearly) every frame of a frontal talker
    kept = [row for row in result["trace"] if row["state"] != "lost"]
    assert kept and all(len(row["box"]) == 4 and row["yaw_deg"] is not None for row in kept)
    assert all(abs(row["yaw_widths"]) < 0.1 for row in kept)  # a frontal talker: the nose near the midline
    peaks = [p for p in (result["peak_left"], result["peak_right"]) if p is not None]
    assert peaks and all(abs(p["yaw_deg"]) < 10 and p["state"] != "lost" for p in peaks), peaks  # +6.2 at most
    text = track.report(result)
    assert "face kept in" in text and str(result["frames"]) in text and "largest turn while kept" in text

"""`kiosk bench` prints one JSON line with the documented keys (figures are read by people, not asserted
against timings here)."""

from __future__ import annotations

import json

from kiosk.cli import main
from tests.conftest import shared_file


def bench(capsys, *args: str) -> dict:
    assert main(["bench", *args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one line"
    return json.loads(lines[0])


def test_bench_qr_on_the_shared_photos(capsys):
    result = bench(capsys, "qr", str(shared_file("zxing-qrcode")))
    assert result["images"] == 97
    assert set(result["decoders"]) == {"kiosk", "zxing-cpp", "opencv", "opencv-aruco"}
    kiosk = result["decoders"]["kiosk"]
    assert {"correct", "wrong", "ms_median"} <= set(kiosk)
    # deterministic decoding, not timing: the pipeline must never return a wrong text
    assert kiosk["wrong"] == 0 and kiosk["correct"] >= 95


def test_bench_faces_on_the_shared_pairs(capsys):
    folder = shared_file("faces")
    result = bench(capsys, "faces", str(folder), "--pairs", str(folder / "pairs.csv"))
    assert {"genuine", "impostor", "fnmr", "fmr", "threshold", "ms_detect", "ms_embed"} <= set(result)
    assert (result["genuine"], result["impostor"]) == (140, 380)
    assert result["fmr"] == 0.0, "no impostor pair may match at the configured threshold"


def test_bench_outbox_prints_its_figures_and_loses_nothing(capsys, tmp_path):
    result = bench(capsys, "outbox", "--events", "1200", "--dir", str(tmp_path))
    assert {"events", "drain_seconds", "append_ms_p50", "append_ms_p99"} <= set(result)
    assert (result["events"], result["received"], result["lost"], result["duplicated"]) == (1200, 1200, 0, 0)

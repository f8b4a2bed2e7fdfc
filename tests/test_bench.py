"""`kiosk bench` prints one JSON line with the documented keys (figures are read by people, not asserted
against timings here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kiosk.bench.ui_child import fit_per_100, slope_per_100
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


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("SDL_VIDEODRIVER"))


def kiosk_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`kiosk ARGS` as a process of its own, as a technician runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.ui
def test_bench_ui_walks_every_journey_in_the_real_window():
    if not has_display():
        if os.environ.get("CI"):
            raise RuntimeError("kiosk bench ui needs a display: run the tests under xvfb-run")
        pytest.skip("no display: run under xvfb-run")
    done = kiosk_command("bench", "ui", "--runs", "1", "--journeys", "12", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one line"
    result = json.loads(lines[0])
    assert {"cold_start_s", "rss_start_kib", "rss_end_kib", "rss_slope_kib_per_100", "journeys_per_second"} <= set(
        result
    )
    assert {"rss_slope_stderr_kib_per_100", "rss_slope_second_half_kib_per_100", "rss_end_trimmed_kib"} <= set(result)
    assert set(result["rss_parts_slope_kib_per_100"]) == {"anon", "file", "shmem"}
    assert result["rss_parts_end_kib"]["anon"] > 0 and result["rss_parts_end_kib"]["file"] > 0
    assert {"goals", "goals_met", "journeys", "journeys_completed", "kinds", "failures"} <= set(result)
    assert (result["journeys"], result["journeys_completed"], result["failures"]) == (12, 12, [])
    cold = result["cold_start_s"]
    assert 0 < cold["min"] <= cold["median"] <= cold["max"] and len(cold["runs_s"]) == 1
    assert all(v > 0 for v in cold["phases_s"].values())
    assert result["rss_start_kib"] > 0 and result["rss_end_kib"] > 0 and result["journeys_per_second"] > 0
    assert isinstance(result["rss_slope_kib_per_100"], float)
    assert result["goals"]["rss_flat"] is None, "12 journeys are all warm-up: the slope is not judged"


def test_bench_ui_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "SDL_VIDEODRIVER", "WAYLAND_DISPLAY")}
    done = kiosk_command("bench", "ui", "--runs", "1", "--journeys", "1", env=env)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "kiosk bench ui: no display: run it under xvfb-run, or set DISPLAY or SDL_VIDEODRIVER"
    ]


def test_rss_slope_is_least_squares_per_100_journeys():
    flat = [(j, 300_000 + (7 if j % 2 else -7)) for j in range(10, 500, 5)]
    slope = slope_per_100(flat)
    assert slope is not None and abs(slope) < 1
    growing = [(j, 300_000 + 3 * j) for j in range(10, 500, 5)]  # 3 KiB a journey
    assert slope_per_100(growing) == pytest.approx(300)
    assert fit_per_100(growing) == pytest.approx((300, 0)), "a straight line: no error"
    noisy = fit_per_100([(x, y + (500 if x % 10 else -500)) for x, y in growing])
    assert noisy is not None and noisy[0] == pytest.approx(300, abs=100) and noisy[1] > 0
    assert slope_per_100([(10, 300_000)]) is None

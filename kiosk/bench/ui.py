"""`kiosk bench ui`: the real Kivy window on the demo world. Cold start: a fresh interpreter from spawn to
the first drawn frame of the idle screen, `--runs` times. Memory: one process walking `--journeys` resident
journeys through the app (pickups, bookings, status lookups, refusals), RSS sampled as it goes, with the
office's real gateway serving in this (the parent) process, as a real kiosk's is another machine; flat
means the least-squares slope after the first 10% of journeys stays under RSS_FLAT_KIB_PER_100."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARKER = "KIOSK-BENCH-UI "  # the prefix of the one line a child reports on (then JSON)
COLD_START_GOAL_S = 3.0
RSS_FLAT_KIB_PER_100 = 64.0  # 100 journeys a day for a year: under 23 MiB
COLD_DEADLINE_S = 60.0
JOURNEYS_DEADLINE_S = 120.0  # plus JOURNEY_S for each journey
JOURNEY_S = 5.0
SLOPE_MIN_JOURNEYS = 100  # fewer, and the slope is still the warm-up's


class ChildFailed(SystemExit):
    """A child process crashed, timed out or reported nothing: the benchmark has no figures."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"kiosk bench ui: {what}: {detail}")


def _child(mode: str, data_dir: Path, args: list[str], deadline_s: float) -> tuple[float, dict[str, Any]]:
    """Run one child to its end (killed after `deadline_s`); the time.time() just before it was spawned
    and the JSON of its marker line."""
    cmd = [sys.executable, "-m", "kiosk.bench.ui_child", mode, "--data-dir", str(data_dir), *args]
    spawned = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ChildFailed(f"the {mode} child", f"killed after {deadline_s:.0f} s") from None
    lines = [line[len(MARKER) :] for line in out.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(f"the {mode} child exited with code {proc.returncode}", _what_failed(err))
    return spawned, json.loads(lines[-1])


def _what_failed(stderr: str) -> str:
    """The exception a child's traceback ends in, else its last line of stderr (libraries print notes at
    exit, zxing-cpp's nanobind among them, after the traceback)."""
    lines = stderr.splitlines()
    if "Traceback (most recent call last):" in lines:
        start = len(lines) - lines[::-1].index("Traceback (most recent call last):")
        unindented = [line for line in lines[start:] if line.strip() and not line.startswith(" ")]
        if unindented:
            return unindented[0]
    return next((line.strip() for line in reversed(lines) if line.strip()), "no output")


def cold_start(runs: int, folder: Path) -> dict[str, Any]:
    """Seconds from spawn to the first idle frame drawn, per run; with the phases of the median run."""
    starts: list[float] = []
    phases: list[dict[str, float]] = []
    for n in range(runs):
        spawned, marker = _child("cold", folder / f"cold-{n}", [], COLD_DEADLINE_S)
        starts.append(marker["drawn"] - spawned)
        phases.append(
            {
                "interpreter_and_kiosk_imports": marker["imported"] - spawned,
                "kivy_and_window": marker["kivy"] - marker["imported"],
                "world_and_app_build": marker["window"] - marker["kivy"],
                "first_frame": marker["drawn"] - marker["window"],
            }
        )
    median_run = sorted(range(runs), key=lambda i: starts[i])[(runs - 1) // 2]
    return {
        "min": round(min(starts), 3),
        "median": round(statistics.median(starts), 3),
        "max": round(max(starts), 3),
        "runs_s": [round(s, 3) for s in starts],
        "phases_s": {k: round(v, 3) for k, v in phases[median_run].items()},
    }


@contextlib.contextmanager
def serving_office(folder: Path, kinds: list[str], seed: int, start: float) -> Iterator[Path]:
    """The demo office's real gateway serving here, in the parent, for the journeys child (a real kiosk's
    gateway is another machine: the child's RSS is the kiosk's alone); the path of the RemoteOffice JSON
    the child reads. The kiosk's journal key is made where the child's world looks for it, and registered."""
    from kiosk.bench.ui_drive import people_needed
    from kiosk.gateway.head import HeadSigner
    from kiosk.sim.office import Office
    from kiosk.sim.remote_office import RemoteOffice

    per_status = people_needed(kinds)
    office = Office(folder / "gateway.db", seed, per_status=per_status, today=dt.date.fromtimestamp(start))
    try:
        office.start()
        world = folder / "journeys" / "world"
        world.mkdir(parents=True, exist_ok=True)
        remote = RemoteOffice.serving(office, per_status, HeadSigner.make_key_file(world / "journal.key"))
        spec = folder / "office.json"
        spec.write_text(remote.to_json())
        yield spec
    finally:
        office.close()


def run(runs: int, journeys: int, seed: int = 1, *, english: float = 0.0, trace: bool = False) -> dict[str, Any]:
    """Cold start `runs` times, then `journeys` journeys in one process (a share `english` of the
    residents switching to English); the figures and the goals met."""
    if not (os.environ.get("DISPLAY") or os.environ.get("SDL_VIDEODRIVER")):
        raise SystemExit("kiosk bench ui: no display: run it under xvfb-run, or set DISPLAY or SDL_VIDEODRIVER")
    if runs < 1 or journeys < 1 or not 0 <= english <= 1:
        raise SystemExit("kiosk bench ui: --runs and --journeys must be at least 1, --english from 0 to 1")
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-ui-") as tmp:
        folder = Path(tmp)
        cold = cold_start(runs, folder)
        from kiosk.bench.ui_drive import plan

        start = time.time() // 86400 * 86400  # midnight UTC: 08:00 in Kupang
        with serving_office(folder, plan(journeys, seed), seed, start) as office:
            args = ["--journeys", str(journeys), "--seed", str(seed), "--english", str(english)]
            args += ["--office", str(office), "--start", str(start)] + (["--trace"] if trace else [])
            _, memory = _child("journeys", folder / "journeys", args, JOURNEYS_DEADLINE_S + JOURNEY_S * journeys)
    slope = memory["rss_slope_kib_per_100"]
    cold_ok = cold["median"] <= COLD_START_GOAL_S
    flat = None if journeys < SLOPE_MIN_JOURNEYS or slope is None else slope <= RSS_FLAT_KIB_PER_100
    return {
        "runs": runs,
        "cold_start_s": cold,
        "cold_start_goal_s": COLD_START_GOAL_S,
        **memory,
        "rss_flat_limit_kib_per_100": RSS_FLAT_KIB_PER_100,
        "goals": {"cold_start": cold_ok, "rss_flat": flat},
        "goals_met": cold_ok and flat is True,
    }


def report(r: dict[str, Any]) -> str:
    c, goals = r["cold_start_s"], r["goals"]
    slope, stderr = r["rss_slope_kib_per_100"], r["rss_slope_stderr_kib_per_100"]
    flat = {True: "ok", False: "MISSED", None: f"not judged under {SLOPE_MIN_JOURNEYS} journeys"}[goals["rss_flat"]]
    cold = f"cold start, s ({r['runs']} runs)"
    late = "-" if r["rss_slope_second_half_kib_per_100"] is None else f"{r['rss_slope_second_half_kib_per_100']:.0f}"
    trimmed = "-" if r["rss_end_trimmed_kib"] is None else f"{r['rss_end_trimmed_kib'] / 1024:.1f} MiB"
    lines = [
        f"{'':<30}{'min':>8}{'median':>8}{'max':>8}  goal",
        f"{cold:<30}{c['min']:>8.2f}{c['median']:>8.2f}{c['max']:>8.2f}"
        f"  median <= {r['cold_start_goal_s']:g} s: {'ok' if goals['cold_start'] else 'MISSED'}",
        f"{'':<30}{'start':>8}{'end':>8}{'slope':>8}",
        f"{'RSS, MiB; slope KiB/100 j.':<30}{r['rss_start_kib'] / 1024:>8.1f}{r['rss_end_kib'] / 1024:>8.1f}"
        f"{'-' if slope is None else f'{slope:.0f}':>8}  flat, <= {r['rss_flat_limit_kib_per_100']:g}: {flat}"
        f"{'' if stderr is None else f' (standard error {stderr:.0f})'}",
        f"{'RSS slope over the second half, KiB/100 journeys':<54}{late}",
        f"{'RSS at the end, free heap returned (malloc_trim)':<54}{trimmed}",
        "RSS slope by kind, KiB/100 journeys: "
        + ", ".join(f"{k} {'-' if v is None else f'{v:.0f}'}" for k, v in r["rss_parts_slope_kib_per_100"].items()),
        f"journeys completed: {r['journeys_completed']} of {r['journeys']}, {r['journeys_per_second']} per second"
        f" (slope after the first {r['warmup_journeys']})",
        "median cold start: " + ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in c["phases_s"].items()),
    ]
    lines += [f"journey {f['journey']} ({f['kind']}) stuck {f['stuck']}" for f in r["failures"]]
    if "grown_since_warmup" in r:
        lines.append(f"Python heap grown since the warm-up: {r['python_heap_growth_kib']} KiB; most at")
        for g in r["grown_since_warmup"]:
            lines.append(f"  {g['kib']:>8} KiB {g['blocks']:>6} blocks  {' < '.join(g['where'])}")
    return "\n".join(lines)

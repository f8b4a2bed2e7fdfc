"""The child processes of `kiosk bench ui`, each a fresh interpreter with the kiosk's real Kivy window.

`cold`: build the demo world, open the window and report the wall-clock time at which the first frame
showing the idle screen was drawn. `journeys`: walk N residents through the app (the demo panel's acts on
the simulated parts, the screens' presses as their buttons post them), sampling RSS, and report the
figures. Each reports one line: MARKER, then JSON. Run by kiosk.bench.ui."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import random
import sys
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.bench.ui import MARKER
from kiosk.bench.ui_drive import MIX, Stuck, Walker, people_needed, plan, rss_kib
from kiosk.flow.model import Step
from kiosk.ops.memory import rss_parts_kib
from kiosk.sim.journeys import SimClock
from kiosk.sim.remote_office import RemoteOffice
from kiosk.sim.world import World, build_world, remote_world

if TYPE_CHECKING:  # Kivy is imported inside functions, once its environment is set (prepare_kivy)
    from kiosk.app import KioskApp

STUCK_IN_A_ROW = 10  # this many stuck journeys in a row: the app is wedged, stop walking
GAP_S = 60.0  # simulated seconds between two residents (500 journeys: 08:00 to 16:20 in Kupang)


def rss_trimmed_kib() -> int | None:
    """RSS once glibc has handed its free heap back to the system (None without glibc): what the
    process really holds, where RSS also counts the heap's high-water mark."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return rss_kib()


def prepare_kivy(data_dir: Path) -> None:
    """Keep Kivy off sys.argv, its log and ~/.kivy (a fresh home in `data_dir`, as on a first boot), as
    kiosk.cli's prepare_kivy_env does for `kiosk run`; not imported from there, since the cli imports
    the benchmarks. Before Kivy is imported."""
    for name, value in (("KIVY_NO_ARGS", "1"), ("KIVY_NO_FILELOG", "1"), ("KIVY_NO_CONSOLELOG", "1")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("KCFG_INPUT_MOUSE", "mouse,disable_multitouch")
    os.environ["KIVY_HOME"] = str(data_dir / "kivy")
    (data_dir / "kivy").mkdir(parents=True, exist_ok=True)  # Kivy refuses a missing home


def report(payload: dict[str, Any]) -> None:
    print(MARKER + json.dumps(payload), flush=True)


def open_kiosk(
    data_dir: Path, clock: Callable[[], float], camera_thread: bool, remote: RemoteOffice | None = None, **world: Any
) -> tuple[KioskApp, World]:
    """The demo world and the kiosk's window on it (no dev panel), opened but not yet drawn: its gateway
    in this process, or `remote`'s (serving in the parent)."""
    from kiosk.app import KioskApp, window_setup

    if remote is None:
        w: World = build_world(data_dir / "world", seed=1, clock=clock, **world)
    else:
        w = remote_world(data_dir / "world", remote, clock=clock, **world)
    w.sync.start()
    window_setup(True, w.cfg.display.width, w.cfg.display.height)
    app = KioskApp(w.kiosk, camera_thread=camera_thread)
    app.open_window()
    return app, w


def first_idle_frame(app: KioskApp, deadline_s: float) -> float:
    """Pump frames until one showing the idle screen is drawn; the time.time() once it was flipped."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    flipped: list[bool] = []

    def on_flip(*_: object) -> None:  # called just before the window's own handler swaps the buffers
        if app.root is not None and app.root.ids.sm.current == Step.IDLE.value:
            flipped.append(True)

    Window.bind(on_flip=on_flip)
    end = time.monotonic() + deadline_s
    while not flipped:
        if time.monotonic() > end:
            raise TimeoutError(f"no idle frame drawn within {deadline_s:.0f} s")
        EventLoop.idle()
    drawn = time.time()
    Window.unbind(on_flip=on_flip)
    return drawn


def cold(data_dir: Path) -> int:
    """Open the window, report when the first idle frame was drawn (and when each phase before it ended)."""
    imported = time.time()
    import kiosk.app  # noqa: F401  (Kivy, and its window, come up here)

    kivy = time.time()
    app, w = open_kiosk(data_dir, time.time, camera_thread=False, face_wait_s=0.0)
    built = time.time()
    drawn = first_idle_frame(app, 60.0)
    report({"drawn": drawn, "imported": imported, "kivy": kivy, "window": built})
    app.stop()
    w.close()
    return 0


def slope_per_100(points: Iterable[tuple[int, int]]) -> float | None:
    """Least-squares slope of (journey, RSS KiB) points, in KiB per 100 journeys."""
    fit = fit_per_100(points)
    return None if fit is None else fit[0]


def fit_per_100(points: Iterable[tuple[int, int]]) -> tuple[float, float] | None:
    """Least-squares slope of (journey, RSS KiB) points and its standard error, in KiB per 100 journeys
    (None with fewer than two journeys; the error is 0 with only two points)."""
    pts = list(points)
    n = len(pts)
    mx = sum(x for x, _ in pts) / n if n else 0.0
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if n < 2 or sxx == 0:
        return None
    my = sum(y for _, y in pts) / n
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
    residuals = sum((y - my - slope * (x - mx)) ** 2 for x, y in pts)
    stderr = math.sqrt(residuals / (n - 2) / sxx) if n > 2 else 0.0
    return 100 * slope, 100 * stderr


def where(tb: tracemalloc.Traceback) -> list[str]:
    """Where an allocation was made: its innermost two frames and the innermost three in the kiosk."""
    frames = [f"{f.filename}:{f.lineno}" for f in reversed(tb)]  # innermost first
    ours = [f for f in frames[2:] if f"{os.sep}kiosk{os.sep}" in f and "bench" not in f]
    return frames[:2] + ours[:3]


@dataclass
class Walked:
    """What walking the journeys came to: (journey, RSS KiB) samples, kind -> [walked, reached their end],
    the stuck journeys, the tracemalloc snapshot after the warm-up (with --trace) and the seconds taken."""

    samples: list[tuple[int, int]]
    done: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in MIX})
    failures: list[dict[str, Any]] = field(default_factory=list)
    baseline: tracemalloc.Snapshot | None = None
    seconds: float = 0.0
    parts: list[tuple[int, dict[str, int]]] = field(default_factory=list)  # (journey, rss_parts_kib) per sample


def open_for_journeys(
    data_dir: Path, kinds: list[str], remote: RemoteOffice, start: float
) -> tuple[KioskApp, World, SimClock]:
    """The window on a demo world with a card in the vault for every pickup, its idle screen drawn; the
    gateway is `remote`'s (the parent's), the simulated clock starts at `start`."""
    clock = SimClock(start)
    vault_slots = 6 * people_needed(kinds)
    app, w = open_kiosk(data_dir, clock, camera_thread=True, remote=remote, face_wait_s=5.0, vault_slots=vault_slots)
    first_idle_frame(app, 60.0)
    return app, w, clock


def walk_all(walker: Walker, kinds: list[str], warmup: int, trace: bool) -> Walked:
    """Walk the journeys one simulated minute apart, sampling RSS about every 1% of them; stop early if
    STUCK_IN_A_ROW journeys in a row got stuck."""
    count, every = len(kinds), max(1, len(kinds) // 100)
    walked = Walked([(0, walker.settled_rss())], parts=[(0, rss_parts_kib())])
    in_a_row = 0
    if trace:
        tracemalloc.start(30)
    t0 = time.perf_counter()
    for i, kind in enumerate(kinds, start=1):
        walker.clock.advance(GAP_S)
        in_a_row = 0 if walk_one(walker, i, kind, walked) else in_a_row + 1
        walker.forget_sim_records()
        walker.expire_timed_caches()
        if i % every == 0 or i == count or in_a_row >= STUCK_IN_A_ROW:
            walked.samples.append((i, walker.settled_rss()))
            walked.parts.append((i, rss_parts_kib()))
        if trace and i == warmup:
            walked.baseline = tracemalloc.take_snapshot()
        if in_a_row >= STUCK_IN_A_ROW:
            break
    walked.seconds = time.perf_counter() - t0
    return walked


def walk_one(walker: Walker, i: int, kind: str, walked: Walked) -> bool:
    """Journey `i`, counted in `walked`; whether it reached its end (if not, the walker recovers)."""
    walked.done[kind][0] += 1
    try:
        walker.walk(kind)
    except Stuck as exc:
        walked.failures.append({"journey": i, "kind": kind, "stuck": str(exc)})
        walker.recover()
        return False
    walked.done[kind][1] += 1
    return True


def figures(walked: Walked, warmup: int, kiosk_errors: int) -> dict[str, Any]:
    """The journeys child's report, but for the trimmed RSS (measured last) and the heap's growth."""
    samples, done = walked.samples, walked.done
    n_walked = sum(n for n, _ in done.values())
    fit = fit_per_100(p for p in samples if p[0] >= warmup)
    late = slope_per_100(p for p in samples if p[0] >= n_walked / 2)
    return {
        "journeys": n_walked,
        "journeys_completed": sum(ok for _, ok in done.values()),
        "journeys_per_second": round(n_walked / walked.seconds, 2),
        "rss_start_kib": samples[0][1],
        "rss_end_kib": samples[-1][1],
        "rss_peak_kib": max(kib for _, kib in samples),
        "rss_slope_kib_per_100": None if fit is None else round(fit[0], 1),
        "rss_slope_stderr_kib_per_100": None if fit is None else round(fit[1], 1),
        "rss_slope_second_half_kib_per_100": None if late is None else round(late, 1),
        "rss_end_trimmed_kib": None,  # measured last: trimming the heap changes what RSS reads
        # where a slope comes from: the heaps, or code and files paged in
        "rss_parts_slope_kib_per_100": parts_slopes(walked.parts, warmup),
        "rss_parts_end_kib": walked.parts[-1][1] if walked.parts else None,
        "warmup_journeys": warmup,
        "rss_samples": samples,
        "kinds": {k: {"walked": n, "completed": ok} for k, (n, ok) in done.items() if n},
        "failures": walked.failures[:20],
        "kiosk_errors": kiosk_errors,
    }


def parts_slopes(parts: list[tuple[int, dict[str, int]]], warmup: int) -> dict[str, float | None]:
    """The slope after the warm-up of each kind of resident memory (rss_parts_kib), KiB per 100 journeys."""
    slopes = {}
    for kind in ("anon", "file", "shmem"):
        fit = slope_per_100((i, p[kind]) for i, p in parts if i >= warmup)
        slopes[kind] = None if fit is None else round(fit, 1)
    return slopes


def heap_growth(baseline: tracemalloc.Snapshot) -> dict[str, Any]:
    """The Python heap's growth since the warm-up, and the 10 sites that grew most."""
    grown = tracemalloc.take_snapshot().compare_to(baseline, "traceback")
    return {
        "python_heap_growth_kib": round(sum(g.size_diff for g in grown) / 1024, 1),
        "grown_since_warmup": [
            {"kib": round(g.size_diff / 1024, 1), "blocks": g.count_diff, "where": where(g.traceback)}
            for g in grown[:10]
        ],
    }


def journeys(
    data_dir: Path, count: int, seed: int, office: Path, start: float, *, trace: bool = False, english: float = 0.0
) -> int:
    """Walk `count` journeys through the window, sampling RSS, against the gateway `office` describes
    (RemoteOffice JSON, serving in the parent); report the figures."""
    kinds = plan(count, seed)
    app, w, clock = open_for_journeys(data_dir, kinds, RemoteOffice.from_json(office.read_text()), start)
    walker = Walker(app, w, clock, random.Random(seed), english)
    warmup = max(1, count // 10)
    walked = walk_all(walker, kinds, warmup, trace)
    result = figures(walked, warmup, w.kiosk.counters.errors)
    if walked.baseline is not None:
        result.update(heap_growth(walked.baseline))
    gc.collect()
    result["rss_end_trimmed_kib"] = rss_trimmed_kib()
    report(result)
    app.stop()
    w.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.bench.ui_child", description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cold", help="open the window, report the first idle frame, exit")
    c.add_argument("--data-dir", type=Path, required=True)
    j = sub.add_parser("journeys", help="walk journeys through the window, report RSS and counts")
    j.add_argument("--data-dir", type=Path, required=True)
    j.add_argument("--journeys", type=int, default=500)
    j.add_argument("--seed", type=int, default=1)
    j.add_argument("--trace", action="store_true", help="tracemalloc: the 10 sites that grew most after warm-up")
    j.add_argument("--english", type=float, default=0.0, help="share of residents who switch to English (0-1)")
    j.add_argument("--office", type=Path, required=True, help="the parent's gateway (RemoteOffice JSON)")
    j.add_argument("--start", type=float, required=True, help="the simulated clock's start (Unix time)")
    args = parser.parse_args(argv)
    prepare_kivy(args.data_dir)
    try:
        if args.mode == "cold":
            return cold(args.data_dir)
        return journeys(
            args.data_dir, args.journeys, args.seed, args.office, args.start, trace=args.trace, english=args.english
        )
    except Exception:  # Kivy points sys.stderr at its log, which the kiosk silences: say it where it shows
        traceback.print_exc(file=sys.__stderr__)
        return 1


if __name__ == "__main__":
    sys.exit(main())

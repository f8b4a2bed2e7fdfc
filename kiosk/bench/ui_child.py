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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bench.ui import MARKER
from kiosk.flow import events as ev
from kiosk.flow.model import Session, Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing, PrintedCard
from kiosk.identity.ticket import Service
from kiosk.sim.journeys import SimClock
from kiosk.sim.seed import Resident
from kiosk.sim.world import World, build_world

if TYPE_CHECKING:  # Kivy is imported inside functions, once its environment is set (prepare_kivy)
    from kiosk.app import KioskApp

JOURNEY_DEADLINE_S = 30.0  # wall-clock time one journey may take before it counts as stuck
STUCK_IN_A_ROW = 10  # this many stuck journeys in a row: the app is wedged, stop walking
GAP_S = 60.0  # simulated seconds between two residents (500 journeys: 08:00 to 16:20 in Kupang)
# journey kind -> weight: the demo's mix of pickups, bookings, status lookups, refusals and give-ups
MIX = {
    "pickup": 24,
    "booking": 16,
    "status": 16,
    "forged_ticket": 4,
    "expired_ticket": 4,
    "foreign_ticket": 4,
    "used_ticket": 4,
    "cancel": 5,
    "help": 5,
}
REFUSALS = ("forged_ticket", "expired_ticket", "foreign_ticket", "used_ticket")
ASKING = ("verification", "printing", "waiting_blanko", "ready_elsewhere")  # statuses a lookup shows


class Stuck(Exception):
    """A journey did not reach the step it was waiting for."""


def rss_kib() -> int:
    """This process's resident set size in KiB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


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


def open_kiosk(data_dir: Path, clock: Callable[[], float], camera_thread: bool, **world: Any) -> tuple[KioskApp, World]:
    """The demo world and the kiosk's window on it (no dev panel), opened but not yet drawn."""
    from kiosk.app import KioskApp, window_setup

    w = build_world(data_dir / "world", seed=1, clock=clock, **world)
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


class Walker:
    """Walks residents through the real app: the demo panel's acts on the simulated camera, reader and
    vault, the screens' presses posted as their buttons post them, frames pumped until each step shows."""

    def __init__(self, app: KioskApp, world: World, clock: SimClock, rng: random.Random, english: float) -> None:
        self.app, self.w, self.clock, self.rng = app, world, clock, rng
        self.english = english  # the share of residents who switch the screens to English
        self.deadline = 0.0
        self.last_accepted = ""  # the last ticket that started a visit (shown again: used_ticket)
        self.pickups = iter(world.residents("ready_here"))  # each card leaves the vault once
        self.bookers = world.residents("never_recorded")
        self.asking = [r for r in world.gateway.residents if r.status in ASKING]

    # -- frames and steps -------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.w.kiosk.session

    def frame(self) -> None:
        from kivy.base import EventLoop

        EventLoop.idle()
        if time.monotonic() > self.deadline:
            raise Stuck(f"at {self.session.step.value}")

    def shows(self, step: Step) -> bool:
        """Whether the window's current screen is this step's."""
        return self.app.root is not None and self.app.root.ids.sm.current == step.value

    def until(self, *steps: Step, after: Session | None = None, check: Callable[[], bool] | None = None) -> None:
        """Pump frames until the session is at one of `steps` (and differs from `after`), its screen is
        current and drawn; a refusal nobody waited for ends the journey at once."""
        refused_before = self.session.step == Step.REFUSED
        while True:
            s = self.session
            if s.step in steps and (after is None or s != after) and (check is None or check()) and self.shows(s.step):
                break
            if s.step == Step.REFUSED and not refused_before and Step.REFUSED not in steps:
                raise Stuck(f"refused: {s.reason.value if s.reason else '?'}")
            self.frame()
        self.frame()  # that step's screen, drawn

    def press(self, action: str, value: str = "", *steps: Step) -> None:
        """A button on screen: post what it posts, then wait for one of `steps` (if any)."""
        before = self.session
        self.app.post(ev.Press(action, value))
        if steps:
            self.until(*steps, after=before)

    # -- what the demo panel does -----------------------------------------------------------------

    def show_ticket(self, r: Resident, service: Service, **kw: Any) -> str:
        text = self.w.gateway.issue_ticket(r, service, **{"now": self.clock(), **kw})
        self.w.camera.show(HeldTicket(text))
        return text

    def put_away(self) -> None:
        self.w.camera.show(Nothing())

    def present_card(self, r: Resident, *steps: Step) -> None:
        """The old KTP: on the reader if it has a chip, else held up to the camera (or, one time in
        three, its NIK typed on the keypad)."""
        if r.old_chip_uid:
            self.w.reader.insert(r.old_chip_uid)
            self.until(*steps, Step.NIK_ENTRY)
            self.w.reader.remove()
            if self.session.step != Step.NIK_ENTRY:  # else the chip could not be checked: type the NIK
                return
        elif self.rng.random() < 1 / 3:
            self.press(ev.TYPE_NIK, "", Step.NIK_ENTRY)
        else:
            self.w.camera.show(PrintedCard(r.nik))
            self.until(*steps)
            self.put_away()
            return
        before = self.session
        self.app.post(ev.NikRead(r.nik, "typed"))  # what the keypad's OK posts
        self.until(*steps, after=before)

    def start_visit(self, r: Resident, service: Service) -> None:
        text = self.show_ticket(r, service)
        self.until(Step.CARD)
        self.put_away()
        self.last_accepted = text
        if self.english and self.rng.random() < self.english:
            self.press(ev.LANGUAGE, "", Step.CARD)

    def finish(self) -> None:
        if self.session.step != Step.REFUSED and self.rng.random() < 0.5:
            self.press(ev.PRINT)
        self.press(ev.FINISH, "", Step.IDLE)

    # -- journeys ---------------------------------------------------------------------------------

    def walk(self, kind: str) -> None:
        """One resident's journey of this kind, to its end screen and back to idle; Stuck if not."""
        self.deadline = time.monotonic() + JOURNEY_DEADLINE_S
        everyone = self.w.gateway.residents
        if kind == "pickup":
            r = next(self.pickups)
            self.start_visit(r, Service.PICKUP)
            self.present_card(r, Step.FACE, Step.RELEASE)
            self.w.camera.show(Face(r.person))
            self.until(Step.RELEASE, check=lambda: self.w.vault.moving is not None)
            self.put_away()
            self.w.vault.take()
            self.until(Step.TAP_NEW)
            self.w.reader.insert(r.new_chip_uid or "")
            self.until(Step.HANDED_OVER)
            self.w.reader.remove()
            self.finish()
        elif kind == "booking":
            r = self.rng.choice(self.bookers)
            self.start_visit(r, Service.RECORDING)
            self.present_card(r, Step.CHOOSE_OFFICE)
            for office in self.session.offices:  # the first office with free days
                self.press(ev.CHOOSE_OFFICE, office.office_id, Step.CHOOSE_DAY, Step.CHOOSE_OFFICE)
                if self.session.step == Step.CHOOSE_DAY:
                    break
            self.press(ev.CHOOSE_DAY, self.rng.choice(self.session.days), Step.CHOOSE_TIME)
            self.press(ev.CHOOSE_TIME, self.rng.choice(self.session.times).time, Step.BOOKED)
            self.finish()
        elif kind == "status":
            r = self.rng.choice(self.asking)
            self.start_visit(r, Service.STATUS)
            self.present_card(r, Step.STATUS)
            self.finish()
        elif kind in REFUSALS:
            self.refused_ticket(kind, self.rng.choice(everyone))
        elif kind == "cancel":
            self.start_visit(self.rng.choice(everyone), Service.STATUS)
            self.press(ev.CANCEL, "", Step.IDLE)
        elif kind == "help":
            self.start_visit(self.rng.choice(everyone), Service.STATUS)
            self.press(ev.HELP, "", Step.CARD)
            self.press(ev.CANCEL, "", Step.IDLE)
        else:
            raise ValueError(f"unknown journey kind {kind}")

    def refused_ticket(self, kind: str, r: Resident) -> None:
        if kind == "forged_ticket":
            self.show_ticket(r, Service.STATUS, key=Ed25519PrivateKey.generate())
        elif kind == "expired_ticket":
            self.show_ticket(r, Service.STATUS, now=self.clock() - 8 * 3600, valid_s=3600)
        elif kind == "foreign_ticket":
            self.show_ticket(r, Service.STATUS, office="KEC-01")
        else:
            self.w.camera.show(HeldTicket(self.last_accepted))
        self.until(Step.REFUSED)
        self.put_away()
        self.finish()

    def recover(self) -> None:
        """After a stuck journey: everything put away and the resident gone; the kiosk times out to idle."""
        self.put_away()
        self.w.reader.remove()
        self.app.post(ev.Press(ev.CANCEL))
        self.deadline = time.monotonic() + JOURNEY_DEADLINE_S
        while self.session.step != Step.IDLE:
            self.clock.advance(30)  # past any step's timeout within a few ticks
            self.w.kiosk.tick()
            self.frame()

    def settled_rss(self, reads: int = 5) -> int:
        """RSS after a garbage collection, the least of a few reads a frame apart: the camera's frames
        (2.7 MB each, several alive at any moment) come and go between reads; what stays is held."""
        from kivy.base import EventLoop

        gc.collect()
        least = rss_kib()
        for _ in range(reads - 1):
            EventLoop.idle()
            least = min(least, rss_kib())
        return least

    def forget_sim_records(self) -> None:
        """The simulators keep what they did for tests to inspect (slips printed, lights, gates, requests);
        real parts and a remote gateway keep none of it in the kiosk's process, so neither does this."""
        self.w.printer.printed.clear()
        self.w.indicators.history.clear()
        self.w.vault.history.clear()
        self.w.gateway.access_log.clear()


def plan(journeys: int, seed: int) -> list[str]:
    """The journey kinds in order, drawn from MIX; the same for a given seed."""
    kinds = random.Random(seed).choices(list(MIX), weights=list(MIX.values()), k=journeys)
    if kinds and kinds[0] == "used_ticket":  # no ticket was shown before the first resident
        kinds[0] = "status"
    return kinds


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


def journeys(data_dir: Path, count: int, seed: int, *, trace: bool = False, english: float = 0.0) -> int:
    """Walk `count` journeys through the window, sampling RSS; report the figures."""
    kinds = plan(count, seed)
    # every pickup takes a card out of the vault for good: enough ready_here residents for all of them
    # (`per_status` residents in each status in each of the six kecamatan)
    per_status = max(2, math.ceil((kinds.count("pickup") + 1) / 6))
    clock = SimClock(time.time() // 86400 * 86400)  # midnight UTC: 08:00 in Kupang
    app, w = open_kiosk(
        data_dir, clock, camera_thread=True, face_wait_s=5.0, per_status=per_status, vault_slots=6 * per_status
    )
    first_idle_frame(app, 60.0)
    walker = Walker(app, w, clock, random.Random(seed), english)
    warmup, every = max(1, count // 10), max(1, count // 100)
    samples = [(0, walker.settled_rss())]
    done = {k: [0, 0] for k in MIX}  # kind -> [walked, reached their end]
    failures: list[dict[str, Any]] = []
    in_a_row = 0
    baseline: tracemalloc.Snapshot | None = None
    if trace:
        tracemalloc.start(30)
    t0 = time.perf_counter()
    for i, kind in enumerate(kinds, start=1):
        clock.advance(GAP_S)
        done[kind][0] += 1
        try:
            walker.walk(kind)
        except Stuck as exc:
            failures.append({"journey": i, "kind": kind, "stuck": str(exc)})
            in_a_row += 1
            walker.recover()
        else:
            done[kind][1] += 1
            in_a_row = 0
        walker.forget_sim_records()
        if i % every == 0 or i == count or in_a_row >= STUCK_IN_A_ROW:
            samples.append((i, walker.settled_rss()))
        if trace and i == warmup:
            baseline = tracemalloc.take_snapshot()
        if in_a_row >= STUCK_IN_A_ROW:
            break
    seconds = time.perf_counter() - t0
    walked = sum(n for n, _ in done.values())
    fit = fit_per_100(p for p in samples if p[0] >= warmup)
    late = slope_per_100(p for p in samples if p[0] >= walked / 2)
    result: dict[str, Any] = {
        "journeys": walked,
        "journeys_completed": sum(ok for _, ok in done.values()),
        "journeys_per_second": round(walked / seconds, 2),
        "rss_start_kib": samples[0][1],
        "rss_end_kib": samples[-1][1],
        "rss_peak_kib": max(kib for _, kib in samples),
        "rss_slope_kib_per_100": None if fit is None else round(fit[0], 1),
        "rss_slope_stderr_kib_per_100": None if fit is None else round(fit[1], 1),
        "rss_slope_second_half_kib_per_100": None if late is None else round(late, 1),
        "rss_end_trimmed_kib": None,  # measured last: trimming the heap changes what RSS reads
        "warmup_journeys": warmup,
        "rss_samples": samples,
        "kinds": {k: {"walked": n, "completed": ok} for k, (n, ok) in done.items() if n},
        "failures": failures[:20],
        "kiosk_errors": w.kiosk.counters.errors,
    }
    if baseline is not None:
        grown = tracemalloc.take_snapshot().compare_to(baseline, "traceback")
        result["python_heap_growth_kib"] = round(sum(g.size_diff for g in grown) / 1024, 1)
        result["grown_since_warmup"] = [
            {"kib": round(g.size_diff / 1024, 1), "blocks": g.count_diff, "where": where(g.traceback)}
            for g in grown[:10]
        ]
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
    args = parser.parse_args(argv)
    prepare_kivy(args.data_dir)
    try:
        if args.mode == "cold":
            return cold(args.data_dir)
        return journeys(args.data_dir, args.journeys, args.seed, trace=args.trace, english=args.english)
    except Exception:  # Kivy points sys.stderr at its log, which the kiosk silences: say it where it shows
        traceback.print_exc(file=sys.__stderr__)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""`kiosk bench soak --days D`: a simulated week at one kiosk, with the link flapping and hardware faults
injected, on simulated time (the flow, the sync worker's backoff and the gateway client's retries all run
on one SimClock, so a week takes minutes).

Every simulated day: the operator's morning round at 07:00 (staff card and PIN through the real flow,
alarms cleared, a jammed slot freed, paper refilled, the vault refilled from the manifest as
kiosk.sim.world.load_vault_from_manifest does for the demo), then `--per-day` journeys of the
`kiosk simulate` mix spread over the day. Pickups come from residents whose card is in the vault (as they
would after the office's SMS). Faults, drawn per day from the seed:

- link outages: 0-4 a day, 2 minutes to 6 hours each, and one of 8 hours on day 3 (the gateway answers 503);
- a slot jammed (the card sticks: the release fails and the slot is taken out of service);
- the card reader lost for 30-120 minutes (its health fails: no pickups meanwhile);
- the printer out of paper until the next morning round;
- the service door opened for two minutes (tamper: releases stop until the round clears the alarm).

Answers are never dropped mid-way here (tests/test_gateway.py and `kiosk bench fuzz gateway` cover
that), so a redelivered event is one the kiosk sent twice for no reason. At the end the link comes back
and the outbox drains. Figures: journeys, RSS at the start, after the first day (the warm-up) and at the
end, the RSS slope per simulated day (least squares over the day-end samples after the first day), open
file descriptors and threads after the first day and at the end, events lost (queued at the kiosk, never
received) and duplicated (received more than once), journal breaks, and the wall time. The goal: lost 0,
duplicated 0, journal breaks 0, |slope| <= 1 MiB/day, fds and threads no higher at the end than after
day 1. The gateway (kiosk.sim.office) runs in the same process, so its memory is in the figures too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.gateway.client import GatewayError
from kiosk.ops.memory import release_free_heap, rss_kib
from kiosk.sim.journeys import DAY_S, KINDS, SimClock, Visitor, simulated_world, walk_journey
from kiosk.sim.office import STATUSES
from kiosk.sim.world import DEMO_OPERATOR_PIN, DEMO_OPERATOR_UID, World, load_vault_from_manifest

LONG_OUTAGE_DAY, LONG_OUTAGE_S = 2, 8 * 3600  # day 3 (from 0): the outage the issue saw RSS climb in
SLOPE_GOAL_KIB = 1024
FAULTS = ("outage", "jam", "reader", "paper", "door")
ROUND_AT_S = 7 * 3600  # the operator's morning round


@dataclass
class Day:
    """One simulated day's fault plan (times in seconds after midnight)."""

    outages: list[tuple[float, float]]
    jam_at: float | None
    reader_lost: tuple[float, float] | None
    paper_out_at: float | None
    door_at: float | None


@dataclass
class Tally:
    faults: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("outage", "jam", "reader", "paper", "door"), 0)
    )
    rss_kib: list[int] = field(default_factory=list)  # at the end of each day
    fds: list[int] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)


def plan_day(rng: random.Random, index: int) -> Day:
    """The faults of day `index`, drawn from `rng`."""
    outages = []
    for _ in range(rng.randrange(5)):
        start = rng.uniform(0, DAY_S)
        outages.append((start, start + min(6 * 3600, max(120, rng.lognormvariate(7.5, 1.2)))))
    if index == LONG_OUTAGE_DAY:
        outages.append((9 * 3600, 9 * 3600 + LONG_OUTAGE_S))
    lost_at = rng.uniform(8 * 3600, 20 * 3600)
    return Day(
        outages,
        rng.uniform(8 * 3600, 20 * 3600) if rng.random() < 0.5 else None,
        (lost_at, lost_at + rng.uniform(1800, 7200)) if rng.random() < 0.3 else None,
        rng.uniform(8 * 3600, 20 * 3600) if rng.random() < 0.4 else None,
        rng.uniform(8 * 3600, 20 * 3600) if rng.random() < 0.2 else None,
    )


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _threads() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def morning_round(w: World, v: Visitor) -> None:
    """Staff card and PIN, alarms cleared, the jam freed and the paper refilled, the vault refilled."""
    if w.kiosk.session.step != Step.IDLE:
        v.walk_away()
    w.vault.jammed.clear()
    w.vault.open_door(False)
    w.printer.paper = True
    w.reader.insert(DEMO_OPERATOR_UID)
    w.kiosk.pump()
    v.wait(10)
    w.kiosk.dispatch(ev.PinEntered(DEMO_OPERATOR_PIN))
    w.kiosk.pump()
    if w.kiosk.session.step == Step.OPERATOR:
        v.press(ev.CLEAR_ALARMS)
        v.press(ev.FINISH)
    w.reader.remove()
    w.kiosk.pump()
    with contextlib.suppress(GatewayError):  # the link is down this morning: the vault is refilled tomorrow
        load_vault_from_manifest(w.kiosk, w.vault, w.client.manifest())


def _inject(w: World, day: Day, t0: float, t1: float, tally: Tally, rng: random.Random) -> None:
    """Start or end the faults of `day` whose moment falls in [t0, t1) (seconds after midnight)."""
    w.gateway.faults.down = any(a <= t1 < b for a, b in day.outages)
    tally.faults["outage"] += sum(1 for a, _ in day.outages if t0 <= a < t1)
    if day.jam_at is not None and t0 <= day.jam_at < t1:
        held = [c.slot for c in w.store.inventory()]
        if held:
            w.vault.jam(rng.choice(held))
            tally.faults["jam"] += 1
    if day.reader_lost is not None:
        lost, back = day.reader_lost
        if t0 <= lost < t1:
            w.reader.stop()
            tally.faults["reader"] += 1
        if t0 <= back < t1:
            w.reader.start()
    if day.paper_out_at is not None and t0 <= day.paper_out_at < t1:
        w.printer.paper = False
        tally.faults["paper"] += 1
    if day.door_at is not None and t0 <= day.door_at < t1:
        w.vault.open_door(True)
        w.kiosk.tick()
        w.vault.open_door(False)
        tally.faults["door"] += 1


def _sample(tally: Tally) -> None:
    release_free_heap()
    tally.rss_kib.append(rss_kib())
    tally.fds.append(_fds())
    tally.threads.append(_threads())


def slope_per_day(samples: list[int]) -> float:
    """Least-squares slope of day-end samples (KiB per day); 0 with fewer than two."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(samples) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(samples))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def run(days: int, per_day: int = 300, seed: int = 1, data_dir: Path | None = None) -> dict[str, Any]:
    """Soak one kiosk for `days` simulated days; the figures (see the module docstring)."""
    rng = random.Random(seed)
    wall0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        base = data_dir or Path(tmp)
        world, clock = simulated_world(base, seed, per_status=max(8, days * per_day // 20))
        try:
            return _soak(world, clock, rng, days, per_day, seed, clock(), wall0)
        finally:
            world.close()


def _soak(
    w: World, clock: SimClock, rng: random.Random, days: int, per_day: int, seed: int, start: float, wall0: float
) -> dict[str, Any]:
    v = Visitor(w, clock, rng)
    tally = Tally()
    release_free_heap()
    rss0, journeys = rss_kib(), 0
    ready = [r for r in w.gateway.residents if r.status == "ready_here"]
    by_status = {s: w.residents(s) for s in STATUSES}
    everyone = w.gateway.residents
    for d in range(days):
        midnight = start + d * DAY_S
        w.gateway.today = dt.date.fromtimestamp(midnight)
        day = plan_day(random.Random(f"{seed}:day:{d}"), d)
        clock.now = max(clock.now, midnight + ROUND_AT_S)
        _inject(w, day, 0, ROUND_AT_S, tally, rng)
        morning_round(w, v)
        last = clock.now - midnight
        for i in range(per_day):
            at = ROUND_AT_S + (DAY_S - ROUND_AT_S) * i / per_day
            clock.now = max(clock.now, midnight + at)
            now = clock.now - midnight
            _inject(w, day, last, now, tally, rng)
            last = now
            v.rng = journey_rng = random.Random(f"{seed}:{d}:{i}")
            kind = journey_rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
            in_vault = {c.card_id for c in w.store.inventory()}
            by_status["ready_here"] = [r for r in ready if r.card_id in in_vault] or ready
            walk_journey(v, kind, journey_rng, by_status, everyone)
            if w.kiosk.session.step != Step.IDLE:
                v.walk_away()
            w.sync.tick()
            journeys += 1
        _inject(w, day, last, DAY_S, tally, rng)
        _sample(tally)
    w.gateway.faults.down = False
    w.reader.start()
    w.sync.drain_once()
    return _figures(w, tally, days, per_day, journeys, rss0, wall0)


def _figures(w: World, tally: Tally, days: int, per_day: int, journeys: int, rss0: int, wall0: float) -> dict[str, Any]:
    after_warmup = tally.rss_kib[1:] if len(tally.rss_kib) > 2 else tally.rss_kib
    slope = slope_per_day(after_warmup)
    received = w.gateway.event_ids()
    return {
        "days": days,
        "journeys_per_day": per_day,
        "journeys": journeys,
        "outcomes": dict(sorted(w.kiosk.counters.outcomes.items())),
        "faults": tally.faults,
        "rss_start_kib": rss0,
        "rss_day1_kib": tally.rss_kib[0],
        "rss_end_kib": tally.rss_kib[-1],
        "rss_by_day_kib": tally.rss_kib,
        "rss_slope_kib_per_day": round(slope, 1),
        "fds_day1": tally.fds[0],
        "fds_end": tally.fds[-1],
        "threads_day1": tally.threads[0],
        "threads_end": tally.threads[-1],
        "python_threads_end": threading.active_count(),
        "events_sent": len(w.store.outbox_ids()),
        "events_lost": len(w.store.outbox_ids() - received),
        "events_duplicated": w.gateway.events_redelivered(),
        "outbox_pending": w.store.pending_count(),
        "journal_breaks": len(w.store.verify_journal()),
        "wall_s": round(time.monotonic() - wall0, 1),
    }


def held(r: dict[str, Any]) -> bool:
    """Every goal of the soak held."""
    return (
        r["events_lost"] == 0
        and r["events_duplicated"] == 0
        and r["journal_breaks"] == 0
        and abs(r["rss_slope_kib_per_day"]) <= SLOPE_GOAL_KIB
        and r["fds_end"] <= r["fds_day1"]
        and r["threads_end"] <= r["threads_day1"]
    )


def report(r: dict[str, Any]) -> str:
    """The soak's figures as a table."""
    rows = [
        ("simulated days", f"{r['days']} ({r['journeys_per_day']} journeys a day)"),
        ("journeys", str(r["journeys"])),
        ("outcomes", ", ".join(f"{k} {n}" for k, n in r["outcomes"].items())),
        ("faults injected", ", ".join(f"{k} {n}" for k, n in r["faults"].items())),
        (
            "RSS start / after day 1 / end",
            f"{r['rss_start_kib'] / 1024:.1f} / {r['rss_day1_kib'] / 1024:.1f} / {r['rss_end_kib'] / 1024:.1f} MiB",
        ),
        ("RSS slope after day 1", f"{r['rss_slope_kib_per_day'] / 1024:+.2f} MiB per simulated day (goal within 1)"),
        ("open fds after day 1 / end", f"{r['fds_day1']} / {r['fds_end']}"),
        ("threads after day 1 / end", f"{r['threads_day1']} / {r['threads_end']}"),
        ("events sent / lost / duplicated", f"{r['events_sent']} / {r['events_lost']} / {r['events_duplicated']}"),
        ("journal breaks", str(r["journal_breaks"])),
        ("wall time", f"{r['wall_s']} s"),
        ("verdict", "held" if held(r) else "FAILED"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {val}" for k, val in rows)

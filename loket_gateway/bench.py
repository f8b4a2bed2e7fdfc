"""`loket-gateway bench --kiosks N`: N simulated kiosks against the real server on PostgreSQL.

The deployed path: `loket-gateway serve` (gunicorn gthread workers, mutual TLS, every request and answer
checked against the contract) as a subprocess over PostgreSQL (a throwaway server started with
initdb/pg_ctl on a Unix socket when no --database is given). Each kiosk enrols with a one-time token and
a certificate request (the gateway's CA signs it) and then, every compressed minute, sends a signed
heartbeat and a batch of events, and at the peak rate spends a queue ticket and looks a resident up;
every fourth visit lists slots and books. Some batches are sent again (an answer lost on the way), as a
kiosk's outbox does. Afterwards the database is read: every event sent is stored exactly once, and no
slot holds more bookings and leased places than its capacity.

Client cost: each kiosk is a thread with one persistent http.client connection (no requests, bodies
built before the clock starts); the kiosks are spread over a few client processes (--client-procs), so
one GIL does not serialise them. The latency is the client's, from sending to the answer read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loket_gateway.bench_kiosk import KINDS, BenchOptions, KioskPlan, client_process, plan_kiosk
from loket_gateway.bench_setup import ThrowawayPostgres, make_pki, serve
from loket_gateway.db import Database

__all__ = ["KINDS", "BenchOptions", "run_bench", "table"]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _prepare(db: Database, o: BenchOptions, today: dt.date) -> tuple[str, list[KioskPlan]]:
    """Migrate, seed the demo town (10 residents per status and kecamatan), and a token and plan per kiosk."""
    from sqlalchemy import select

    from loket_gateway.db import migrate
    from loket_gateway.demo import KIOSK_OFFICE, seed_demo
    from loket_gateway.gateway import Gateway
    from loket_gateway.schema import residents

    migrate(db)
    gateway = Gateway(db, today=today)
    seed_demo(gateway, o.seed, today=today, per_status=10)
    rng = random.Random(o.seed)
    run = f"r{rng.getrandbits(32):08x}{time.time_ns() & 0xFFFF:04x}"  # this run's IDs, apart from earlier runs'
    with db.read() as conn:
        niks = [r[0] for r in conn.execute(select(residents.c.nik).order_by(residents.c.nik))]
    plans = []
    for n in range(o.kiosks):
        kiosk_id = f"BENCH-{n:04d}"
        plans.append(plan_kiosk(rng, kiosk_id, gateway.fleet.issue_enrolment_token(kiosk_id, KIOSK_OFFICE), o, niks))
    return run, plans


def _drive(plans: list[KioskPlan], port: int, ca: Path, run: str, o: BenchOptions, day: str) -> list[dict[str, Any]]:
    """The kiosks over a few client processes (forked: nothing to import again); each one's results."""
    start = time.time() + 5 + o.kiosks * 0.02  # enrolment first, not timed
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = min(o.client_procs, o.kiosks)
    clients = [
        ctx.Process(
            target=client_process, args=(plans[i::procs], "127.0.0.1", port, str(ca), run, o, day, start, queue)
        )
        for i in range(procs)
    ]
    for c in clients:
        c.start()
    parts = [queue.get(timeout=start - time.time() + o.minutes * o.minute_s + 300) for _ in clients]
    for c in clients:
        c.join(timeout=30)
    for p in parts:
        p["wall_s"] = time.time() - start
    return parts


def _check(db: Database, run: str, sent: dict[str, int]) -> dict[str, Any]:
    """What the database holds: each sent event's deliveries, this run's bookings, and per slot the bookings
    and leased places against its capacity."""
    from sqlalchemy import func, select

    from loket_gateway.schema import bookings, events, leases, slots

    stored: dict[str, int] = {}
    with db.read() as conn:
        ids = list(sent)
        for i in range(0, len(ids), 5000):
            query = select(events.c.event_id, events.c.deliveries).where(events.c.event_id.in_(ids[i : i + 5000]))
            for event_id, deliveries in conn.execute(query):
                stored[event_id] = stored.get(event_id, 0) + deliveries
        rows = conn.execute(select(func.count()).where(events.c.event_id.like(f"{run}-%"))).scalar_one()
        held = {r[0] for r in conn.execute(select(bookings.c.booking_id).where(bookings.c.booking_id.like(f"{run}-%")))}
        b, lc, s = bookings.c, leases.c, slots.c
        per_slot = dict(
            ((r[0], r[1], r[2]), r[3])
            for r in conn.execute(select(b.office_id, b.day, b.time, func.count()).group_by(b.office_id, b.day, b.time))
        )
        leased = dict(
            ((r[0], r[1], r[2]), int(r[3] or 0))
            for r in conn.execute(
                select(lc.office_id, lc.day, lc.time, func.sum(lc.granted)).group_by(lc.office_id, lc.day, lc.time)
            )
        )
        capacity = {(r[0], r[1], r[2]): r[3] for r in conn.execute(select(s.office_id, s.day, s.time, s.capacity))}
    overbooked = sum(1 for k, cap in capacity.items() if per_slot.get(k, 0) + leased.get(k, 0) > cap)
    return {"stored": stored, "rows": rows, "held": held, "overbooked": overbooked}


def _figures(
    o: BenchOptions, parts: list[dict[str, Any]], found: dict[str, Any], sent: dict[str, int]
) -> dict[str, Any]:
    records = [r for p in parts for r in p["records"]]
    accepted = [i for p in parts for i in p["accepted"]]
    booked = [b for p in parts for b in p["booked"]]
    stored = found["stored"]
    wall = max(p["wall_s"] for p in parts)
    applied_twice = len(accepted) - len(set(accepted))  # an event acknowledged as new more than once
    miscounted = sum(1 for i, n in sent.items() if i in stored and stored[i] != n)  # deliveries counted otherwise
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1

    def ms(values: list[float], q: float) -> float:
        return round(_percentile(values, q) * 1000, 1)

    by_kind = {k: [r[2] for r in records if r[0] == k] for k in KINDS}
    every = [r[2] for r in records]
    return {
        "kiosks": o.kiosks,
        "minutes": o.minutes,
        "minute_s": o.minute_s,
        "seed": o.seed,
        "workers": o.workers,
        "threads": o.threads,
        "requests": len(records),
        "throughput_rps": round(len(records) / wall, 1) if wall > 0 else 0.0,
        "mix": {k: len(v) for k, v in by_kind.items()},
        "latency": {k: {"p50_ms": ms(v, 0.5), "p99_ms": ms(v, 0.99)} for k, v in by_kind.items()},
        "p50_ms": ms(every, 0.5),
        "p99_ms": ms(every, 0.99),
        "start_lag_p99_ms": ms([r[3] for r in records], 0.99),
        "statuses": statuses,
        "events_sent": len(sent),
        "events_redelivered": sum(n - 1 for n in sent.values()),
        "events_stored": found["rows"],
        "events_lost": sum(1 for i in sent if i not in stored),
        "events_duplicated": applied_twice + miscounted,
        "bookings": len(booked),
        "bookings_lost": sum(1 for b in booked if b not in found["held"]),
        "overbooked_slots": found["overbooked"],
        "client_cpu_s": round(sum(p["cpu_s"] for p in parts), 1),
        "wall_s": round(wall, 1),
        "errors": [e for p in parts for e in p["errors"]][:10],
    }


def run_bench(o: BenchOptions) -> dict[str, Any]:
    """Set up (PostgreSQL, the town, the server), drive the kiosks, check the database; the figures."""
    folder = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    pg = None if o.database else ThrowawayPostgres()
    proc: subprocess.Popen[bytes] | None = None
    try:
        url = pg.start() if pg is not None else str(o.database)
        today = dt.date.today()
        db = Database(url)
        run, plans = _prepare(db, o, today)
        pki = make_pki(folder / "pki")
        proc, port = serve(url, pki, o, folder, today)
        parts = _drive(plans, port, pki["ca"], run, o, (today + dt.timedelta(days=1)).isoformat())
        sent: dict[str, int] = {}
        for p in parts:
            sent.update(p["sent"])
        found = _check(db, run, sent)
        db.dispose()
        return _figures(o, parts, found, sent)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if pg is not None:
            pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def table(r: dict[str, Any]) -> str:
    """The figures as a text table."""
    lines = [
        f"loket-gateway bench: {r['kiosks']} kiosks, {r['minutes']} minutes of {r['minute_s']} s, seed {r['seed']}, "
        f"{r['workers']} workers x {r['threads']} threads, PostgreSQL, mutual TLS",
        f"{'kind':<10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for k in KINDS:
        lines.append(f"{k:<10} {r['mix'][k]:>9} {r['latency'][k]['p50_ms']:>8} {r['latency'][k]['p99_ms']:>8}")
    lines.append(f"{'all':<10} {r['requests']:>9} {r['p50_ms']:>8} {r['p99_ms']:>8}")
    lines.append(f"throughput {r['throughput_rps']} requests/s over {r['wall_s']} s; statuses {r['statuses']}")
    lines.append(
        f"events sent {r['events_sent']} (redelivered {r['events_redelivered']}), stored {r['events_stored']}: "
        f"lost {r['events_lost']}, duplicated {r['events_duplicated']}"
    )
    lines.append(f"bookings {r['bookings']} (lost {r['bookings_lost']}); overbooked slots {r['overbooked_slots']}")
    lines.append(f"client CPU {r['client_cpu_s']} s; start lag p99 {r['start_lag_p99_ms']} ms")
    if r["errors"]:
        lines.append("errors: " + "; ".join(r["errors"]))
    return "\n".join(lines)


def add_arguments(sub: Any) -> None:
    p = sub.add_parser("bench", help="drive N simulated kiosks against the real server on PostgreSQL")
    p.add_argument("--kiosks", type=int, default=500)
    p.add_argument("--minutes", type=int, default=BenchOptions.minutes, help="simulated minutes")
    p.add_argument("--minute-s", type=float, default=BenchOptions.minute_s, help="real seconds per simulated minute")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=BenchOptions.workers)
    p.add_argument("--threads", type=int, default=BenchOptions.threads)
    p.add_argument("--client-procs", type=int, default=BenchOptions.client_procs)
    p.add_argument("--database", help="a PostgreSQL URL (default: a throwaway server)")
    p.add_argument("--json", action="store_true", help="one JSON line")


def main(args: argparse.Namespace) -> int:
    if not 1 <= args.kiosks <= 5000 or args.minutes < 1 or args.minute_s <= 0:
        print("loket-gateway bench: give 1 to 5000 kiosks, at least a minute, a positive --minute-s", file=sys.stderr)
        return 2
    options = BenchOptions(
        args.kiosks,
        args.minutes,
        args.minute_s,
        args.seed,
        args.workers,
        args.threads,
        args.client_procs,
        args.database,
    )
    result = run_bench(options)
    print(json.dumps(result, separators=(",", ":")) if args.json else table(result))
    return 0

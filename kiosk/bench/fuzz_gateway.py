"""`kiosk bench fuzz gateway`: the real client against a hostile loopback gateway (kiosk.sim.hostile) for
N calls (`--inputs`) or S seconds (`--seconds`), whichever ends first. Counts calls, calls per second, the
declared errors by kind, undeclared exceptions (its crashes, goal 0), calls that overran their deadline or
never ended (its hangs, goal 0) and the process's memory: its peak (the hostile server runs in the same
process, and up to IO_WORKERS calls read capped bodies at once) and what it holds afterwards. Each caller's
calls and the server's replies come from the seed; how four callers interleave does not."""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import resource
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from kiosk.gateway.client import GatewayBadAnswer, GatewayClient, GatewayError, GatewayRefused, GatewayUnavailable
from kiosk.ops.memory import release_free_heap, rss_kib
from kiosk.sim.hostile import HostileGateway, hostile_reply

DEADLINE_S = 1.5  # the whole call, retries included
MARGIN_S = 0.5  # a call may end this much after its deadline (the timer, the scheduler)
STUCK_S = DEADLINE_S * 4  # no call ended for this long: the callers left are stuck
THREADS = 4  # kiosks' callers at once (UI desk, upkeep, sync worker, a second kiosk)

Call = Callable[[GatewayClient], object]
CALLS: tuple[tuple[str, Call], ...] = (
    ("manifest", lambda c: c.manifest()),
    ("manifest_since", lambda c: c.manifest_since(2)),
    ("lookup", lambda c: c.lookup("5371041234560001")),
    ("resolve_chip", lambda c: c.resolve_chip("04A1B2C3D4E5F6")),
    ("consume_ticket", lambda c: c.consume_ticket("0123456789abcdef")),
    ("offices", lambda c: c.offices()),
    ("slots", lambda c: c.slots("O1", dt.date(2026, 12, 3))),
    ("book", lambda c: c.book("b1", "5371041234560001", "O1", "2026-12-03", "09:00")),
    ("leases", lambda c: c.leases(dt.date(2026, 12, 3))),
    ("send_events", lambda c: c.send_events([{"id": "e1", "kind": "refused", "payload": {}}])),
    ("heartbeat", lambda c: c.heartbeat({"ok": True})),
)


def _peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _rss_now_kib() -> int:
    release_free_heap()
    return rss_kib()


class _Tally:
    def __init__(self, calls: int | None) -> None:
        self.lock = threading.Lock()
        self.budget = calls  # calls still to start; None: no bound but the time
        self.calls = 0
        self.outcomes: Counter[str] = Counter()
        self.undeclared: list[str] = []
        self.late: list[tuple[str, float]] = []
        self.longest = 0.0

    def claim(self) -> bool:
        """True if one more call may start."""
        with self.lock:
            if self.budget is None:
                return True
            if self.budget <= 0:
                return False
            self.budget -= 1
            return True

    def add(self, name: str, outcome: str, took: float, undeclared: str | None) -> None:
        with self.lock:
            self.calls += 1
            self.outcomes[outcome] += 1
            self.longest = max(self.longest, took)
            if undeclared is not None:
                self.undeclared.append(undeclared)
            if took > DEADLINE_S + MARGIN_S:
                self.late.append((name, round(took, 2)))


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "answered"
    for kind in (GatewayBadAnswer, GatewayUnavailable, GatewayRefused):
        if isinstance(exc, kind):
            return kind.__name__
    return "undeclared"


def _caller(url: str, seed: int, until: float, tally: _Tally) -> None:
    rng = random.Random(seed)
    client = GatewayClient(url, "K1", "key", timeout_s=0.5, retries=1, backoff_s=0.01, deadline_s=DEADLINE_S)
    while time.monotonic() < until and tally.claim():
        name, call = rng.choice(CALLS)
        t0 = time.monotonic()
        exc: BaseException | None = None
        try:
            call(client)
        except GatewayError as e:
            exc = e
        except Exception as e:  # the one thing that must never happen
            exc = e
            tally.add(name, "undeclared", time.monotonic() - t0, f"{name}: " + traceback.format_exc(limit=3)[-600:])
            continue
        tally.add(name, _outcome(exc), time.monotonic() - t0, None)
    client.close()


def _join(threads: list[threading.Thread], tally: _Tally) -> None:
    """Wait for the callers; give up on those left once no call has ended for STUCK_S (each is a hang)."""
    seen, since = -1, time.monotonic()
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.1)
            if tally.calls != seen:
                seen, since = tally.calls, time.monotonic()
            elif time.monotonic() - since > STUCK_S:
                return


def run(seconds: float | None, seed: int = 1, calls: int | None = None) -> dict[str, Any]:
    """Fuzz the client with THREADS callers for `calls` calls or `seconds`, whichever ends first; the figures."""
    if seconds is None and calls is None:
        raise ValueError("bound the run by calls, seconds or both")
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retry warnings, thousands of them, say nothing here
    rng = random.Random(seed)
    lock = threading.Lock()

    def plan(operation_id: str, sent: list[str]) -> Any:
        with lock:
            return hostile_reply(rng, operation_id, sent)

    server = HostileGateway(plan).start()
    tally = _Tally(calls)
    rss_before = _peak_rss_kib()
    t0 = time.monotonic()
    until = t0 + seconds if seconds is not None else math.inf
    threads = [
        threading.Thread(target=_caller, args=(server.url, seed * 100 + i, until, tally), daemon=True)
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    _join(threads, tally)
    took = time.monotonic() - t0
    server.stop()
    left = sum(t.is_alive() for t in threads)
    return {
        "target": "gateway",
        "inputs": tally.calls,
        "inputs_per_second": round(tally.calls / took, 1) if took else 0.0,
        "crashes": len(tally.undeclared),
        "hangs": len(tally.late) + left,
        "deadline_s": DEADLINE_S + MARGIN_S,  # a call's deadline and the timer's margin: over it, a hang
        "longest_s": round(tally.longest, 2),
        "crash_examples": [{"error": e} for e in tally.undeclared[:3]],
        "hang_examples": [{"call": name, "took_s": took} for name, took in tally.late[:5]],
        "seconds": round(took, 1),
        "calls": tally.calls,
        "calls_per_second": round(tally.calls / took, 1) if took else 0.0,
        "outcomes": dict(tally.outcomes),
        "undeclared_exceptions": len(tally.undeclared),
        "undeclared_examples": tally.undeclared[:3],
        "call_deadline_s": DEADLINE_S,
        "longest_call_s": round(tally.longest, 2),
        "calls_past_deadline": len(tally.late),
        "late_examples": tally.late[:5],
        "peak_rss_mib": round(_peak_rss_kib() / 1024, 1),
        "peak_rss_growth_mib": round((_peak_rss_kib() - rss_before) / 1024, 1),
        "rss_end_mib": round(_rss_now_kib() / 1024, 1),  # after the fuzzing, the free heap handed back
        "threads_left": left,
        "seed": seed,
    }


def report(r: dict[str, Any]) -> str:
    lines = [
        f"gateway: {r['calls']} calls in {r['seconds']} s ({r['calls_per_second']}/s), seed {r['seed']}",
        f"  {'crashes':<24}{r['crashes']}  (undeclared exceptions; goal 0)",
        f"  {'hangs':<24}{r['hangs']}  (calls over {r['call_deadline_s']} s + {MARGIN_S} or never ended; goal 0)",
        f"  {'longest call, s':<24}{r['longest_call_s']}",
        f"  {'peak RSS, MiB':<24}{r['peak_rss_mib']}  (+{r['peak_rss_growth_mib']} while fuzzing; "
        f"{r['rss_end_mib']} after)",
    ]
    lines += [f"  {k:<24}{v}" for k, v in sorted(r["outcomes"].items())]
    lines += [f"  ! crash: {e}" for e in r["undeclared_examples"]]
    lines += [f"  ! hang: {name} took {took} s" for name, took in r["late_examples"]]
    if r["threads_left"]:
        lines.append(f"  ! {r['threads_left']} caller(s) still in a call when the run ended")
    return "\n".join(lines)

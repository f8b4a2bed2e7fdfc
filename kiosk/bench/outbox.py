"""`kiosk bench outbox --events N`: journal-and-outbox append latency (a real SQLite file, fsync on
every commit, as the kiosk runs) and how long N queued events take to drain to the real gateway
on loopback (kiosk.sim.office). Counted on the gateway's side: every event arrives, none twice."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kiosk.gateway.client import GatewayClient
from kiosk.sim.office import Office
from kiosk.store import Store
from kiosk.sync.worker import SyncWorker


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(events: int, batch: int = 500, where: Path | None = None) -> dict[str, Any]:
    """`where`: the folder for the databases (default: the temp folder); on a kiosk, its data disk."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-outbox-", dir=where) as tmp:
        folder = Path(tmp)
        gateway = Office(folder / "gateway.db", seed=1)
        url = gateway.start()
        store = Store(folder / "kiosk.db")
        client = GatewayClient(url, gateway.kiosk_id, gateway.api_key, timeout_s=10)
        try:
            append_ms: list[float] = []
            for n in range(events):
                t0 = time.perf_counter()
                store.journal("face_check", {"kiosk": gateway.kiosk_id, "attempt": 1, "n": n}, outbox=True)
                append_ms.append((time.perf_counter() - t0) * 1000)
            worker = SyncWorker(store, client, batch=batch)
            t0 = time.perf_counter()
            while store.pending_count():
                if not worker.drain_once():
                    raise RuntimeError("the loopback gateway refused the outbox")
            drain_s = time.perf_counter() - t0
            received = sum(gateway.event_counts().values())
            return {
                "events": events,
                "batch": batch,
                "drain_seconds": round(drain_s, 3),
                "events_per_second": round(events / drain_s) if drain_s else None,
                "append_ms_p50": round(statistics.median(append_ms), 3),
                "append_ms_p99": round(_percentile(append_ms, 0.99), 3),
                "received": received,
                "duplicated": gateway.events_redelivered(),
                "folder": str(where or tempfile.gettempdir()),
                "lost": events - received,
            }
        finally:
            client.close()
            store.close()
            gateway.close()


def report(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['events']} events, batches of {r['batch']}",
            f"drain: {r['drain_seconds']} s ({r['events_per_second']} events/s)",
            f"journal+outbox append with fsync: p50 {r['append_ms_p50']} ms, p99 {r['append_ms_p99']} ms"
            f" (in {r['folder']})",
            f"at the gateway: received {r['received']}, lost {r['lost']}, duplicated {r['duplicated']}",
        ]
    )

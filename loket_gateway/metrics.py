"""The gateway's /metrics (prometheus-client): requests by operation and status with their latency,
counted per worker process and summed across them (prometheus-client's multiprocess mode, when
PROMETHEUS_MULTIPROC_DIR is set, as `loket-gateway serve` does), and the fleet's figures read from the
database at each scrape, so every worker tells the same: journal anchor alarms, the newest anchored row
per kiosk, events by kind, bookings, conflicts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from loket_gateway.db import Database
from loket_gateway.schema import anchor_alarms, anchors, bookings, conflicts, events, kiosks

REQUESTS = Counter("gateway_requests", "Requests answered, by operation and status.", ["operation", "status"])
LATENCY = Histogram(
    "gateway_request_seconds",
    "Time to answer a request, by operation.",
    ["operation"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def observe(operation: str, status: int, seconds: float) -> None:
    REQUESTS.labels(operation, str(status)).inc()
    LATENCY.labels(operation).observe(seconds)


class DatabaseCollector:
    """The fleet's figures, from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Any]:
        alarms = CounterMetricFamily(
            "gateway_journal_anchor_alarms",
            "Journal heads that went backwards, forked or were not signed.",
            labels=["kiosk", "kind"],
        )
        seqs = GaugeMetricFamily(
            "gateway_journal_anchored_seq", "The newest journal row anchored per kiosk.", labels=["kiosk"]
        )
        kinds = CounterMetricFamily("gateway_events", "Kiosk events applied (once each), by kind.", labels=["kind"])
        a, c = anchor_alarms.c, anchors.c
        with self.db.read() as conn:
            for kiosk, kind, n in conn.execute(select(a.kiosk_id, a.kind, func.count()).group_by(a.kiosk_id, a.kind)):
                alarms.add_metric([kiosk, kind], n)
            for kiosk, seq in conn.execute(select(c.kiosk_id, func.max(c.seq)).group_by(c.kiosk_id)):
                seqs.add_metric([kiosk], seq)
            for kind, n in conn.execute(select(events.c.kind, func.count()).group_by(events.c.kind)):
                kinds.add_metric([kind], n)
            totals = [
                conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (bookings, conflicts, kiosks)
            ]
        yield alarms
        yield seqs
        yield kinds
        yield CounterMetricFamily("gateway_bookings", "Bookings held (online and drawn on leases).", value=totals[0])
        yield CounterMetricFamily("gateway_event_conflicts", "Conflicts kiosk events revealed.", value=totals[1])
        yield GaugeMetricFamily("gateway_kiosks", "Kiosks registered.", value=totals[2])


def exposition(db: Database) -> bytes:
    """The Prometheus text of this gateway: every worker's request figures and the database's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)

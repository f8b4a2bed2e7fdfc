"""Prometheus metrics and a JSON /healthz for admins, on a port bound to the management interface.

Everything is read from the kiosk at scrape time (no second bookkeeping to drift): outcome counters,
the outbox, the vault, the gateway link, and every part's health state. Labels are closed sets (outcome,
reason, component, state); nothing personal is ever a label or a value.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from kiosk import __version__
from kiosk.health import State
from kiosk.runner import Kiosk

JOURNEY_BUCKETS = (15, 30, 60, 90, 120, 180, 300, 600)  # seconds a visit takes, start to finish


# the conflicts the gateway reports (openapi.yaml, sendEvents' `conflicts`), exported from 0
CONFLICT_KINDS = frozenset({"ticket_used_twice", "booking_beyond_lease"})


class KioskCollector(Collector):
    """The kiosk's status snapshot as metric families, computed per scrape."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk

    def collect(self) -> Iterator[Any]:
        s = self.kiosk.status()
        outcomes = CounterMetricFamily("kiosk_visits", "Visits ended, by outcome", labels=["outcome"])
        for outcome, n in sorted(s.outcomes.items()):
            outcomes.add_metric([outcome], n)
        yield outcomes
        handovers = CounterMetricFamily("kiosk_handovers", "Cards handed over to their owners")
        handovers.add_metric([], s.outcomes.get("handed_over", 0))
        yield handovers
        refusals = CounterMetricFamily("kiosk_refusals", "Visits refused, by reason", labels=["reason"])
        for reason, n in sorted(s.refusals.items()):
            refusals.add_metric([reason], n)
        yield refusals
        errors = CounterMetricFamily("kiosk_errors", "Unexpected failures inside the kiosk software")
        errors.add_metric([], s.errors)
        yield errors
        conflicts = CounterMetricFamily(
            "kiosk_gateway_conflicts", "Conflicts the gateway found in this kiosk's events, by kind", labels=["kind"]
        )
        for kind in sorted(CONFLICT_KINDS | s.conflicts.keys()):  # known kinds from 0, so increase() sees the first
            conflicts.add_metric([kind], s.conflicts.get(kind, 0))
        yield conflicts
        info = GaugeMetricFamily("kiosk_build_info", "The kiosk's version (1, labelled)", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily("kiosk_outbox_pending", "Events waiting for the gateway", value=s.outbox_pending)
        yield GaugeMetricFamily("kiosk_vault_cards", "Cards in the vault", value=s.vault_cards)
        yield GaugeMetricFamily(
            "kiosk_vault_slots_out_of_service",
            "Vault slots with an alarm (jam, sensor)",
            value=sum(1 for name in s.alarms if name.startswith("slot:")),
        )
        yield GaugeMetricFamily("kiosk_vault_slots", "Vault slots", value=s.vault_slots)
        yield GaugeMetricFamily(
            "kiosk_tamper_alarm", "1 while the service door alarm stops releases", value=int(s.releases_stopped)
        )
        yield GaugeMetricFamily(
            "kiosk_gateway_up", "1 if the last delivery to the gateway worked", value=int(s.link_up is not False)
        )
        yield GaugeMetricFamily(
            "kiosk_gateway_offline_since_seconds",
            "Unix time the link went down (0 while up)",
            value=s.offline_since or 0,
        )
        component = GaugeMetricFamily(
            "kiosk_component_up", "1 if the part is ok, by part and state", labels=["component", "state"]
        )
        for name, status in sorted(s.components.items()):
            component.add_metric([name, status.state.value], int(status.state == State.OK))
        yield component


class OpsServer:
    """Serves /metrics (Prometheus text) and /healthz (JSON) on `host:port` in a background thread."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.registry = CollectorRegistry()
        self.registry.register(KioskCollector(kiosk))
        self.journey_seconds = Histogram(
            "kiosk_journey_seconds",
            "How long a visit took, by outcome",
            ["outcome"],
            buckets=JOURNEY_BUCKETS,
            registry=self.registry,
        )
        kiosk.visit_ended.append(lambda outcome, seconds: self.journey_seconds.labels(outcome).observe(seconds))
        self._server: ThreadingHTTPServer | None = None

    def healthz(self) -> dict[str, Any]:
        s = self.kiosk.status()
        return {
            "status": s.overall.value,
            "kiosk": s.kiosk_id,
            "version": __version__,
            "components": {n: {"state": c.state.value, "reason": c.reason} for n, c in sorted(s.components.items())},
            "outbox_pending": s.outbox_pending,
            "gateway_up": s.link_up is not False,
            "gateway_reached": s.link_up is True,  # a delivery (heartbeat or events) got through since start
        }

    def start(self, host: str = "127.0.0.1", port: int = 9101) -> str:
        ops = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a log line
                pass

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body, ctype = generate_latest(ops.registry), "text/plain; version=0.0.4; charset=utf-8"
                    status = 200
                elif self.path == "/healthz":
                    health = ops.healthz()
                    body, ctype = json.dumps(health).encode(), "application/json"
                    status = 503 if health["status"] == State.FAILED.value else 200
                else:
                    body, ctype, status = b"not found\n", "text/plain", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="kiosk-ops", daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

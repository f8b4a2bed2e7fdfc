"""The sync worker: delivers outbox events to the gateway in batches, at least once (the gateway
deduplicates by event ID, so the effect is exactly once)."""

from __future__ import annotations

import logging
import threading

from kiosk.gateway.client import GatewayClient, GatewayError
from kiosk.store import Store

log = logging.getLogger(__name__)


class SyncWorker:
    """Drains the outbox; `drain_once` for callers with their own loop, `start` for a thread."""

    def __init__(self, store: Store, gateway: GatewayClient, batch: int = 100, interval_s: float = 2.0) -> None:
        self.store = store
        self.gateway = gateway
        self.batch = batch
        self.interval_s = interval_s
        self.link_up: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain_once(self) -> int:
        """Send pending events until the outbox is empty or the link fails; returns how many were delivered."""
        delivered = 0
        while True:
            items = self.store.pending(self.batch)
            if not items:
                self.link_up = True
                return delivered
            events = [
                {"id": i.event_id, "kind": i.kind, "seq": i.seq, "ordering_key": i.ordering_key, "payload": i.payload}
                for i in items
            ]
            try:
                answer = self.gateway.send_events(events)
            except GatewayError as exc:
                self.store.mark_attempt([i.event_id for i in items])
                if self.link_up is not False:
                    log.warning("outbox delivery paused: %s (%d pending)", exc, self.store.pending_count())
                self.link_up = False
                return delivered
            done = list(answer.get("accepted", [])) + list(answer.get("duplicates", []))
            self.store.mark_delivered(done)
            delivered += len(done)
            if len(done) < len(items):  # the gateway did not take all: try the rest later
                return delivered

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.drain_once()
            except Exception:
                log.exception("sync worker failed; continuing")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

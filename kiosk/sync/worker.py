"""The sync worker: delivers outbox events to the gateway in batches, at least once (the gateway
deduplicates by event ID, so the effect is exactly once). Batches go in outbox order, so the events of
one card arrive in the order they happened. While the link is down the worker backs off exponentially
with jitter (urllib3's Retry computes it), so a fleet coming back online does not arrive all at once.

Its clocks are injected: the kiosk schedules on the monotonic clock (a wall clock set back by NTP must
not hold the heartbeat) and dates an outage by the wall clock; `kiosk simulate` and `kiosk bench soak`
pass their simulated clock as both and call `tick()`, so backoff and the upkeep hooks follow it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from urllib3.util.retry import Retry

from kiosk.gateway.client import Conflict, GatewayClient, GatewayError
from kiosk.health import Health, State
from kiosk.store import Store

log = logging.getLogger(__name__)
HISTORY_KEPT = 16  # failures counted for the backoff: 2 s * 2**15 is far past backoff_max
MAX_BATCH = 500  # the contract's cap per request (openapi.yaml: sendEvents maxItems)
BACKOFF = Retry(
    total=None,
    connect=None,
    read=None,
    status=None,
    other=None,
    backoff_factor=2.0,
    backoff_max=300,
    backoff_jitter=1.0,
)


class SyncWorker:
    """Drains the outbox; `drain_once` for callers with their own loop, `start` for a thread."""

    def __init__(
        self,
        store: Store,
        gateway: GatewayClient,
        batch: int = 100,
        interval_s: float = 2.0,
        health: Health | None = None,
        hooks_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.batch = min(batch, MAX_BATCH)
        self.interval_s = interval_s
        self.clock, self.wall = clock, wall  # scheduling; the date of an outage
        self.link_up: bool | None = None
        self.offline_since: float | None = None  # clock time of the first failure of this outage
        self._backoff = BACKOFF
        self._next_at = float("-inf")  # clock time of the next drain `tick` may start
        self.after_sync: list[Callable[[], object]] = []  # run after a drain that reached the gateway
        self.hooks_every_s = hooks_every_s  # ... at most this often (manifest poll, leases, heartbeat)
        self._hooks_at = float("-inf")
        self.health = health
        # what to do with a conflict the gateway reports (e.g. a ticket also used at another kiosk)
        self.on_conflict: Callable[[Conflict], object] = lambda c: log.warning("conflict %s: %s", c.kind, c.detail)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def drain_once(self) -> int:
        """Send pending events until the outbox is empty or the link fails; returns how many were delivered."""
        delivered = 0
        while True:
            items = self.store.pending(self.batch)
            if not items:
                now = self.clock()
                if self.link_up is not False and now - self._hooks_at >= self.hooks_every_s:
                    self._hooks_at = now
                    for hook in self.after_sync:
                        hook()
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
                    self.offline_since = self.wall()
                self.link_up = False
                if self.health is not None:
                    self.health.report("gateway", State.DEGRADED, f"offline: {exc}")
                self._back_off()
                return delivered
            sent = {i.event_id for i in items}
            acked = set(answer.accepted) | set(answer.duplicates)
            done = [i.event_id for i in items if i.event_id in acked]  # in outbox order
            if acked - sent or not done:
                self._ack_mismatch(len(acked - sent), len(items))
                return delivered
            if self.link_up is False:
                log.info("outbox delivery resumed after %.0f s offline", self.wall() - (self.offline_since or 0))
            self.link_up, self.offline_since, self._backoff = True, None, BACKOFF
            if self.health is not None:
                self.health.report("gateway", State.OK)
            acknowledged = set(done)
            for conflict in answer.conflicts:  # before marking: a crash between tells it again (at least once)
                if conflict.event_id in acknowledged:
                    self.on_conflict(conflict)
            self.store.mark_delivered(done)
            delivered += len(done)
            if len(done) < len(items):  # the gateway did not take all: try the rest later
                return delivered

    def _ack_mismatch(self, foreign: int, sent: int) -> None:
        """The gateway acknowledged events it was not sent, or none of those it was: it is not doing what
        the contract says. Stop this drain, back off as if offline, and say so on the health board."""
        log.error("gateway acknowledgement does not match: %d foreign ID(s), %d sent; backing off", foreign, sent)
        self.link_up = False
        if self.offline_since is None:
            self.offline_since = self.wall()
        if self.health is not None:
            self.health.report("gateway", State.DEGRADED, "acknowledgements do not match what was sent")
        self._back_off()

    def _back_off(self) -> None:
        """One more failure: a longer wait before the next try. Retry's backoff counts the failures in its
        history; the exception itself is not kept there, and the history stops at HISTORY_KEPT (by then
        the backoff is at its maximum). Kept, every exception of an outage stayed alive with its traceback
        and the frames it pins: that was the memory a long outage grew by, one entry per drain."""
        retry = self._backoff.increment(method="POST", url="/v1/events")
        retry.history = retry.history[-HISTORY_KEPT:]
        self._backoff = retry

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def next_wait(self) -> float:
        """Seconds until the next try: the interval, or the backoff while the link is down."""
        return max(self.interval_s, self._backoff.get_backoff_time())

    def tick(self) -> int:
        """Drain if the interval (or, offline, the backoff) since the last drain has passed on the clock;
        returns how many events were delivered. The simulations' loop: one call per simulated step."""
        if self.clock() < self._next_at:
            return 0
        delivered = self.drain_once()
        self._next_at = self.clock() + self.next_wait()
        return delivered

    def _run(self) -> None:
        while not self._stop.wait(self.next_wait()):
            try:
                self.drain_once()
            except Exception:
                log.exception("sync worker failed; continuing")

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

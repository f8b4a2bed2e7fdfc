"""One health model for the whole kiosk: every part reports ok / degraded / failed with a reason.

Reports come from any thread; readers get consistent snapshots. No personal data goes in here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """How a part is doing."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@dataclass(frozen=True)
class Status:
    """One part's state, why, and since when."""

    component: str
    state: State
    reason: str
    since: float


class Health:
    """The kiosk's parts and their states, plus error counters over a sliding hour."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._status: dict[str, Status] = {}
        self._errors: dict[str, deque[float]] = {}

    def report(self, component: str, state: State, reason: str = "") -> None:
        with self._lock:
            old = self._status.get(component)
            if old is None or (old.state, old.reason) != (state, reason):
                self._status[component] = Status(component, state, reason, self._clock())

    def error(self, component: str) -> None:
        """Count one error of a part (kept for an hour)."""
        with self._lock:
            self._errors.setdefault(component, deque()).append(self._clock())

    def errors_last_hour(self, component: str) -> int:
        with self._lock:
            q = self._errors.get(component, deque())
            cutoff = self._clock() - 3600
            while q and q[0] < cutoff:
                q.popleft()
            return len(q)

    def status(self, component: str) -> Status | None:
        with self._lock:
            return self._status.get(component)

    def snapshot(self) -> dict[str, Status]:
        with self._lock:
            return dict(self._status)

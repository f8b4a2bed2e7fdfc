"""The simulated speaker: it keeps what it was told to say, for the simulator, the demo and tests."""

from __future__ import annotations

import threading


class RecordingSpeaker:
    """A Speaker that records every prompt as (lang, text), in order, and counts the stops; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said: list[tuple[str, str]] = []
        self._stopped = 0
        self._closed = False

    def say(self, text: str, lang: str) -> None:
        with self._lock:
            if not self._closed:
                self._said.append((lang, text))

    def stop(self) -> None:
        with self._lock:
            self._stopped += 1

    def close(self) -> None:
        with self._lock:
            self._closed = True

    @property
    def said(self) -> list[tuple[str, str]]:
        """Every (lang, text) said so far, oldest first (a copy)."""
        with self._lock:
            return list(self._said)

    @property
    def stopped(self) -> int:
        """How many times `stop` was called."""
        with self._lock:
            return self._stopped

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    @property
    def last(self) -> tuple[str, str] | None:
        """The latest (lang, text), or None before anything was said."""
        with self._lock:
            return self._said[-1] if self._said else None

    def clear(self) -> None:
        """Forget what was said (between steps of a journey)."""
        with self._lock:
            self._said.clear()
            self._stopped = 0

"""CardReader port: card presence as events, from the reader's own thread (pyscard's observer model).

A reader reports `CardPresented` (UID and ATR), `CardGone`, and `CardFailed` (present but unreadable).
A card pulled away while it is read gives a `CardGone` without a `CardPresented` before it.
Subscribers must be quick and thread-safe; the app marshals events to its own loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk.health import Health, State


@dataclass(frozen=True)
class CardPresented:
    """A card is on the reader and was read."""

    uid: str  # hex, upper case
    atr: str  # hex, upper case
    description: str = ""  # what the public ATR list calls this card, if it knows it
    profile: str = "baseline-uid"  # the card profile that read it
    nik: str | None = None  # only a SAM-backed profile reads the NIK from an e-KTP


@dataclass(frozen=True)
class CardGone:
    """The card left the reader."""


@dataclass(frozen=True)
class CardFailed:
    """A card is on the reader but could not be read."""

    reason: str


CardEvent = CardPresented | CardGone | CardFailed
CardListener = Callable[[CardEvent], None]


class CardReader(Protocol):
    """A contactless/contact smart card reader."""

    def subscribe(self, listener: CardListener) -> None:
        """Receive card events (called from the reader's thread)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def connected(self) -> bool:
        """True while the reader itself is attached and answering."""
        ...


class ReaderEvents:
    """Listener bookkeeping shared by every reader adapter."""

    def __init__(self) -> None:
        self._listeners: list[CardListener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: CardListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: CardEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)


class SimCardReader(ReaderEvents):
    """A reader driven by hand (demo panel) or by tests: `insert`, `remove`, `insert_unreadable`."""

    def __init__(self, health: Health | None = None) -> None:
        super().__init__()
        self.card: CardPresented | None = None
        self.running = False
        self.health = health or Health()

    @property
    def connected(self) -> bool:
        return self.running

    def start(self) -> None:
        self.running = True
        self.health.report("reader", State.OK, "simulated reader")

    def stop(self) -> None:
        self.running = False
        self.health.report("reader", State.FAILED, "stopped")

    def insert(self, uid: str, atr: str = "3B8F8001804F0CA000000306030001000000006A") -> None:
        if self.card is not None:
            self.remove()
        self.card = CardPresented(uid.upper(), atr.upper())
        self.emit(self.card)

    def insert_unreadable(self, reason: str = "no answer to reset") -> None:
        self.emit(CardFailed(reason))

    def remove(self) -> None:
        if self.card is not None:
            self.card = None
            self.emit(CardGone())

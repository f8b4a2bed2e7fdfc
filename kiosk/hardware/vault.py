"""Vault port: numbered slots, each behind a gate actuator, with a card-present sensor at the card's seat,
and a service door with a tamper switch.

`SlotVault` holds the one release protocol every adapter shares, written against four primitives
(gate on/off, seat sensor, door switch, a condition notified on input edges):

- release(slot): the seat must report a card (else SENSOR_FAULT, the gate stays shut); open the gate;
  wait until the seat stays empty for `settle_s` (TAKEN); the door opening ends it at once (ABORTED);
  at the timeout a card that never moved is NOT_TAKEN and a card that moved but is back on its seat is
  JAMMED. The gate is shut again on every path, exceptions included.
- accept(slot) is loading in reverse: the seat must be empty, the gate opens, a card must arrive.
- One motion at a time, across all slots (a lock): two releases asked at once run one after the other.

Durable intent and outcome records are the caller's (kiosk.runner.vaultdesk). `checkpoint` is a fault-injection
seam: tests replace it to kill the process between steps.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

POLL_S = 0.05  # inputs are re-read this often even if an edge was missed


class ReleaseResult(StrEnum):
    """How a release (or an unload) ended."""

    TAKEN = "taken"
    NOT_TAKEN = "not_taken"
    JAMMED = "jammed"
    SENSOR_FAULT = "sensor_fault"  # the seat sensor says empty where a card is recorded: gate not opened
    ABORTED = "aborted"  # the service door opened (or was open): gate shut at once


class LoadResult(StrEnum):
    """How putting a card into a slot ended."""

    INSERTED = "inserted"
    NOT_INSERTED = "not_inserted"
    SENSOR_FAULT = "sensor_fault"  # the seat sensor says a card is there already
    ABORTED = "aborted"


class Vault(Protocol):
    """The card store with per-slot release."""

    @property
    def slot_count(self) -> int: ...

    def card_present(self, slot: int) -> bool:
        """What the slot's seat sensor says now."""
        ...

    def release(self, slot: int, timeout: float) -> ReleaseResult:
        """Present the card in `slot`; block until it is taken or `timeout` seconds pass."""
        ...

    def accept(self, slot: int, timeout: float) -> LoadResult:
        """Open the empty `slot` for a card; block until one is seated or `timeout` seconds pass."""
        ...

    def door_open(self) -> bool:
        """The service door's tamper switch."""
        ...

    def on_door(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(open)` from any thread whenever the door opens or closes."""
        ...

    def close(self) -> None: ...


class SlotVault(ABC):
    """The shared release and loading protocol over four hardware primitives."""

    def __init__(self, slot_count: int, settle_s: float) -> None:
        self._slots = slot_count
        self.settle_s = settle_s
        self._motion = threading.Lock()
        self._changed = threading.Condition()
        self._door_listeners: list[Callable[[bool], None]] = []
        self.checkpoint: Callable[[str], None] = lambda name: None
        self.moving: int | None = None  # the slot whose gate is open, if any
        self._seat_changes = dict.fromkeys(range(1, slot_count + 1), 0)  # edges seen, even between polls
        # the clock the release and loading deadlines run on; a simulation sets both to its own, so a
        # jammed card's timeout passes in simulated time, not real
        self.monotonic: Callable[[], float] = time.monotonic
        self.pause: Callable[[float], None] | None = None  # None: wait for an input edge (real time)

    # -- primitives ---------------------------------------------------------------------------

    @abstractmethod
    def _gate(self, slot: int, open_: bool) -> None:
        """Energise (open) or release (shut) the slot's gate actuator."""

    @abstractmethod
    def _seat(self, slot: int) -> bool:
        """True if the seat sensor sees a card."""

    @abstractmethod
    def _door(self) -> bool:
        """True if the service door is open."""

    # -- port ---------------------------------------------------------------------------------

    @property
    def slot_count(self) -> int:
        return self._slots

    def check_slot(self, slot: int) -> None:
        if not 1 <= slot <= self._slots:
            raise ValueError(f"no slot {slot} (vault has 1..{self._slots})")

    def card_present(self, slot: int) -> bool:
        self.check_slot(slot)
        return self._seat(slot)

    def door_open(self) -> bool:
        return self._door()

    def on_door(self, callback: Callable[[bool], None]) -> None:
        self._door_listeners.append(callback)

    def _edge(self, slot: int | None = None) -> None:
        """An input changed (called by adapters from any thread); `slot` names a seat sensor."""
        with self._changed:
            if slot is not None:
                self._seat_changes[slot] += 1
            self._changed.notify_all()

    def _door_edge(self, is_open: bool) -> None:
        self._edge()
        for listener in list(self._door_listeners):
            listener(is_open)

    def _wait(self, deadline: float) -> None:
        step = max(0.0, min(POLL_S, deadline - self.monotonic()))
        if self.pause is not None:
            self.pause(step if step > 0 else POLL_S)
            return
        with self._changed:
            self._changed.wait(timeout=step)

    def release(self, slot: int, timeout: float) -> ReleaseResult:
        self.check_slot(slot)
        with self._motion:
            if self._door():
                return ReleaseResult.ABORTED
            if not self._seat(slot):
                return ReleaseResult.SENSOR_FAULT
            self.moving = slot
            edges = self._seat_changes[slot]
            try:
                self._gate(slot, True)
                self.checkpoint("gate_opened")
                result = self._watch_release(slot, edges, self.monotonic() + timeout)
            finally:
                self._gate(slot, False)
                self.moving = None
            self.checkpoint("gate_shut")
            return result

    def _watch_release(self, slot: int, edges: int, deadline: float) -> ReleaseResult:
        clear_since: float | None = None
        while True:
            now = self.monotonic()
            moved = self._seat_changes[slot] != edges
            if self._door():
                return ReleaseResult.ABORTED
            if self._seat(slot):
                clear_since = None
            else:
                if clear_since is None:
                    clear_since = now
                    self.checkpoint("seat_cleared")
                if now - clear_since >= self.settle_s:
                    return ReleaseResult.TAKEN
            if now >= deadline and clear_since is None:
                return ReleaseResult.JAMMED if moved else ReleaseResult.NOT_TAKEN
            if now >= deadline + self.settle_s:  # cleared at the very end and held: taken
                return ReleaseResult.TAKEN
            self._wait(deadline + self.settle_s if clear_since is not None else deadline)

    def accept(self, slot: int, timeout: float) -> LoadResult:
        self.check_slot(slot)
        with self._motion:
            if self._seat(slot):
                return LoadResult.SENSOR_FAULT
            self.moving = slot
            try:
                self._gate(slot, True)
                deadline = self.monotonic() + timeout
                seated_since: float | None = None
                while True:
                    now = self.monotonic()
                    if self._seat(slot):
                        seated_since = seated_since if seated_since is not None else now
                        if now - seated_since >= self.settle_s:
                            return LoadResult.INSERTED
                    else:
                        seated_since = None
                    if now >= deadline and seated_since is None:
                        return LoadResult.NOT_INSERTED
                    self._wait(deadline + self.settle_s)
            finally:
                self._gate(slot, False)
                self.moving = None

    def close(self) -> None:
        for slot in range(1, self._slots + 1):
            self._gate(slot, False)


class SimVault(SlotVault):
    """A vault whose inputs are driven by hand, as a resident or an operator would.

    `put(slot)` seats a card, `take()` pulls the card from the open gate, `jam(slot)` makes that slot's
    card stick (a pull moves it and it falls back), `stick(slot, value)` freezes a sensor, `open_door()`.
    With `auto`, an opened gate is served at once: the card is taken, or a card is put in (simulate).
    """

    def __init__(self, slot_count: int = 24, auto: bool = False, settle_s: float = 0.0) -> None:
        super().__init__(slot_count, settle_s)
        self.auto = auto
        self.present: dict[int, bool] = dict.fromkeys(range(1, slot_count + 1), False)
        self.gates: dict[int, bool] = dict.fromkeys(range(1, slot_count + 1), False)
        self.jammed: set[int] = set()
        self.stuck: dict[int, bool] = {}
        self.door = False
        self.history: list[tuple[int, bool]] = []  # every gate change, in order
        self.gate_listeners: list[Callable[[int, bool], None]] = []  # told of each gate change (slot, open)

    @property
    def opened(self) -> list[int]:
        """The slots whose gate was opened, in order."""
        return [slot for slot, on in self.history if on]

    def _gate(self, slot: int, open_: bool) -> None:
        if self.gates[slot] != open_:
            for listener in list(self.gate_listeners):
                listener(slot, open_)
            self.gates[slot] = open_
            self.history.append((slot, open_))
        if open_ and self.auto:
            if self.present[slot]:
                self.take(slot)
            else:
                self.put(slot)

    def _seat(self, slot: int) -> bool:
        return self.stuck.get(slot, self.present[slot])

    def _door(self) -> bool:
        return self.door

    def set_seat(self, slot: int, present: bool) -> None:
        """The seat sensor of `slot` sees a card (or not), whatever the gate does: a hand at the slot."""
        self.present[slot] = present
        self._edge(slot)

    def put(self, slot: int) -> None:
        """A card is seated in the slot (loading, or a resident pushing it back)."""
        self.check_slot(slot)
        self.present[slot] = True
        self._edge(slot)

    def take(self, slot: int | None = None) -> bool:
        """Pull the card from the open gate (or `slot`); False if nothing could be taken."""
        target = slot if slot is not None else self.moving
        if target is None or not self.gates.get(target) or not self.present[target]:
            return False
        self.present[target] = False
        self._edge(target)
        if target in self.jammed:  # it moved, and fell back onto its seat
            self.present[target] = True
            self._edge(target)
            return False
        return True

    def jam(self, slot: int) -> None:
        self.check_slot(slot)
        self.jammed.add(slot)

    def stick(self, slot: int, value: bool | None) -> None:
        """Freeze the seat sensor at `value` (None: working again)."""
        self.check_slot(slot)
        if value is None:
            self.stuck.pop(slot, None)
        else:
            self.stuck[slot] = value
        self._edge(slot)

    def open_door(self, is_open: bool = True) -> None:
        self.door = is_open
        self._door_edge(is_open)

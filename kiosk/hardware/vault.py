"""Vault port: numbered slots, each with an actuator that presents the card and a card-present sensor.

`release(slot, timeout)` pulses the slot's actuator, waits for the card-present sensor to clear, and
secures the slot again if the card is not taken. It returns what happened; the caller journals the
intent before and the outcome after (see kiosk.core). Releases are serialised.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Protocol


class ReleaseResult(StrEnum):
    """How a release ended."""

    TAKEN = "taken"
    NOT_TAKEN = "not_taken"
    JAMMED = "jammed"


class Vault(Protocol):
    """The card store with per-slot release."""

    @property
    def slot_count(self) -> int: ...

    def card_present(self, slot: int) -> bool:
        """What the slot's sensor says now."""
        ...

    def release(self, slot: int, timeout: float) -> ReleaseResult:
        """Present the card in `slot`; block until it is taken or `timeout` seconds pass."""
        ...

    def door_open(self) -> bool:
        """The service door's tamper switch."""
        ...


class SimVault:
    """A vault whose sensors are driven by hand: `take(slot)` as a resident would, `jam(slot)`.

    With `auto_take`, a released card is taken at once (for `kiosk simulate`).
    """

    def __init__(self, slot_count: int = 24, auto_take: bool = False) -> None:
        self._slot_count = slot_count
        self.auto_take = auto_take
        self.present: dict[int, bool] = dict.fromkeys(range(1, slot_count + 1), False)
        self.jammed: set[int] = set()
        self.door = False
        self.opened: list[int] = []  # actuator history
        self._cond = threading.Condition()
        self._release_lock = threading.Lock()
        self.releasing: int | None = None

    @property
    def slot_count(self) -> int:
        return self._slot_count

    def _check(self, slot: int) -> None:
        if slot not in self.present:
            raise ValueError(f"no slot {slot} (vault has 1..{self._slot_count})")

    def card_present(self, slot: int) -> bool:
        self._check(slot)
        return self.present[slot]

    def door_open(self) -> bool:
        return self.door

    def put(self, slot: int) -> None:
        """A card was put into the slot (operator loading)."""
        self._check(slot)
        with self._cond:
            self.present[slot] = True
            self._cond.notify_all()

    def take(self, slot: int | None = None) -> None:
        """The resident takes the card from the open slot (or `slot`)."""
        with self._cond:
            target = slot if slot is not None else self.releasing
            if target is not None and target not in self.jammed:
                self.present[target] = False
                self._cond.notify_all()

    def jam(self, slot: int) -> None:
        self._check(slot)
        self.jammed.add(slot)

    def release(self, slot: int, timeout: float) -> ReleaseResult:
        self._check(slot)
        with self._release_lock:
            self.opened.append(slot)
            with self._cond:
                if slot in self.jammed:
                    return ReleaseResult.JAMMED
                self.releasing = slot
                try:
                    if self.auto_take:
                        self.present[slot] = False
                    taken = self._cond.wait_for(lambda: not self.present[slot], timeout=timeout)
                finally:
                    self.releasing = None
            return ReleaseResult.TAKEN if taken else ReleaseResult.NOT_TAKEN

"""Indicators port: the status LED, the buzzer and the guide lights that point at the part to use. The
simulator records what it was told."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from kiosk.flow.rules import Part


class Light(StrEnum):
    """What the status LED shows."""

    READY = "ready"
    BUSY = "busy"
    ATTENTION = "attention"  # operator needed
    OUT_OF_SERVICE = "out_of_service"


class Indicators(Protocol):
    """Status LED, buzzer and guide lights."""

    def show(self, light: Light) -> None: ...

    def beep(self, times: int = 1) -> None: ...

    def point(self, part: Part | None, slot: int | None = None) -> None:
        """Light the part the resident is to use (`slot`: which vault slot); None: nothing to point at."""
        ...


class SimIndicators:
    """Indicators that keep a history for tests and the demo panel."""

    def __init__(self) -> None:
        self.history: list[str] = []
        self.light = Light.READY

    def show(self, light: Light) -> None:
        if light != self.light:
            self.light = light
            self.history.append(f"light:{light}")

    def beep(self, times: int = 1) -> None:
        self.history.append(f"beep:{times}")

    def point(self, part: Part | None, slot: int | None = None) -> None:
        """Recorded as "point:reader", "point:slot:7" ("point:slot" with no number), "point:none"."""
        self.history.append(f"point:{part or 'none'}" + (f":{slot}" if part is not None and slot is not None else ""))

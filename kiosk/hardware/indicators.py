"""Indicators port: the status LED and buzzer. The simulator records what it was told."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Light(StrEnum):
    """What the status LED shows."""

    READY = "ready"
    BUSY = "busy"
    ATTENTION = "attention"  # operator needed
    OUT_OF_SERVICE = "out_of_service"


class Indicators(Protocol):
    """Status LED and buzzer."""

    def show(self, light: Light) -> None: ...

    def beep(self, times: int = 1) -> None: ...


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

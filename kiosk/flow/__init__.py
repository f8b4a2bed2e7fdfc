"""The resident journey as a pure state machine: no Kivy, no I/O, no clock (time is passed in)."""

from kiosk.flow.effects import Effect
from kiosk.flow.events import Event
from kiosk.flow.machine import FlowConfig, start, step
from kiosk.flow.model import CardStatus, Lookup, Office, Reason, Session, Slot, Step

__all__ = [
    "CardStatus",
    "Effect",
    "Event",
    "FlowConfig",
    "Lookup",
    "Office",
    "Reason",
    "Session",
    "Slot",
    "Step",
    "start",
    "step",
]

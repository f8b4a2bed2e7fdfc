"""The runtime that carries out the flow's effects: the event loop, intake, one handler per effect, the
resident and vault desks, slips, and one read-only status snapshot."""

from kiosk.runner.effects import InlineExecutor
from kiosk.runner.kiosk import Kiosk
from kiosk.runner.parts import Parts
from kiosk.runner.status import StatusSnapshot

__all__ = ["InlineExecutor", "Kiosk", "Parts", "StatusSnapshot"]

"""Printer port: receipts and booking slips. The simulator keeps what it printed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class PrinterState(StrEnum):
    """What the printer reports about itself."""

    OK = "ok"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"


@dataclass(frozen=True)
class Document:
    """A slip to print: a header, lines of text (NIK already masked) and an optional QR code."""

    title: str
    lines: tuple[str, ...]
    qr: str | None = None
    header: tuple[str, ...] = field(default=())


class Printer(Protocol):
    """A receipt printer."""

    def state(self) -> PrinterState: ...

    def print_document(self, doc: Document) -> bool:
        """Print and cut; False if the printer cannot print now."""
        ...


class SimPrinter:
    """A printer that keeps what it printed; set `paper` to False to simulate paper out."""

    def __init__(self) -> None:
        self.printed: list[Document] = []
        self.paper = True
        self.online = True
        self._lock = threading.Lock()

    def state(self) -> PrinterState:
        if not self.online:
            return PrinterState.OFFLINE
        return PrinterState.OK if self.paper else PrinterState.PAPER_OUT

    def print_document(self, doc: Document) -> bool:
        if self.state() != PrinterState.OK:
            return False
        with self._lock:
            self.printed.append(doc)
        return True

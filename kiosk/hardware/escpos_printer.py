"""An ESC/POS receipt printer behind the Printer port, with python-escpos.

A slip is rendered into python-escpos's Dummy printer first and sent in one write, so a printer that
fails mid-job never gets half a slip's commands. Before each job the printer is asked for its state
(DLE EOT 1 and 4 on transports that can answer: network and USB); paper out and offline are health
states, and the journey then offers the on-screen QR instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

from escpos.escpos import Escpos
from escpos.printer import Dummy

from kiosk.hardware.printer import Document, PrinterState

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "TM-T20II"  # an 80 mm printer with a cutter; any python-escpos profile with a cutter works


def open_device(spec: str, profile: str = DEFAULT_PROFILE, timeout_s: float = 3.0) -> Escpos:
    """An escpos printer for "tcp://host[:port]", "usb://VVVV:PPPP" or a device path such as /dev/usb/lp0."""
    if spec.startswith("tcp://"):
        from escpos.printer import Network

        url = urlparse(spec)
        return Network(url.hostname or "", url.port or 9100, timeout=timeout_s, profile=profile)
    if spec.startswith("usb://"):
        from escpos.printer import Usb

        vendor, _, product = spec.removeprefix("usb://").partition(":")
        return Usb(int(vendor, 16), int(product, 16), timeout=int(timeout_s * 1000), profile=profile)
    from escpos.printer import File

    return File(spec, profile=profile)


def render(doc: Document, qr_mode: str = "image", profile: str = DEFAULT_PROFILE) -> bytes:
    """The ESC/POS bytes of one slip: header, title, lines, the QR code and a cut."""
    p = Dummy(profile=profile)
    rule = "-" * int(p.profile.profile_data["fonts"]["0"]["columns"])
    p.hw("INIT")
    p.set(align="center", bold=True)
    for line in doc.header[:1]:
        p.textln(line)
    p.set(align="center", bold=False)
    for line in doc.header[1:]:
        p.textln(line)
    p.textln(rule)
    p.set(align="center", bold=True, double_height=True)
    p.textln(doc.title)
    p.set(align="left", bold=False, normal_textsize=True)
    for line in doc.lines:
        p.textln(line)
    if doc.qr:
        p.set(align="center")
        if qr_mode == "native":
            p.qr(doc.qr, size=6, native=True)
            p.textln()
        else:
            p.qr(doc.qr, size=6, center=True)
    p.set(align="center")
    p.textln(rule)
    p.cut()  # a full cut on a printer with a cutter (the configured profile must have one)
    return bytes(p.output)


class EscposPrinter:
    """A receipt printer on USB, the network or a device file."""

    def __init__(
        self,
        device: str,
        *,
        qr_mode: str = "image",
        profile: str = DEFAULT_PROFILE,
        opener: Callable[[], Escpos] | None = None,
        status_ttl_s: float = 2.0,
    ) -> None:
        self.device = device
        self.qr_mode = qr_mode
        self.profile = profile
        self._opener = opener or (lambda: open_device(device, profile))
        self._printer: Escpos | None = None
        self._lock = threading.Lock()
        self._ttl = status_ttl_s
        self._state: tuple[PrinterState, float] = (PrinterState.OK, float("-inf"))

    def _connect(self) -> Escpos:
        if self._printer is None:
            printer = self._opener()
            printer.open()
            self._printer = printer
        return self._printer

    def _drop(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:  # the link is already gone
                log.debug("closing the printer failed", exc_info=True)

    def _query(self) -> PrinterState:
        try:
            printer = self._connect()
        except Exception as exc:  # DeviceNotFoundError, OSError, USBError
            log.warning("printer %s unreachable: %s", self.device, exc)
            return PrinterState.OFFLINE
        try:
            if not printer.is_online():
                return PrinterState.OFFLINE
            return PrinterState.PAPER_OUT if printer.paper_status() == 0 else PrinterState.OK
        except NotImplementedError:  # a device file cannot answer: trust the write
            return PrinterState.OK
        except Exception as exc:  # no answer: timeout, reset link
            log.warning("printer %s does not answer: %s", self.device, exc)
            self._drop()
            return PrinterState.OFFLINE

    def state(self) -> PrinterState:
        with self._lock:
            state, at = self._state
            if time.monotonic() - at >= self._ttl:
                state = self._query()
                self._state = (state, time.monotonic())
            return state

    def print_document(self, doc: Document) -> bool:
        data = render(doc, self.qr_mode, self.profile)
        with self._lock:
            state = self._query()
            self._state = (state, time.monotonic())
            if state != PrinterState.OK:
                log.warning("not printing %r: printer %s", doc.title, state.value)
                return False
            try:
                self._connect()._raw(data)
            except Exception as exc:
                log.warning("printing %r failed: %s", doc.title, exc)
                self._drop()
                self._state = (PrinterState.OFFLINE, time.monotonic())
                return False
            return True

    def close(self) -> None:
        with self._lock:
            self._drop()

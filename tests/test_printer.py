"""The ESC/POS printer: the bytes python-escpos's Dummy printer produces (QR decoded back from the raster,
masked NIK, cut), and the printer's state over a real TCP socket to a loopback printer that answers
DLE EOT status queries the way a 58 mm thermal printer does, paper out and offline included."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import zxingcpp
from escpos.constants import PAPER_FULL_CUT, RT_STATUS_ONLINE, RT_STATUS_PAPER

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.escpos_printer import EscposPrinter, render
from kiosk.hardware.printer import Document, PrinterState
from kiosk.health import State
from kiosk.identity.ticket import Service

NIK = "5371016910980001"
DOC = Document(
    "Tanda terima pengambilan e-KTP",
    ("NIK: ************0001", "Kartu: C00001", "Kode serah terima: ABCDEFGH"),
    "LMR1:KIOSK-01:ABCDEFGH",
    ("Loket Mandiri e-KTP", "DKP-KUPANG", "KIOSK-01", "2026-11-23 10:00"),
)


def raster_images(data: bytes) -> list[np.ndarray]:
    """Every GS v 0 raster image in an ESC/POS stream, as 8-bit grey (black = 0), with a quiet zone."""
    images, at = [], 0
    while (at := data.find(b"\x1dv0", at)) >= 0:
        width_bytes = data[at + 4] + 256 * data[at + 5]
        height = data[at + 6] + 256 * data[at + 7]
        body = np.frombuffer(data[at + 8 : at + 8 + width_bytes * height], dtype=np.uint8)
        bits = np.unpackbits(body.reshape(height, width_bytes), axis=1)
        images.append(np.pad(np.where(bits == 1, 0, 255).astype(np.uint8), 24, constant_values=255))
        at += 8 + width_bytes * height
    return images


def test_slip_bytes_carry_the_qr_the_masked_nik_and_a_cut() -> None:
    data = render(DOC)
    codes = [r.text for img in raster_images(data) for r in zxingcpp.read_barcodes(img)]
    assert codes == ["LMR1:KIOSK-01:ABCDEFGH"], "the printed QR must decode to the handover code"
    assert b"NIK: ************0001" in data and NIK.encode() not in data
    assert b"DKP-KUPANG" in data
    assert data.startswith(b"\x1b@"), "the printer is reset first"
    assert data.endswith(PAPER_FULL_CUT), "the slip is cut off at the end"


def test_native_qr_mode_sends_the_printer_its_own_qr_command() -> None:
    data = render(DOC, qr_mode="native")
    payload = b"LMR1:KIOSK-01:ABCDEFGH"
    # GS ( k, function 180: store the data, length = payload + 3, little-endian
    store = b"\x1d(k" + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload
    assert store in data
    assert b"\x1d(k\x03\x001Q0" in data, "and print it"
    assert not raster_images(data)


class LoopbackPrinter:
    """A receipt printer on 127.0.0.1 that keeps what it was sent and answers status queries."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.paper = "ok"  # ok | low | out
        self.online = True
        self.mute = False  # answers no status query (a hung printer)
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    self.received += chunk
                    if self.mute:
                        continue
                    if chunk.endswith(RT_STATUS_ONLINE):
                        conn.sendall(bytes([0x12 if self.online else 0x1A]))
                    elif chunk.endswith(RT_STATUS_PAPER):
                        conn.sendall(bytes([{"ok": 0x12, "low": 0x1E, "out": 0x72}[self.paper]]))

    def close(self) -> None:
        self._stop = True
        self.server.close()


@pytest.fixture
def loopback() -> Iterator[LoopbackPrinter]:
    p = LoopbackPrinter()
    yield p
    p.close()


def test_network_printer_prints_when_paper_is_in(loopback: LoopbackPrinter) -> None:
    printer = EscposPrinter(loopback.url, status_ttl_s=0)
    assert printer.state() == PrinterState.OK
    assert printer.print_document(DOC)
    printer.close()
    end = time.monotonic() + 10  # the loopback printer's thread reads what was sent at its own pace
    while render(DOC) not in bytes(loopback.received) and time.monotonic() < end:
        time.sleep(0.02)
    assert render(DOC) in bytes(loopback.received)


def test_paper_out_is_a_state_and_nothing_is_sent(loopback: LoopbackPrinter) -> None:
    loopback.paper = "out"
    printer = EscposPrinter(loopback.url, status_ttl_s=0)
    assert printer.state() == PrinterState.PAPER_OUT
    assert not printer.print_document(DOC)
    assert b"\x1dv0" not in bytes(loopback.received), "no slip data goes to a printer without paper"
    loopback.paper = "low"  # near end still prints
    assert printer.print_document(DOC)
    printer.close()


def test_offline_and_unreachable_printers(loopback: LoopbackPrinter) -> None:
    loopback.online = False
    printer = EscposPrinter(loopback.url, status_ttl_s=0)
    assert printer.state() == PrinterState.OFFLINE
    printer.close()
    loopback.online, loopback.mute = True, True
    hung = EscposPrinter(loopback.url, status_ttl_s=0, opener=lambda: _network(loopback.port, timeout=0.3))
    assert hung.state() == PrinterState.OFFLINE
    hung.close()
    loopback.close()
    gone = EscposPrinter(loopback.url, status_ttl_s=0, opener=lambda: _network(loopback.port, timeout=0.3))
    assert gone.state() == PrinterState.OFFLINE
    assert not gone.print_document(DOC)


def _network(port: int, timeout: float):
    from escpos.printer import Network

    return Network("127.0.0.1", port, timeout=timeout, profile="TM-T20II")


def test_paper_out_at_the_kiosk_offers_the_on_screen_qr(world, clock) -> None:
    from tests.test_core import scan

    world.printer.paper = False
    r = next(r for r in world.residents("verification") if r.old_chip_uid)
    scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock()))
    world.reader.insert(r.old_chip_uid)
    assert world.kiosk.pump().step == Step.STATUS
    heard: list[object] = []
    world.kiosk.listeners.append(heard.append)
    world.kiosk.dispatch(ev.Press(ev.PRINT))
    assert heard, "the screen is told, so it can hide Print and point at the QR"
    assert world.printer.printed == []
    assert world.kiosk.health.status("printer").state == State.DEGRADED
    assert world.kiosk.health.errors_last_hour("printer") == 1

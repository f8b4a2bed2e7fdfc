"""`kiosk selftest`: every part of a kiosk asked once, with a line each and what to do if it fails.

Nothing moves: gates stay shut and nothing prints (`--print` prints a test slip). Exit status 0 only if
every part answered as it should.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.gateway.client import GatewayClient, GatewayError
from kiosk.hardware.printer import Document, PrinterState
from kiosk.health import Health, State
from kiosk.runner.parts import Parts
from kiosk.store import Store


@dataclass(frozen=True)
class Check:
    """One part's answer: ok, and what it said (or what to do about it)."""

    part: str
    ok: bool
    detail: str


def _check(part: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(part, True, fn())
    except Exception as exc:
        return Check(part, False, f"{type(exc).__name__}: {exc}")


def run_selftest(
    cfg: KioskConfig, parts: Parts, client: GatewayClient, health: Health, print_slip: bool = False
) -> list[Check]:
    """Ask each part once; returns one Check per part."""
    return [
        _check("camera", lambda: _camera(parts)),
        _check("reader", lambda: _reader(parts, health)),
        _check("vault", lambda: _vault(parts)),
        _check("printer", lambda: _printer(parts, print_slip)),
        _check("gateway", lambda: _gateway(client)),
        _check("store", lambda: _store(cfg.db_path)),
        _check("disk", lambda: _disk(cfg.data_dir)),
    ]


def _reader(parts: Parts, health: Health) -> str:
    """The card reader, started until its health turns OK (at most 5 s)."""
    parts.reader.start()
    try:
        deadline = time.monotonic() + 5
        status = health.status("reader")
        while (status is None or status.state != State.OK) and time.monotonic() < deadline:
            time.sleep(0.1)
            status = health.status("reader")
        if status is None or status.state != State.OK:
            why = status.reason if status else "no answer"
            raise RuntimeError(f"{why}: check the reader's USB cable, pcscd and hardware.reader_name")
        return status.reason or "ready"
    finally:
        parts.reader.stop()


def _camera(parts: Parts) -> str:
    """One frame from the camera."""
    frame = parts.camera.read()
    if frame is None:
        raise RuntimeError("no frame: check the camera's cable and hardware.camera_device")
    return f"frame {frame.shape[1]}x{frame.shape[0]}"


def _vault(parts: Parts) -> str:
    """The service door shut, and how many seats report a card (no gate moves)."""
    if parts.vault.door_open():
        raise RuntimeError("the service door is open (or its switch is not wired)")
    seated = sum(parts.vault.card_present(n) for n in range(1, parts.vault.slot_count + 1))
    return f"{parts.vault.slot_count} slots, {seated} seats report a card, door shut"


def _printer(parts: Parts, print_slip: bool) -> str:
    """The printer's state, and a test slip if asked for."""
    state = parts.printer.state()
    if state != PrinterState.OK:
        raise RuntimeError(f"printer {state.value}: check paper and cable")
    if print_slip:
        parts.printer.print_document(Document("Selftest", ("Loket Mandiri e-KTP",), "SELFTEST"))
    return "ready"


def _gateway(client: GatewayClient) -> str:
    """The gateway reached: its manifest fetched."""
    try:
        cards = client.manifest()
    except GatewayError as exc:
        raise RuntimeError(f"{exc}; check the link, gateway.url and the certificates") from exc
    return f"reachable, manifest lists {len(cards)} card(s)"


def _store(db_path: Path) -> str:
    """The database opened and its journal chain verified."""
    s = Store(db_path)
    try:
        problems = s.verify_journal()
        if problems:
            raise RuntimeError(f"journal chain broken at row {problems[0].seq}: run kiosk audit verify")
        return f"writable at {db_path}, journal intact"
    finally:
        s.close()


def _disk(data_dir: Path) -> str:
    """Free space on the data partition (at least 10%)."""
    usage = shutil.disk_usage(data_dir)
    free = usage.free / usage.total
    if free < 0.10:
        raise RuntimeError(f"only {100 * free:.0f}% free on the data partition")
    return f"{100 * free:.0f}% free"


def report(checks: list[Check]) -> str:
    """The checks as lines of OK/FAIL, part and detail."""
    return "\n".join(f"{'OK  ' if c.ok else 'FAIL'} {c.part:<8} {c.detail}" for c in checks)

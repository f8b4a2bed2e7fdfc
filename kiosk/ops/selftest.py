"""`kiosk selftest`: every part of a kiosk asked once, with a line each and what to do if it fails.

Nothing moves: gates stay shut and nothing prints (`--print` prints a test slip). Exit status 0 only if
every part answered as it should.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.config import KioskConfig
from kiosk.core import Parts
from kiosk.gateway.client import GatewayClient, GatewayError
from kiosk.hardware.printer import Document, PrinterState
from kiosk.ops.health import Health, State
from kiosk.store import Store


@dataclass(frozen=True)
class Check:
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

    def reader() -> str:
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

    def camera() -> str:
        frame = parts.camera.read()
        if frame is None:
            raise RuntimeError("no frame: check the camera's cable and hardware.camera_device")
        return f"frame {frame.shape[1]}x{frame.shape[0]}"

    def vault() -> str:
        if parts.vault.door_open():
            raise RuntimeError("the service door is open (or its switch is not wired)")
        seated = sum(parts.vault.card_present(n) for n in range(1, parts.vault.slot_count + 1))
        return f"{parts.vault.slot_count} slots, {seated} seats report a card, door shut"

    def printer() -> str:
        state = parts.printer.state()
        if state != PrinterState.OK:
            raise RuntimeError(f"printer {state.value}: check paper and cable")
        if print_slip:
            parts.printer.print_document(Document("Selftest", ("Loket Mandiri e-KTP",), "SELFTEST"))
        return "ready"

    def gateway() -> str:
        try:
            cards = client.manifest()
        except GatewayError as exc:
            raise RuntimeError(f"{exc}; check the link, gateway.url and the certificates") from exc
        return f"reachable, manifest lists {len(cards)} card(s)"

    def store() -> str:
        s = Store(cfg.db_path)
        try:
            problems = s.verify_journal()
            if problems:
                raise RuntimeError(f"journal chain broken at row {problems[0].seq}: run kiosk audit verify")
            return f"writable at {cfg.db_path}, journal intact"
        finally:
            s.close()

    def disk() -> str:
        usage = shutil.disk_usage(cfg.data_dir)
        free = usage.free / usage.total
        if free < 0.10:
            raise RuntimeError(f"only {100 * free:.0f}% free on the data partition")
        return f"{100 * free:.0f}% free"

    checks = [
        _check("camera", camera),
        _check("reader", reader),
        _check("vault", vault),
        _check("printer", printer),
        _check("gateway", gateway),
        _check("store", store),
        _check("disk", disk),
    ]
    return checks


def report(checks: list[Check]) -> str:
    return "\n".join(f"{'OK  ' if c.ok else 'FAIL'} {c.part:<8} {c.detail}" for c in checks)

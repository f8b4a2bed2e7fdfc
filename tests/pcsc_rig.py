"""A real PC/SC stack for tests: pcscd with vsmartcard's vpcd driver, started and stopped here, and
virtual cards that connect to it. Only one pcscd can run per host, so card tests run serially."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import time
from pathlib import Path
from typing import TypeVar

import pytest
from smartcard import scard as sc

from kiosk.hardware.reader import CardEvent

E = TypeVar("E")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"


def _need(what: str) -> None:
    if os.environ.get("CI"):
        raise RuntimeError(f"{what}: the README's test command installs it (scripts/setup.sh --test)")
    pytest.skip(what)


def readers() -> list[str]:
    hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    if hr != sc.SCARD_S_SUCCESS:
        return []
    try:
        hr, names = sc.SCardListReaders(ctx, [])
        return list(names) if hr == sc.SCARD_S_SUCCESS else []
    finally:
        sc.SCardReleaseContext(ctx)


def wait_reader_empty(reader: str = READER, timeout: float = 5.0) -> None:
    """Block until pcscd itself reports no card in `reader` (vpcd notices a removal only at its next poll)."""
    hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    if hr != sc.SCARD_S_SUCCESS:
        return
    try:
        end = time.monotonic() + timeout
        state = sc.SCARD_STATE_UNAWARE
        while time.monotonic() < end:
            hr, states = sc.SCardGetStatusChange(ctx, 100, [(reader, state)])
            if hr == sc.SCARD_S_SUCCESS:
                state = states[0][1] & ~sc.SCARD_STATE_CHANGED
                if state & sc.SCARD_STATE_EMPTY:
                    return
            elif hr != sc.SCARD_E_TIMEOUT:
                return
        raise AssertionError(f"{reader} still holds a card after {timeout} s")
    finally:
        sc.SCardReleaseContext(ctx)


class Pcscd:
    """A pcscd process of our own, in the foreground."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / "kiosk-test-pcscd.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(["pcscd", "--foreground", "--info"], stdout=out, stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if READER in readers():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"pcscd exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.1)
        raise RuntimeError(f"pcscd did not show the vpcd reader in 10 s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def pcscd_fixture() -> Pcscd:
    if shutil.which("pcscd") is None or not VPCD_DRIVER.exists():
        _need("pcscd and vsmartcard-vpcd are not installed")
    if subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True).returncode == 0:
        _need("another pcscd is running; stop it to run the card tests (only one can run per host)")
    daemon = Pcscd()
    daemon.start()
    return daemon


def expect(events: queue.Queue[CardEvent], kind: type[E], timeout: float = 5.0) -> E:
    """The next event, which must be of `kind`."""
    try:
        event = events.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no {kind.__name__} within {timeout} s") from None
    assert isinstance(event, kind), f"expected {kind.__name__}, got {event}"
    return event


def quiet(events: queue.Queue[CardEvent], seconds: float = 0.5) -> None:
    """No event arrives for a while."""
    try:
        event = events.get(timeout=seconds)
    except queue.Empty:
        return
    raise AssertionError(f"unexpected {event}")

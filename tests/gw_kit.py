"""Helpers for the gateway service's tests: the simulated town loaded into a Gateway, and
`loket-gateway serve` as a real subprocess on a loopback port."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from kiosk.sim.office import Resident, town
from loket_gateway.demo import KIOSK_OFFICE, OFFICES, demo_town
from loket_gateway.gateway import Gateway

TODAY = dt.date(2026, 11, 23)
KIOSK, KEY = "KIOSK-01", "demo-key"


def seed(gateway: Gateway, seed_no: int = 5) -> list[Resident]:
    """The demo town (loket_gateway.demo) loaded as an office would: residents, offices, slots, one kiosk
    (and no ticket key: `loket-gateway seed --demo` adds one)."""
    records, slot_rows = demo_town(seed_no, TODAY, 2)
    gateway.office.load_offices(OFFICES)
    gateway.office.load_residents(records)
    gateway.office.load_slots(slot_rows)
    gateway.fleet.add_kiosk(KIOSK, KIOSK_OFFICE, KEY)
    return town(seed_no, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(db_url: str, log: Path, *extra: str, workers: int = 2, ca: Path | None = None) -> Iterator[str]:
    """`loket-gateway serve` on a loopback port as a subprocess; yields its base URL once /healthz answers."""
    port = free_port()
    scheme = "https" if "--tls-cert" in extra else "http"
    args = ["serve", "--db", db_url, "--listen", f"127.0.0.1:{port}", "--workers", str(workers)]
    args += ["--today", TODAY.isoformat(), *extra]
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(log.parent / f"metrics-{port}"))
    os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"])
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "loket_gateway.cli", *args], stdout=out, stderr=out, env=env)
    url = f"{scheme}://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2, context=context) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gateway did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

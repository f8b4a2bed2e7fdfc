"""The systemd units pass `systemd-analyze verify`, and the notify logic talks to a NOTIFY_SOCKET the
test provides: READY once, WATCHDOG while the store answers, silence when it hangs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.ops.notify import Notifier, Watchdog
from kiosk.store import Store

UNITS = Path(__file__).resolve().parent.parent / "systemd"
INSTALLED = "/opt/loket/venv/bin/kiosk"  # where the image puts the kiosk; here: this test's own kiosk


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    kiosk = Path(sys.executable).with_name("kiosk")
    assert kiosk.exists()
    files = UNITS.parent / "image-build" / "files"
    units = sorted([*UNITS.glob("*.service"), *files.glob("*.service"), *files.glob("*.mount")])
    assert {u.name for u in units} >= {"loket-kiosk.service", "loket-provision.service"}
    for unit in units:
        # verify checks that ExecStart exists: point it at the kiosk installed for this test run
        text = unit.read_text().replace(INSTALLED, str(kiosk))
        (tmp_path / unit.name).write_text(text.replace("/usr/local/sbin/loket-datapart", "/bin/true"))
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[str(tmp_path / u.name) for u in units]],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    kiosk_unit = (UNITS / "loket-kiosk.service").read_text()
    for directive in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/loket",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "User=loket",
    ):
        assert directive in kiosk_unit, directive


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(3)
    yield path, sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_ready_then_watchdog_pings_while_the_store_answers(notify_socket, tmp_path: Path, monkeypatch) -> None:
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    notifier = Notifier.from_env()
    assert notifier.enabled and notifier.watchdog_s == 30
    store = Store(tmp_path / "k.db")
    watchdog = Watchdog(notifier, [store.ping], deadline_s=0.5)
    assert watchdog.interval_s == 10
    assert notifier.ready("serving as KIOSK-01")
    assert received(sock) == "READY=1\nSTATUS=serving as KIOSK-01"
    assert watchdog.ping()
    assert received(sock) == "WATCHDOG=1"


def test_a_stalled_store_stops_the_pings(notify_socket, tmp_path: Path, monkeypatch) -> None:
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    store = Store(tmp_path / "k.db")
    watchdog = Watchdog(Notifier.from_env(), [store.ping], deadline_s=0.3)
    release = threading.Event()

    def hold() -> None:
        with store.transaction():  # a writer stuck inside the store
            release.wait(5)

    threading.Thread(target=hold, daemon=True).start()
    try:
        assert not watchdog.ping()
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            received(sock)
    finally:
        release.set()
    sock.settimeout(3)
    assert watchdog.ping() and received(sock) == "WATCHDOG=1", "pings resume once the store answers"


def test_without_systemd_nothing_is_sent(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not Notifier.from_env().enabled and not Notifier.from_env().ready()

"""systemd's notify protocol, without libsystemd: READY=1 once the kiosk shows its first screen, then
WATCHDOG=1 from the UI loop while the loop runs and the store answers. If either stalls, the pings
stop and systemd restarts the kiosk after WatchdogSec (see systemd/loket-kiosk.service)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """Datagrams to $NOTIFY_SOCKET; does nothing when not started by systemd."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_usec / 1e6 if watchdog_usec else None
        self._sock: socket.socket | None = None
        if address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_env(cls) -> Notifier:
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if pid and pid != str(os.getpid()):  # the watchdog is meant for another process
            usec = None
        return cls(os.environ.get("NOTIFY_SOCKET"), int(usec) if usec and usec.isdigit() else None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, message: str) -> bool:
        if self._sock is None or not self.address:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address  # abstract socket
        try:
            self._sock.sendto(message.encode(), target)
            return True
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)
            return False

    def ready(self, status: str = "serving") -> bool:
        return self.send(f"READY=1\nSTATUS={status}")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


class Watchdog:
    """Pings systemd's watchdog only if every liveness check answers within `deadline_s`."""

    def __init__(self, notifier: Notifier, checks: list[Callable[[], object]], deadline_s: float = 2.0) -> None:
        self.notifier = notifier
        self.checks = checks
        self.deadline_s = deadline_s

    @property
    def interval_s(self) -> float | None:
        """How often to ping: a third of WatchdogSec (None: no watchdog asked for)."""
        return self.notifier.watchdog_s / 3 if self.notifier.watchdog_s else None

    def _alive(self) -> bool:
        done = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                for check in self.checks:
                    check()
            except BaseException as exc:
                failed.append(exc)
            done.set()

        threading.Thread(target=run, name="kiosk-watchdog-check", daemon=True).start()
        if not done.wait(self.deadline_s):
            log.error("watchdog: a liveness check hangs (over %.1f s): not pinging", self.deadline_s)
            return False
        if failed:
            log.error("watchdog: a liveness check failed (%s): not pinging", failed[0])
            return False
        return True

    def ping(self) -> bool:
        """Called from the UI loop: if the loop runs at all, it reaches here; then the store must answer."""
        return self._alive() and self.notifier.send("WATCHDOG=1")

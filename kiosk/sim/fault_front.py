"""The layer in front of the gateway that `kiosk demo`, `kiosk simulate` and the tests run (kiosk.sim.office):
a threaded WSGI server on loopback (plain or TLS, optionally mutual) and a WSGI middleware that injects
faults (down, slow, 5xx, answers dropped mid-way) and keeps an access log, so the gateway itself never
knows it is being tested."""

from __future__ import annotations

import io
import json
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from loket_gateway.app import MAX_BODY
from loket_gateway.peer import PEER_CN, common_name

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
REQUEST_IO_S = 15.0  # each read and write of one request's socket


@dataclass
class Faults:
    """What the front is told to get wrong, and a count of the faults it really served."""

    down: bool = False  # every request answers 503
    delay_s: float = 0.0  # sleep before answering
    error_every: int = 0  # every Nth request answers 500 (0: never)
    drop_every: int = 0  # every Nth request is carried out, then the connection drops mid-answer (0: never)
    requests_seen: int = 0  # requests that got past `down`: the count `error_every` and `drop_every` step on
    served: Counter[str] = field(default_factory=Counter)  # injected faults by kind: down, slow, 5xx, dropped
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def verdict(self) -> str | None:
        """The fault for one request (after any delay): 'down', '5xx', 'dropped' or None."""
        if self.delay_s:
            self.record("slow")
            time.sleep(self.delay_s)
        with self._lock:
            if self.down:
                self.served["down"] += 1
                return "down"
            self.requests_seen += 1
            if self.error_every and self.requests_seen % self.error_every == 0:
                self.served["5xx"] += 1
                return "5xx"
            if self.drop_every and self.requests_seen % self.drop_every == 0:
                self.served["dropped"] += 1
                return "dropped"
        return None

    def record(self, kind: str) -> None:
        """Count one injected fault of this kind."""
        with self._lock:
            self.served[kind] += 1


def _error(start_response: Callable[..., Any], status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps({"error": code, "message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class FaultFront:
    """WSGI middleware in front of the gateway: the access log (method and path, never a query or body)
    and the faults. A dropped answer is carried out by the gateway, then cut off half way."""

    def __init__(self, app: WsgiApp, faults: Faults, access_log: list[str]) -> None:
        self.app, self.faults, self.access_log = app, faults, access_log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.access_log.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}")
        declared = environ.get("CONTENT_LENGTH") or ""
        # the body as gunicorn hands it over: its declared length, not the socket until the client closes
        length = min(int(declared), MAX_BODY + 1) if declared.isdigit() else 0
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length) if length else b"")
        fault = self.faults.verdict()
        if fault == "down":
            return _error(start_response, "503 Service Unavailable", "unavailable", "gateway is down (simulated)")
        if fault == "5xx":
            return _error(start_response, "500 Internal Server Error", "internal", "simulated server error")
        if fault != "dropped":
            return self.app(environ, start_response)
        body = b"".join(self.app(environ, start_response))  # the work is done ...
        return [body[: len(body) // 2]]  # ... but the kiosk never hears the whole answer (the server closes)


class Handler(WSGIRequestHandler):
    """One connection, one request (HTTP/1.0), each socket operation within REQUEST_IO_S; behind TLS the
    verified client certificate's common name reaches the app as loket_gateway.peer puts it under gunicorn."""

    timeout = REQUEST_IO_S

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        environ[PEER_CN] = common_name(cert)
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("office gateway: " + format, *args)


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("office gateway: connection from %s ended badly", client_address, exc_info=True)

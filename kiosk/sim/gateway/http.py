"""The simulator's HTTP side: the routing table of the contract, the ThreadingHTTPServer (plain and TLS,
optionally mutual), and fault injection in front of it (down, slow, 5xx, answers dropped mid-way)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from kiosk.sim.gateway.api import ApiError, EventLedger, GatewayApi, require
from kiosk.sim.gateway.fleet import Fleet

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, str], dict[str, Any], dict[str, list[str]]], dict[str, Any]]
Route = tuple[str, re.Pattern[str], Handler]  # (method, path pattern, handler(kiosk, path params, body, query))


@dataclass
class Faults:
    """What the simulator is told to get wrong, and a count of the faults it really served."""

    down: bool = False  # every request answers 503
    delay_s: float = 0.0  # sleep before answering
    error_every: int = 0  # every Nth request answers 500 (0: never)
    drop_every: int = 0  # every Nth request is carried out, then the connection drops mid-answer (0: never)
    requests_seen: int = 0  # requests that got past `down`: the count `error_every` and `drop_every` step on
    served: Counter[str] = field(default_factory=Counter)  # injected faults by kind: down, slow, 5xx, dropped
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def inject(self) -> bool:
        """Apply the faults to one request: sleep, or raise its 503 or 500 answer. True when the answer is
        to be cut off mid-way (the caller counts it with `record("dropped")` if it does so)."""
        if self.delay_s:
            self.record("slow")
            time.sleep(self.delay_s)
        with self._lock:
            if self.down:
                self.served["down"] += 1
                raise ApiError(503, "unavailable", "gateway is down (simulated)")
            self.requests_seen += 1
            if self.error_every and self.requests_seen % self.error_every == 0:
                self.served["5xx"] += 1
                raise ApiError(500, "internal", "simulated server error")
            return bool(self.drop_every) and self.requests_seen % self.drop_every == 0

    def record(self, kind: str) -> None:
        """Count one injected fault of this kind."""
        with self._lock:
            self.served[kind] += 1


def routes(api: GatewayApi, events: EventLedger, fleet: Fleet) -> list[Route]:
    """(method, path pattern, handler(kiosk, path params, body, query)) for every endpoint of the contract."""

    def own(kiosk: str, m: dict[str, str]) -> str:
        if m["kid"] != kiosk:
            raise ApiError(403, "forbidden", "a kiosk may only act for itself")
        return kiosk

    def manifest(k: str, m: dict[str, str], b: dict[str, Any], q: dict[str, list[str]]) -> dict[str, Any]:
        return api.manifest(own(k, m), int(q["since_version"][0]) if q.get("since_version") else None)

    def slots(k: str, m: dict[str, str], b: dict[str, Any], q: dict[str, list[str]]) -> dict[str, Any]:
        start = q.get("from", [dt.date.today().isoformat()])[0]
        return api.slots(m["oid"], start, int(q.get("days", ["14"])[0]))

    def leases(k: str, m: dict[str, str], b: dict[str, Any], q: dict[str, list[str]]) -> dict[str, Any]:
        return api.grant_leases(own(k, m), require(b, "from"), int(b.get("days", 7)), int(b.get("per_slot", 1)))

    def anchors(k: str, m: dict[str, str], b: dict[str, Any], q: dict[str, list[str]]) -> dict[str, Any]:
        after, limit = int(q.get("after", ["0"])[0]), int(q.get("limit", ["5000"])[0])
        return fleet.anchors.anchors(own(k, m), after, limit)

    return [
        ("GET", re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/manifest"), manifest),
        ("POST", re.compile(r"/v1/lookup"), lambda k, m, b, q: api.lookup(k, require(b, "nik"))),
        ("POST", re.compile(r"/v1/chips/resolve"), lambda k, m, b, q: api.resolve_chip(require(b, "uid"))),
        (
            "POST",
            re.compile(r"/v1/tickets/(?P<tid>[0-9a-f]{16})/consume"),
            lambda k, m, b, q: api.consume_ticket(k, m["tid"]),
        ),
        ("GET", re.compile(r"/v1/offices"), lambda k, m, b, q: api.offices()),
        ("GET", re.compile(r"/v1/offices/(?P<oid>[\w-]+)/slots"), slots),
        ("POST", re.compile(r"/v1/bookings"), lambda k, m, b, q: api.book(b)),
        ("POST", re.compile(r"/v1/events"), lambda k, m, b, q: events.accept(k, b.get("events", []))),
        ("POST", re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/heartbeat"), lambda k, m, b, q: fleet.heartbeat(own(k, m), b)),
        ("GET", re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/anchors"), anchors),
        ("POST", re.compile(r"/v1/enrol"), lambda k, m, b, q: fleet.enrol(b)),
        ("POST", re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/leases"), leases),
    ]


class HttpFront:
    """Serves the routing table over HTTP (and HTTPS) with the faults in front of it."""

    def __init__(self, api: GatewayApi, events: EventLedger, fleet: Fleet) -> None:
        self.api, self.fleet = api, fleet
        self.faults = Faults()
        self.access_log: list[str] = []  # "METHOD /path" of every request (never a body)
        self.routes = routes(api, events, fleet)
        self._server: ThreadingHTTPServer | None = None
        self._tls_servers: list[ThreadingHTTPServer] = []

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a loopback port in a background thread; returns the base URL."""
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="gateway-sim", daemon=True).start()
        return self.url

    def start_tls(self, cert: Path, key: Path, client_ca: Path | None = None, host: str = "127.0.0.1") -> str:
        """Also serve HTTPS (the same state) with `cert`; with `client_ca`, only kiosks holding a
        certificate from that CA get in (mutual TLS). Returns the https:// base URL."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            # optional at the handshake, so that a new kiosk can enrol; every other route demands it
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(client_ca)
        server = ThreadingHTTPServer((host, 0), _make_handler(self, client_cert_required=client_ca is not None))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._tls_servers.append(server)
        threading.Thread(target=server.serve_forever, name="gateway-sim-tls", daemon=True).start()
        return f"https://{host}:{server.server_address[1]}"

    @property
    def url(self) -> str:
        """The plain HTTP base URL (after `start`)."""
        assert self._server is not None, "simulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        """Stop every server; the state stays."""
        for server in self._tls_servers:
            server.shutdown()
            server.server_close()
        self._tls_servers.clear()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class RequestHandler(BaseHTTPRequestHandler):
    """One request: faults first, then the fleet page, /healthz or a route of the contract."""

    front: HttpFront  # set by _make_handler
    client_cert_required = False

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("gateway-sim: " + format, *args)

    def _send(self, status: int, content_type: str, data: bytes, drop: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if drop:  # the work is done, but the kiosk never hears the whole answer
            self.front.faults.record("dropped")
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def _answer(self, status: int, body: dict[str, Any], drop: bool = False) -> None:
        self._send(status, "application/json", json.dumps(body).encode(), drop)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        self.front.access_log.append(f"{method} {url.path}")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            drop = self.front.faults.inject()
            if url.path == "/healthz":
                return self._answer(200, {"ok": True})
            if url.path == "/metrics" and method == "GET":
                return self._send(200, "text/plain; version=0.0.4", self.front.fleet.anchors.metrics().encode())
            if url.path == "/fleet" and method == "GET":
                return self._send(200, "text/html; charset=utf-8", self.front.fleet.page().encode())
            self._answer(200, self._route(method, url, raw), drop)
        except ApiError as exc:
            self._answer(exc.status, {"error": exc.code, "message": exc.message})
        except (ValueError, KeyError) as exc:
            self._answer(400, {"error": "bad_request", "message": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception:  # a simulator bug must still answer, and be visible
            log.exception("gateway simulator failed")
            self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal", "message": "simulator error"})

    def _route(self, method: str, url: SplitResult, raw: bytes) -> dict[str, Any]:
        for route_method, pattern, fn in self.front.routes:
            m = pattern.fullmatch(url.path)
            if m and route_method == method:
                auth = self.headers.get("Authorization", "")
                key = auth[7:] if auth.startswith("Bearer ") else None
                enrolling = url.path == "/v1/enrol"  # the one-time token in the body is the credential
                if self.client_cert_required and not enrolling and not self.connection.getpeercert():
                    raise ApiError(401, "client_certificate_required", "present this kiosk's certificate")
                kiosk = "" if enrolling else self.front.api.authenticate(self.headers.get("X-Kiosk-Id"), key)
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    raise ApiError(400, "bad_request", "body is not JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "bad_request", "body must be a JSON object")
                return fn(kiosk, m.groupdict(), body, parse_qs(url.query))
        raise ApiError(404, "not_found", f"no route {method} {url.path}")

    def _serve(self, method: str) -> None:
        try:
            self._handle(method)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): nothing to tell
            log.debug("gateway-sim: client went away during %s %s", method, self.path)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


def _make_handler(front: HttpFront, client_cert_required: bool = False) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to this front (the server makes one instance per request)."""
    attrs = {"front": front, "client_cert_required": client_cert_required}
    return type("GatewaySimHandler", (RequestHandler,), attrs)

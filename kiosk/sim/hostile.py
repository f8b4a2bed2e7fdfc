"""A hostile gateway on loopback: it answers every request the way a broken proxy, a flaky link or an
attacker in the middle would (garbage, wrong shapes and types, huge or compressed bodies, a slow drip,
a hang, a dropped connection, acknowledgements of events it never got). The client must turn each into
a declared error within its deadline. Used by tests/test_gateway_hostile.py and `kiosk bench fuzz gateway`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD: dict[str, Any] = {  # a valid answer per operation, the seed of every mutation
    "getManifest": {
        "kiosk_id": "K1",
        "office_id": "O1",
        "version": 3,
        "cards": [
            {
                "card_id": "C1",
                "nik": "5371041234560001",
                "chip_uid": "04A1B2C3D4E5F6",
                "district": "537104",
                "ready_since": "2026-11-20",
                "photo": "aGVsbG8=",
            }
        ],
    },
    "lookupResident": {"status": "ready_elsewhere", "office_name": "Kecamatan Oebobo", "since": "2026-11-20"},
    "resolveChip": {"nik": "5371041234560001"},
    "consumeTicket": {"ticket_id": "0123456789abcdef", "first_use": True},
    "listOffices": {"offices": [{"office_id": "O1", "name": "Kecamatan Oebobo", "district": "537104"}]},
    "listSlots": {"office_id": "O1", "slots": [{"day": "2026-12-03", "time": "09:00", "remaining": 2}]},
    "book": {"booking_id": "b1", "code": "BK-1", "office_id": "O1", "day": "2026-12-03", "time": "09:00"},
    "sendEvents": {"accepted": [], "duplicates": []},
    "heartbeat": {"ok": True, "verdict": "anchored", "anchor": {"seq": 1, "hash": "0" * 64}},
    "getAnchors": {"anchors": [], "more": False},
    "grantLeases": {"kiosk_id": "K1", "leases": []},
}


@dataclass(frozen=True)
class Reply:
    """How the server answers one request."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    drip_s: float = 0.0  # seconds between bytes of the status line, headers and body
    hang_s: float = 0.0  # wait this long before answering anything
    close: bool = False  # drop the connection without an answer
    stream_bytes: int = 0  # then send this many filler bytes of a JSON string, chunked, without a length


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def _mutate(rng: random.Random, value: Any) -> Any:
    """`value` with one part replaced by something of another type or shape."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        out = dict(value)
        roll = rng.random()
        if roll < 0.3:
            del out[key]
        elif roll < 0.8:
            out[key] = _mutate(rng, value[key])
        else:
            out[key + "x"] = out.pop(key)
        return out
    if isinstance(value, list) and value and rng.random() < 0.6:
        i = rng.randrange(len(value))
        return [*value[:i], _mutate(rng, value[i]), *value[i + 1 :]]
    return rng.choice(
        [None, True, 0, -1, 2**70, 1.5, "", "x" * rng.choice([1, 70, 5000]), [], {}, [1, "a"], {"a": None},
         "2026-13-45", "NaN", "\u0000", "٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥", "5371041234560001x", "not base64!"]
    )  # fmt: skip


def wrong_body(rng: random.Random, operation_id: str) -> bytes:
    """A body the contract does not allow for a 2xx of `operation_id` (or one that is not JSON)."""
    roll = rng.random()
    if roll < 0.55:
        return _json(_mutate(rng, GOOD[operation_id]))
    if roll < 0.7:
        return _json(rng.choice([[], "ok", 1, True, None, [GOOD[operation_id]]]))
    if roll < 0.8:
        return _deep(rng.choice([50, 5000, 100_000]))
    if roll < 0.9:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    return _json(GOOD[operation_id])[: rng.randrange(1, 20)]  # cut short


def gzip_bomb(inflated: int) -> bytes:
    """A small gzip body that inflates to `inflated` bytes of a JSON string."""
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [out.compress(b'"')]
    block = b"a" * (1 << 20)
    for _ in range(inflated >> 20):
        parts.append(out.compress(block))
    parts.append(out.compress(b'"'))
    parts.append(out.flush())
    return b"".join(parts)


def hostile_reply(rng: random.Random, operation_id: str, sent_ids: list[str]) -> Reply:
    """One hostile answer of the many kinds the fuzzer draws from."""
    kind = rng.choice(
        ["wrong", "wrong", "wrong", "refusal", "status", "drip", "hang", "close", "huge", "bomb", "encoding",
         "false_ack", "good"]
    )  # fmt: skip
    if kind == "wrong":
        return Reply(200, wrong_body(rng, operation_id))
    if kind == "refusal":  # a 4xx whose body is not the contract's error object, or is
        body = rng.choice([_json([1]), _json("no"), _json(7), _json(True), b"<html>", _json({"error": "x"})])
        return Reply(rng.choice([400, 401, 403, 404, 409]), rng.choice([body, _json({"error": "e", "message": "m"})]))
    if kind == "status":
        return Reply(
            rng.choice([100, 201, 204, 301, 302, 304, 418, 429, 500, 501, 503, 599]), _json(GOOD[operation_id])
        )
    if kind == "drip":
        return Reply(200, _json(GOOD[operation_id]), drip_s=rng.choice([0.2, 0.5, 1.0]))
    if kind == "hang":
        return Reply(hang_s=rng.choice([2.0, 5.0, 30.0]))
    if kind == "close":
        return Reply(close=True)
    if kind == "huge":
        return Reply(200, b"", stream_bytes=rng.choice([1 << 20, 40 << 20]))
    if kind == "bomb":
        headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
        return Reply(200, gzip_bomb(rng.choice([1 << 20, 64 << 20])), headers)
    if kind == "encoding":
        enc = rng.choice(["br", "zstd", "gzip", "deflate", "x-unknown"])
        body = gzip.compress(_json(GOOD[operation_id])) if rng.random() < 0.3 else b"\x1f\x8b garbage"
        return Reply(200, body, (("Content-Type", "application/json"), ("Content-Encoding", enc)))
    if kind == "false_ack" and operation_id == "sendEvents":
        return Reply(200, _json(false_ack(rng, sent_ids)))
    return Reply(200, _json(GOOD[operation_id]))


def false_ack(rng: random.Random, sent_ids: list[str]) -> dict[str, Any]:
    """An acknowledgement of events that were not sent (or of none of those that were)."""
    foreign = [f"never-sent-{rng.randrange(10**6)}" for _ in range(rng.randrange(1, 5))]
    return rng.choice(
        [
            {"accepted": foreign, "duplicates": []},
            {"accepted": [], "duplicates": foreign},
            {"accepted": [], "duplicates": []},
            {"accepted": sent_ids[:1] + foreign, "duplicates": []},
        ]
    )


OPERATIONS: tuple[tuple[str, str, str], ...] = (  # (method, path regex prefix, operationId)
    ("GET", "/v1/kiosks/", "getManifest"),
    ("POST", "/v1/lookup", "lookupResident"),
    ("POST", "/v1/chips/resolve", "resolveChip"),
    ("POST", "/v1/tickets/", "consumeTicket"),
    ("GET", "/v1/offices/", "listSlots"),
    ("GET", "/v1/offices", "listOffices"),
    ("POST", "/v1/bookings", "book"),
    ("POST", "/v1/events", "sendEvents"),
)


def operation_of(method: str, path: str) -> str:
    if method == "POST" and path.endswith("/heartbeat"):
        return "heartbeat"
    if method == "POST" and path.endswith("/leases"):
        return "grantLeases"
    if method == "GET" and path.endswith("/anchors"):
        return "getAnchors"
    for m, prefix, op in OPERATIONS:
        if m == method and path.startswith(prefix):
            return op
    return "heartbeat"


@dataclass
class HostileGateway:
    """The server; `plan(operation_id, sent_event_ids)` says how to answer each request."""

    plan: Callable[[str, list[str]], Reply]
    served: int = 0
    cookies: list[str] = field(default_factory=list)  # Cookie headers the client sent (it must send none)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HostileGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                gateway.answer(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                gateway.answer(self, self.rfile.read(min(length, 8 << 20)))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="hostile-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, h: BaseHTTPRequestHandler, request_body: bytes) -> None:
        with self._lock:
            self.served += 1
            if h.headers.get("Cookie"):
                self.cookies.append(h.headers["Cookie"])
        sent: list[str] = []
        if h.path.startswith("/v1/events"):
            try:
                sent = [str(e["id"]) for e in json.loads(request_body)["events"]]
            except (ValueError, KeyError, TypeError):
                sent = []
        reply = self.plan(operation_of(h.command, h.path.split("?")[0]), sent)
        with contextlib.suppress(OSError):  # the client gave up (its deadline): that is the point
            send(h, reply)
        h.close_connection = True


def send(h: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Write `reply` to the handler's socket, as slowly or as badly as it says."""
    conn: socket.socket = h.connection
    if reply.hang_s:
        time.sleep(reply.hang_s)
    if reply.close:
        conn.shutdown(socket.SHUT_RDWR)
        return
    head = [f"HTTP/1.1 {reply.status} X"] + [f"{k}: {v}" for k, v in reply.headers]
    if reply.stream_bytes:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append(f"Content-Length: {len(reply.body)}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode()
    if reply.drip_s:
        for i in range(len(data) + len(reply.body)):
            conn.sendall((data + reply.body)[i : i + 1])
            time.sleep(reply.drip_s)
        return
    conn.sendall(data)
    if reply.stream_bytes:
        chunk = b"a" * 65536
        conn.sendall(b'1\r\n"\r\n')
        for _ in range(reply.stream_bytes // len(chunk)):
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.sendall(b'1\r\n"\r\n0\r\n\r\n')
        return
    conn.sendall(reply.body)

"""A simulator of the Dukcapil kiosk gateway: a real HTTP server on loopback, backed by SQLite.

It serves the contract in openapi.yaml, holds the queue system's ticket signing key (so the demo and
tests can issue tickets), and can be told to fail (down, slow, 5xx) for fault-injection tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import logging
import random
import re
import secrets
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.identity.ticket import Service, issue_ticket
from kiosk.sim.seed import KIOSK_OFFICE, OFFICES, Resident, seed_residents

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS residents (
    nik TEXT PRIMARY KEY, idx INTEGER, name TEXT, district TEXT, status TEXT, since TEXT,
    old_chip_uid TEXT, card_id TEXT, new_chip_uid TEXT, office_id TEXT);
CREATE TABLE IF NOT EXISTS offices (office_id TEXT PRIMARY KEY, name TEXT, district TEXT);
CREATE TABLE IF NOT EXISTS slots (
    office_id TEXT, day TEXT, time TEXT, capacity INTEGER, booked INTEGER DEFAULT 0,
    PRIMARY KEY (office_id, day, time));
CREATE TABLE IF NOT EXISTS bookings (
    booking_id TEXT PRIMARY KEY, nik TEXT, office_id TEXT, day TEXT, time TEXT, code TEXT, created REAL);
CREATE TABLE IF NOT EXISTS consumed_tickets (ticket_id TEXT PRIMARY KEY, kiosk_id TEXT, at REAL);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, kiosk_id TEXT, kind TEXT, payload TEXT, received REAL, deliveries INTEGER);
CREATE TABLE IF NOT EXISTS heartbeats (kiosk_id TEXT PRIMARY KEY, at REAL, payload TEXT);
CREATE TABLE IF NOT EXISTS kiosks (kiosk_id TEXT PRIMARY KEY, office_id TEXT, api_key TEXT);
CREATE TABLE IF NOT EXISTS leases (
    kiosk_id TEXT, office_id TEXT, day TEXT, time TEXT, granted INTEGER, used INTEGER DEFAULT 0,
    PRIMARY KEY (kiosk_id, office_id, day, time));
CREATE TABLE IF NOT EXISTS enrolment_tokens (token TEXT PRIMARY KEY, kiosk_id TEXT, office_id TEXT, used REAL);
CREATE TABLE IF NOT EXISTS conflicts (event_id TEXT PRIMARY KEY, kiosk_id TEXT, kind TEXT, detail TEXT, at REAL);
"""
MANIFEST_VALID_DAYS = 7
TIMES = ("08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00")


class ApiError(Exception):
    """An error answer: HTTP status, a machine code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Faults:
    """What the simulator is told to get wrong."""

    down: bool = False  # every request answers 503
    delay_s: float = 0.0  # sleep before answering
    error_every: int = 0  # every Nth request answers 500 (0: never)
    drop_every: int = 0  # every Nth request is carried out, then the connection drops mid-answer (0: never)
    _count: int = field(default=0, repr=False)


class GatewaySimulator:
    """The gateway's state and logic, and its HTTP server."""

    def __init__(
        self,
        db_path: str | Path,
        seed: int = 1,
        *,
        today: dt.date | None = None,
        kiosk_id: str = "KIOSK-01",
        api_key: str = "demo-key",
        per_status: int = 2,
    ) -> None:
        self.seed = seed
        self.kiosk_id = kiosk_id
        self.api_key = api_key
        self.faults = Faults()
        self._tls_servers: list[ThreadingHTTPServer] = []
        self.ca: Any = None  # a kiosk.gateway.pki.Issued CA: enrolment then signs kiosk certificates
        self.photos: dict[str, bytes] = {}  # card_id -> recording photo (tests and benchmarks set these)
        self.access_log: list[str] = []
        self.ticket_key = Ed25519PrivateKey.from_private_bytes(
            (f"loket-queue-{seed}".encode() * 4)[:32]
        )  # deterministic per seed: a simulator, not a secret
        self.ticket_key_id = 1
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self.residents = seed_residents(seed, per_status)
        self.today = today or dt.date.today()  # the gateway's idea of today (manifest validity)
        if not self._db.execute("SELECT 1 FROM residents LIMIT 1").fetchone():
            self._seed(self.today)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- seeding ------------------------------------------------------------------------------

    def _seed(self, today: dt.date) -> None:
        rng = random.Random(self.seed)
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            for r in self.residents:
                since = (today - dt.timedelta(days=rng.randrange(1, 90))).isoformat()
                db.execute(
                    "INSERT INTO residents VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        r.nik,
                        r.index,
                        r.name,
                        r.district,
                        r.status,
                        since,
                        r.old_chip_uid,
                        r.card_id,
                        r.new_chip_uid,
                        r.office_id,
                    ),
                )
            db.executemany("INSERT INTO offices VALUES (?,?,?)", OFFICES)
            for office_id, _, _ in OFFICES:
                for d in range(1, 15):
                    day = today + dt.timedelta(days=d)
                    if day.weekday() == 6:
                        continue
                    for t in TIMES:
                        cap = rng.choice((0, 2, 4, 6, 8))
                        db.execute("INSERT INTO slots VALUES (?,?,?,?,0)", (office_id, day.isoformat(), t, cap))
            db.execute("INSERT INTO kiosks VALUES (?,?,?)", (self.kiosk_id, KIOSK_OFFICE, self.api_key))
            db.execute("COMMIT")

    # -- what the queue system does ----------------------------------------------------------

    @property
    def ticket_public_key_hex(self) -> str:
        return self.ticket_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def issue_ticket(
        self,
        resident: Resident,
        service: Service = Service.PICKUP,
        *,
        office: str = KIOSK_OFFICE,
        now: float | None = None,
        valid_s: int = 4 * 3600,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        """A signed queue ticket for a resident, as the office's queue machine would print it."""
        now = time.time() if now is None else now
        return issue_ticket(
            key or self.ticket_key,
            self.ticket_key_id,
            secrets.token_bytes(8),
            service,
            office,
            resident.nik,
            int(now) - 60,
            int(now) + valid_s,
        )

    def resident(self, index: int) -> Resident:
        return self.residents[index - 1]

    # -- the contract's operations -------------------------------------------------------------

    def manifest(self, kiosk_id: str, since_version: int | None = None) -> dict[str, Any]:
        """The kiosk's cards; each entry is valid for `MANIFEST_VALID_DAYS` from today (a kiosk offline
        longer stops releasing: the card may have been withdrawn centrally). With `since_version` equal
        to the current version, only {"unchanged": true} comes back."""
        office = self._kiosk_office(kiosk_id)
        with self._lock:
            rows = self._db.execute(
                "SELECT card_id, nik, new_chip_uid, district, since, old_chip_uid FROM residents "
                "WHERE status='ready_here' AND office_id=? ORDER BY card_id",
                (office,),
            ).fetchall()
        valid_until = (self.today + dt.timedelta(days=MANIFEST_VALID_DAYS)).isoformat()
        cards = [
            {
                "card_id": r[0],
                "nik": r[1],
                "chip_uid": r[2],
                "district": r[3],
                "ready_since": r[4],
                "old_chip_uid": r[5],
                "valid_until": valid_until,
                "photo": base64.b64encode(self.photos[r[0]]).decode() if r[0] in self.photos else None,
            }
            for r in rows
        ]
        digest = hashlib.sha256(json.dumps([c["card_id"] for c in cards] + [valid_until]).encode()).hexdigest()
        version = int(digest[:12], 16)
        if since_version == version:
            return {"kiosk_id": kiosk_id, "office_id": office, "version": version, "unchanged": True, "cards": []}
        return {"kiosk_id": kiosk_id, "office_id": office, "version": version, "cards": cards}

    def lookup(self, kiosk_id: str, nik: str) -> dict[str, Any]:
        office = self._kiosk_office(kiosk_id)
        with self._lock:
            row = self._db.execute(
                "SELECT r.status, r.since, r.card_id, r.office_id, o.name FROM residents r "
                "LEFT JOIN offices o ON o.office_id = r.office_id WHERE r.nik=?",
                (nik,),
            ).fetchone()
        if row is None:
            return {"status": "not_found"}
        status, since, card_id, card_office, office_name = row
        if status == "ready_here" and card_office != office:
            status = "ready_elsewhere"
        answer: dict[str, Any] = {"status": status, "since": since}
        if status in ("ready_here", "ready_elsewhere"):
            answer.update(card_id=card_id, office_id=card_office, office_name=office_name)
        return answer

    def resolve_chip(self, uid: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT nik FROM residents WHERE old_chip_uid=?", (uid.upper(),)).fetchone()
        if row is None:
            raise ApiError(404, "chip_unknown", "no resident holds a card with this chip UID")
        return {"nik": row[0]}

    def consume_ticket(self, kiosk_id: str, ticket_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT kiosk_id FROM consumed_tickets WHERE ticket_id=?", (ticket_id,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO consumed_tickets VALUES (?,?,?)", (ticket_id, kiosk_id, time.time()))
                return {"ticket_id": ticket_id, "first_use": True}
        if row[0] == kiosk_id:  # the same kiosk retrying: idempotent
            return {"ticket_id": ticket_id, "first_use": True}
        raise ApiError(409, "ticket_used_elsewhere", f"ticket already used at {row[0]}")

    def offices(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT office_id, name, district FROM offices ORDER BY office_id").fetchall()
        return {"offices": [{"office_id": r[0], "name": r[1], "district": r[2]} for r in rows]}

    def slots(self, office_id: str, start: str, days: int) -> dict[str, Any]:
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()
        with self._lock:
            if not self._db.execute("SELECT 1 FROM offices WHERE office_id=?", (office_id,)).fetchone():
                raise ApiError(404, "office_unknown", f"no office {office_id}")
            rows = self._db.execute(
                "SELECT day, time, capacity - booked FROM slots WHERE office_id=? AND day>=? AND day<? "
                "ORDER BY day, time",
                (office_id, start, end),
            ).fetchall()
        return {"office_id": office_id, "slots": [{"day": r[0], "time": r[1], "remaining": r[2]} for r in rows]}

    def book(self, body: dict[str, Any]) -> dict[str, Any]:
        booking_id = _require(body, "booking_id")
        with self._lock:
            row = self._db.execute(
                "SELECT code, office_id, day, time FROM bookings WHERE booking_id=?", (booking_id,)
            ).fetchone()
            if row:  # idempotent replay
                return {"booking_id": booking_id, "code": row[0], "office_id": row[1], "day": row[2], "time": row[3]}
            nik, office_id, day, t = (_require(body, k) for k in ("nik", "office_id", "day", "time"))
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "UPDATE slots SET booked = booked + 1 WHERE office_id=? AND day=? AND time=? AND booked < capacity",
                    (office_id, day, t),
                )
                if cur.rowcount != 1:
                    raise ApiError(409, "slot_full", "this slot has no capacity left")
                code = "B" + secrets.token_hex(4).upper()
                self._db.execute(
                    "INSERT INTO bookings VALUES (?,?,?,?,?,?,?)",
                    (booking_id, nik, office_id, day, t, code, time.time()),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"booking_id": booking_id, "code": code, "office_id": office_id, "day": day, "time": t}

    def accept_events(self, kiosk_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Store each event once by its ID and apply its effect once; a repeat is only counted."""
        accepted, duplicates = [], []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for e in events:
                    event_id = _require(e, "id")
                    cur = self._db.execute(
                        "UPDATE events SET deliveries = deliveries + 1 WHERE event_id=?", (event_id,)
                    )
                    if cur.rowcount:
                        duplicates.append(event_id)
                        continue
                    kind, payload = _require(e, "kind"), e.get("payload", {})
                    self._db.execute(
                        "INSERT INTO events VALUES (?,?,?,?,?,1)",
                        (event_id, kiosk_id, kind, json.dumps(payload), time.time()),
                    )
                    self._apply(kiosk_id, event_id, kind, payload)
                    accepted.append(event_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"accepted": accepted, "duplicates": duplicates}

    def _apply(self, kiosk_id: str, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """What an event changes at the gateway (inside accept_events' transaction)."""
        if kind == "handover":
            self._collected(payload)
        elif kind == "ticket_consumed":
            ticket = str(payload.get("ticket_id", ""))
            row = self._db.execute("SELECT kiosk_id FROM consumed_tickets WHERE ticket_id=?", (ticket,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO consumed_tickets VALUES (?,?,?)", (ticket, kiosk_id, time.time()))
            elif row[0] != kiosk_id:  # used at two kiosks while they were offline: staff must look
                self._conflict(event_id, kiosk_id, "ticket_used_twice", f"ticket {ticket} also used at {row[0]}")
        elif kind == "booking_offline":
            self._book_on_lease(kiosk_id, event_id, payload)

    def _conflict(self, event_id: str, kiosk_id: str, kind: str, detail: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO conflicts VALUES (?,?,?,?,?)", (event_id, kiosk_id, kind, detail, time.time())
        )

    def _book_on_lease(self, kiosk_id: str, event_id: str, p: dict[str, Any]) -> None:
        booking_id = str(p.get("booking_id", ""))
        if self._db.execute("SELECT 1 FROM bookings WHERE booking_id=?", (booking_id,)).fetchone():
            # booked online already, but the answer never reached the kiosk, which then booked on its lease
            # with the same ID: one place, and the code the resident holds is the kiosk's
            self._db.execute("UPDATE bookings SET code=? WHERE booking_id=?", (p.get("code"), booking_id))
            return
        key = (kiosk_id, p.get("office_id"), p.get("day"), p.get("time"))
        cur = self._db.execute(
            "UPDATE leases SET used = used + 1 "
            "WHERE kiosk_id=? AND office_id=? AND day=? AND time=? AND used < granted",
            key,
        )
        if cur.rowcount != 1:
            self._conflict(event_id, kiosk_id, "booking_beyond_lease", f"booking {booking_id} has no leased place")
            return
        self._db.execute(
            "INSERT INTO bookings VALUES (?,?,?,?,?,?,?)",
            (booking_id, p.get("nik"), p.get("office_id"), p.get("day"), p.get("time"), p.get("code"), time.time()),
        )

    def grant_leases(self, kiosk_id: str, start: str, days: int, per_slot: int) -> dict[str, Any]:
        """Set aside up to `per_slot` places of every slot of every office for `days` days for this kiosk's
        offline bookings (once per slot: asking again returns what is leased). Returns what is left."""
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT s.office_id, s.day, s.time, s.capacity - s.booked FROM slots s "
                    "LEFT JOIN leases l ON l.kiosk_id=? AND l.office_id=s.office_id AND l.day=s.day AND l.time=s.time "
                    "WHERE s.day>=? AND s.day<? AND l.kiosk_id IS NULL",
                    (kiosk_id, start, end),
                ).fetchall()
                for office_id, day, t, free in rows:
                    n = max(0, min(per_slot, free))
                    self._db.execute(
                        "UPDATE slots SET booked = booked + ? WHERE office_id=? AND day=? AND time=?",
                        (n, office_id, day, t),
                    )
                    self._db.execute(
                        "INSERT INTO leases(kiosk_id, office_id, day, time, granted) VALUES (?,?,?,?,?)",
                        (kiosk_id, office_id, day, t, n),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            leased = self._db.execute(
                "SELECT l.office_id, o.name, o.district, l.day, l.time, l.granted - l.used FROM leases l "
                "JOIN offices o ON o.office_id = l.office_id WHERE l.kiosk_id=? AND l.day>=? AND l.day<? "
                "AND l.granted > l.used ORDER BY l.office_id, l.day, l.time",
                (kiosk_id, start, end),
            ).fetchall()
        return {
            "kiosk_id": kiosk_id,
            "leases": [
                {"office_id": r[0], "office_name": r[1], "district": r[2], "day": r[3], "time": r[4], "remaining": r[5]}
                for r in leased
            ],
        }

    def booking_codes(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT code FROM bookings")]

    def issue_enrolment_token(self, kiosk_id: str, office_id: str = KIOSK_OFFICE) -> str:
        """A one-time token for a new kiosk (the admin's side of provisioning)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._db.execute("INSERT INTO enrolment_tokens VALUES (?,?,?,NULL)", (token, kiosk_id, office_id))
        return token

    def enrol(self, body: dict[str, Any]) -> dict[str, Any]:
        """Spend a one-time token: register the kiosk, give it its API key, sign its certificate request
        (when this gateway has a CA), and hand over what it must trust."""
        token, kiosk_id = _require(body, "token"), _require(body, "kiosk_id")
        with self._lock:
            row = self._db.execute(
                "SELECT kiosk_id, office_id, used FROM enrolment_tokens WHERE token=?", (token,)
            ).fetchone()
            if row is None or row[2] is not None:
                raise ApiError(401, "token_invalid", "the enrolment token is unknown or already used")
            if row[0] != kiosk_id:
                raise ApiError(403, "token_other_kiosk", f"this token is for kiosk {row[0]}")
            api_key = secrets.token_urlsafe(32)
            self._db.execute("UPDATE enrolment_tokens SET used=? WHERE token=?", (time.time(), token))
            self._db.execute("INSERT OR REPLACE INTO kiosks VALUES (?,?,?)", (kiosk_id, row[1], api_key))
        answer: dict[str, Any] = {
            "kiosk_id": kiosk_id,
            "office_id": row[1],
            "api_key": api_key,
            "ticket_keys": {str(self.ticket_key_id): self.ticket_public_key_hex},
        }
        if self.ca is not None and body.get("csr"):
            from kiosk.gateway.pki import sign_csr

            answer["client_cert"] = sign_csr(self.ca, str(body["csr"]), kiosk_id)
            answer["ca_cert"] = self.ca.cert.read_text()
        return answer

    def conflicts(self) -> list[tuple[str, str]]:
        """(kind, detail) of every conflict events revealed (for tests)."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute("SELECT kind, detail FROM conflicts ORDER BY at")]

    def bind_old_chip(self, nik: str, uid: str) -> None:
        """Make `uid` the chip of this resident's old KTP (the demo binds a real card this way)."""
        with self._lock:
            self._db.execute("UPDATE residents SET old_chip_uid=NULL WHERE old_chip_uid=?", (uid.upper(),))
            self._db.execute("UPDATE residents SET old_chip_uid=? WHERE nik=?", (uid.upper(), nik))

    def known_chip(self, uid: str) -> bool:
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM residents WHERE old_chip_uid=?", (uid.upper(),)).fetchone() is not None
            )

    def _collected(self, payload: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE residents SET status='collected', since=? WHERE card_id=?",
            (dt.date.today().isoformat(), payload.get("card")),
        )

    def heartbeat(self, kiosk_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES (?,?,?)", (kiosk_id, time.time(), json.dumps(body))
            )
        return {"ok": True}

    def fleet(self) -> list[dict[str, Any]]:
        """Every kiosk with its last heartbeat (None if it never sent one)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT k.kiosk_id, k.office_id, h.at, h.payload FROM kiosks k "
                "LEFT JOIN heartbeats h ON h.kiosk_id = k.kiosk_id ORDER BY k.kiosk_id"
            ).fetchall()
        return [
            {"kiosk": r[0], "office": r[1], "at": r[2], "summary": json.loads(r[3]) if r[3] else None} for r in rows
        ]

    def fleet_page(self) -> str:
        """A small HTML page of kiosks and their last heartbeat (the admins' glance; Grafana has the rest)."""
        rows = []
        for k in self.fleet():
            summary = k["summary"] or {}
            parts = ", ".join(f"{n}: {st}" for n, st in summary.get("components", {}).items() if st != "ok") or "all ok"
            seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(k["at"])) + " UTC" if k["at"] else "never"
            rows.append(
                f"<tr><td>{html.escape(k['kiosk'])}</td><td>{html.escape(k['office'])}</td><td>{seen}</td>"
                f"<td>{summary.get('vault_cards', '-')}</td><td>{summary.get('outbox_pending', '-')}</td>"
                f"<td>{html.escape(', '.join(summary.get('alarms', [])) or '-')}</td><td>{html.escape(parts)}</td></tr>"
            )
        head = "<tr><th>kiosk</th><th>office</th><th>last heartbeat</th><th>cards</th><th>outbox</th>"
        head += "<th>alarms</th><th>parts</th></tr>"
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Loket fleet</title></head><body>"
            f"<h1>Loket Mandiri kiosks</h1><table border='1'>{head}{''.join(rows)}</table></body></html>"
        )

    def event_counts(self) -> dict[str, int]:
        """Events received, by kind (for tests and `kiosk simulate`)."""
        with self._lock:
            rows = self._db.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall()
        return {r[0]: r[1] for r in rows}

    def event_ids(self) -> set[str]:
        """Every event ID received (once each, however often delivered)."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT event_id FROM events")}

    def events_redelivered(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(deliveries - 1), 0) FROM events").fetchone()[0])

    def _kiosk_office(self, kiosk_id: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT office_id FROM kiosks WHERE kiosk_id=?", (kiosk_id,)).fetchone()
        if row is None:
            raise ApiError(403, "kiosk_unknown", f"kiosk {kiosk_id} is not registered")
        return str(row[0])

    def authenticate(self, kiosk_id: str | None, key: str | None) -> str:
        if not kiosk_id or not key:
            raise ApiError(401, "unauthenticated", "send X-Kiosk-Id and Authorization: Bearer <key>")
        with self._lock:
            row = self._db.execute("SELECT api_key FROM kiosks WHERE kiosk_id=?", (kiosk_id,)).fetchone()
        if row is None or not secrets.compare_digest(row[0], key):
            raise ApiError(401, "unauthenticated", "unknown kiosk or wrong key")
        return kiosk_id

    # -- HTTP -----------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a loopback port in a background thread; returns the base URL."""
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway-sim", daemon=True)
        self._thread.start()
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
        assert self._server is not None, "simulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        for server in self._tls_servers:
            server.shutdown()
            server.server_close()
        self._tls_servers.clear()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.stop()
        with self._lock:
            self._db.close()


def _require(body: dict[str, Any], key: str) -> Any:
    if key not in body or body[key] in (None, ""):
        raise ApiError(400, "bad_request", f"missing field '{key}'")
    return body[key]


Route = tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]


def _routes(sim: GatewaySimulator) -> list[Route]:
    """(method, path pattern, handler(kiosk, path params, body, query)) for every endpoint."""

    def own(kiosk: str, m: dict[str, str]) -> str:
        if m["kid"] != kiosk:
            raise ApiError(403, "forbidden", "a kiosk may only act for itself")
        return kiosk

    def slots(k: str, m: dict[str, str], b: dict[str, Any], q: dict[str, list[str]]) -> dict[str, Any]:
        start = q.get("from", [dt.date.today().isoformat()])[0]
        return sim.slots(m["oid"], start, int(q.get("days", ["14"])[0]))

    return [
        (
            "GET",
            re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/manifest"),
            lambda k, m, b, q: sim.manifest(own(k, m), int(q["since_version"][0]) if q.get("since_version") else None),
        ),
        ("POST", re.compile(r"/v1/lookup"), lambda k, m, b, q: sim.lookup(k, _require(b, "nik"))),
        ("POST", re.compile(r"/v1/chips/resolve"), lambda k, m, b, q: sim.resolve_chip(_require(b, "uid"))),
        (
            "POST",
            re.compile(r"/v1/tickets/(?P<tid>[0-9a-f]{16})/consume"),
            lambda k, m, b, q: sim.consume_ticket(k, m["tid"]),
        ),
        ("GET", re.compile(r"/v1/offices"), lambda k, m, b, q: sim.offices()),
        ("GET", re.compile(r"/v1/offices/(?P<oid>[\w-]+)/slots"), slots),
        ("POST", re.compile(r"/v1/bookings"), lambda k, m, b, q: sim.book(b)),
        ("POST", re.compile(r"/v1/events"), lambda k, m, b, q: sim.accept_events(k, b.get("events", []))),
        ("POST", re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/heartbeat"), lambda k, m, b, q: sim.heartbeat(own(k, m), b)),
        ("POST", re.compile(r"/v1/enrol"), lambda k, m, b, q: sim.enrol(b)),
        (
            "POST",
            re.compile(r"/v1/kiosks/(?P<kid>[\w-]+)/leases"),
            lambda k, m, b, q: sim.grant_leases(
                own(k, m), _require(b, "from"), int(b.get("days", 7)), int(b.get("per_slot", 1))
            ),
        ),
    ]


def _make_handler(sim: GatewaySimulator, client_cert_required: bool = False) -> type[BaseHTTPRequestHandler]:
    routes = _routes(sim)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("gateway-sim: " + format, *args)

        def _page(self, html: str) -> None:
            data = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, status: int, body: dict[str, Any], drop: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if drop:  # the work is done, but the kiosk never hears the whole answer
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            sim.access_log.append(f"{method} {url.path}")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                faults = sim.faults
                if faults.delay_s:
                    time.sleep(faults.delay_s)
                if faults.down:
                    raise ApiError(503, "unavailable", "gateway is down (simulated)")
                faults._count += 1
                if faults.error_every and faults._count % faults.error_every == 0:
                    raise ApiError(500, "internal", "simulated server error")
                drop = bool(faults.drop_every) and faults._count % faults.drop_every == 0
                if url.path == "/healthz":
                    return self._answer(200, {"ok": True})
                if url.path == "/fleet" and method == "GET":
                    return self._page(sim.fleet_page())
                for route_method, pattern, fn in routes:
                    m = pattern.fullmatch(url.path)
                    if m and route_method == method:
                        auth = self.headers.get("Authorization", "")
                        key = auth[7:] if auth.startswith("Bearer ") else None
                        # /v1/enrol: the one-time token in the body is the credential
                        enrolling = url.path == "/v1/enrol"
                        if client_cert_required and not enrolling and not self.connection.getpeercert():
                            raise ApiError(401, "client_certificate_required", "present this kiosk's certificate")
                        kiosk = "" if enrolling else sim.authenticate(self.headers.get("X-Kiosk-Id"), key)
                        try:
                            body = json.loads(raw) if raw else {}
                        except json.JSONDecodeError:
                            raise ApiError(400, "bad_request", "body is not JSON") from None
                        if not isinstance(body, dict):
                            raise ApiError(400, "bad_request", "body must be a JSON object")
                        return self._answer(200, fn(kiosk, m.groupdict(), body, parse_qs(url.query)), drop)
                raise ApiError(404, "not_found", f"no route {method} {url.path}")
            except ApiError as exc:
                self._answer(exc.status, {"error": exc.code, "message": exc.message})
            except (ValueError, KeyError) as exc:
                self._answer(400, {"error": "bad_request", "message": str(exc)})
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception:  # a simulator bug must still answer, and be visible
                log.exception("gateway simulator failed")
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal", "message": "simulator error"})

        def _serve(self, method: str) -> None:
            try:
                self._handle(method)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): nothing to tell
                log.debug("gateway-sim: client went away during %s %s", method, self.path)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler

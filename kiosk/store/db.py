"""SQLite store: hash-chained audit journal, outbox, vault inventory, release intents, used tickets.

One connection guarded by a lock, shared by the UI thread and workers. Every write that must survive a
power cut is committed (synchronous=FULL) before the hardware acts.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
OUT_OF_SERVICE_OUTCOMES = frozenset({"jammed", "sensor_fault"})  # the slot is taken out of service

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    created REAL NOT NULL,
    kind TEXT NOT NULL,
    ordering_key TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(delivered, seq);
CREATE TABLE IF NOT EXISTS inventory (
    slot INTEGER PRIMARY KEY,
    card_id TEXT NOT NULL UNIQUE,
    nik TEXT NOT NULL,
    chip_uid TEXT NOT NULL,
    loaded REAL NOT NULL,
    out_of_service INTEGER NOT NULL DEFAULT 0,
    old_chip_uid TEXT,
    valid_until TEXT
);
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    slot INTEGER NOT NULL,
    card_id TEXT NOT NULL,
    started REAL NOT NULL,
    outcome TEXT,
    finished REAL
);
CREATE TABLE IF NOT EXISTS operator_attempts (
    card_uid TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    name TEXT PRIMARY KEY,
    raised REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    card_id TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    office_id TEXT NOT NULL,
    office_name TEXT NOT NULL,
    district TEXT NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    PRIMARY KEY (office_id, day, time)
);
CREATE TABLE IF NOT EXISTS known_status (
    nik_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    office_name TEXT,
    known_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS used_tickets (
    ticket_id TEXT PRIMARY KEY,
    used REAL NOT NULL
);
"""


@dataclass(frozen=True)
class InventoryCard:
    """A finished card in a vault slot."""

    slot: int
    card_id: str
    nik: str
    chip_uid: str
    out_of_service: bool = False
    loaded: float = 0.0
    valid_until: str | None = None  # releasable without the gateway until this day (None: not bounded)


@dataclass(frozen=True)
class ReleaseIntent:
    """A release that was started; `outcome` is None until it is known."""

    release_id: str
    slot: int
    card_id: str
    started: float
    outcome: str | None


@dataclass(frozen=True)
class OutboxItem:
    """An event waiting for delivery to the gateway."""

    event_id: str
    seq: int
    kind: str
    ordering_key: str | None
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class AuditProblem:
    """A journal row that does not fit the hash chain."""

    seq: int
    problem: str


def _hash(prev: str, seq: int, ts: float, kind: str, data: str) -> str:
    material = json.dumps([prev, seq, repr(ts), kind, data], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class Store:
    """The kiosk's database. Thread-safe; one instance per process."""

    def __init__(self, path: str | Path, clock: Any = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA secure_delete=ON")  # erased templates are overwritten, not just unlinked
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(inventory)")}
        for column in ("old_chip_uid", "valid_until"):  # a store from before the offline manifest
            if column not in columns:
                self._db.execute(f"ALTER TABLE inventory ADD COLUMN {column} TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ping(self) -> None:
        """A trivial read through the same lock every writer takes (the watchdog's liveness check)."""
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- journal ------------------------------------------------------------------------------

    def _append(self, db: sqlite3.Connection, kind: str, data: Mapping[str, Any]) -> int:
        row = db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        ts = float(self._clock())
        text = json.dumps(dict(data), sort_keys=True, separators=(",", ":"))
        db.execute(
            "INSERT INTO journal(seq, ts, kind, data, prev_hash, hash) VALUES (?,?,?,?,?,?)",
            (seq, ts, kind, text, prev, _hash(prev, seq, ts, kind, text)),
        )
        return int(seq)

    def journal(
        self, kind: str, data: Mapping[str, Any] | None = None, *, outbox: bool = False, ordering_key: str | None = None
    ) -> int:
        """Append an event to the journal (and, if asked, to the outbox in the same transaction)."""
        with self._tx() as db:
            seq = self._append(db, kind, data or {})
            if outbox:
                self._enqueue(db, kind, dict(data or {}), ordering_key)
            return seq

    def journal_rows(self) -> list[tuple[int, float, str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, ts, kind, data FROM journal ORDER BY seq").fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def journal_head(self) -> tuple[int, str]:
        """Sequence number and hash of the newest row (sent in heartbeats to anchor the chain)."""
        with self._lock:
            row = self._db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def verify_journal(self) -> list[AuditProblem]:
        """Recompute the hash chain; every edited, deleted or inserted row shows up as a problem."""
        problems: list[AuditProblem] = []
        prev, expected_seq = GENESIS, 1
        with self._lock:
            rows = self._db.execute("SELECT seq, ts, kind, data, prev_hash, hash FROM journal ORDER BY seq")
            for seq, ts, kind, data, prev_hash, digest in rows:
                if seq != expected_seq:
                    problems.append(AuditProblem(seq, f"gap: expected row {expected_seq}"))
                if prev_hash != prev:
                    problems.append(AuditProblem(seq, "link to previous row broken"))
                if _hash(prev_hash, seq, ts, kind, data) != digest:
                    problems.append(AuditProblem(seq, "row content does not match its hash"))
                prev, expected_seq = digest, seq + 1
        return problems

    # -- outbox -------------------------------------------------------------------------------

    def _enqueue(self, db: sqlite3.Connection, kind: str, payload: dict[str, Any], key: str | None) -> str:
        event_id = uuid.uuid4().hex
        row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
        db.execute(
            "INSERT INTO outbox(id, seq, created, kind, ordering_key, payload) VALUES (?,?,?,?,?,?)",
            (event_id, row[0] + 1, float(self._clock()), kind, key, json.dumps(payload, sort_keys=True)),
        )
        return event_id

    def enqueue(self, kind: str, payload: Mapping[str, Any], ordering_key: str | None = None) -> str:
        """Queue an event for the gateway; returns its client-made ID (the idempotency key)."""
        with self._tx() as db:
            return self._enqueue(db, kind, dict(payload), ordering_key)

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, seq, kind, ordering_key, payload, attempts FROM outbox "
                "WHERE delivered IS NULL ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def outbox_ids(self) -> set[str]:
        """The IDs of every event ever queued (delivered or not)."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT id FROM outbox")}

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE delivered IS NULL").fetchone()[0])

    def mark_delivered(self, event_ids: list[str]) -> None:
        with self._tx() as db:
            now = float(self._clock())
            db.executemany("UPDATE outbox SET delivered=? WHERE id=?", [(now, i) for i in event_ids])

    def mark_attempt(self, event_ids: list[str]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE outbox SET attempts=attempts+1 WHERE id=?", [(i,) for i in event_ids])

    # -- used tickets -------------------------------------------------------------------------

    def use_ticket(self, ticket_id: str) -> bool:
        """Mark a ticket used; False if it already was."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO used_tickets(ticket_id, used) VALUES (?,?)", (ticket_id, float(self._clock()))
            )
            return cur.rowcount == 1

    def ticket_used(self, ticket_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM used_tickets WHERE ticket_id=?", (ticket_id,)).fetchone() is not None

    # -- operator PIN attempts ----------------------------------------------------------------

    def operator_attempts(self, card_uid: str) -> tuple[int, int, float]:
        """(failures, lockouts, locked_until) of a staff card."""
        with self._lock:
            row = self._db.execute(
                "SELECT failures, lockouts, locked_until FROM operator_attempts WHERE card_uid=?", (card_uid,)
            ).fetchone()
        return (row[0], row[1], row[2]) if row else (0, 0, 0.0)

    def record_operator_attempt(
        self, card_uid: str, failures: int, lockouts: int, locked_until: float, kind: str, data: Mapping[str, Any]
    ) -> None:
        """Remember a PIN attempt's consequences and journal it, in one transaction."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO operator_attempts VALUES (?,?,?,?)",
                (card_uid, failures, lockouts, locked_until),
            )
            self._append(db, kind, data)
            self._enqueue(db, kind, dict(data), None)

    # -- vault inventory ----------------------------------------------------------------------

    def load_card(
        self,
        slot: int,
        card_id: str,
        nik: str,
        chip_uid: str,
        operator: str | None = None,
        old_chip_uid: str | None = None,
        valid_until: str | None = None,
    ) -> None:
        """Record a card put into a slot (journaled, and reported to the gateway)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO inventory(slot, card_id, nik, chip_uid, loaded, old_chip_uid, valid_until) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    slot,
                    card_id,
                    nik,
                    chip_uid.upper(),
                    float(self._clock()),
                    old_chip_uid and old_chip_uid.upper(),
                    valid_until,
                ),
            )
            data = {"slot": slot, "card": card_id, "operator": operator}
            self._append(db, "card_loaded", data)
            self._enqueue(db, "card_loaded", data, card_id)

    def unload_card(self, slot: int, reason: str, operator: str) -> InventoryCard:
        """Record a card taken out of its slot by staff (journaled, reported); clears the slot's alarm."""
        with self._tx() as db:
            row = db.execute(
                "SELECT slot, card_id, nik, chip_uid, out_of_service, loaded FROM inventory WHERE slot=?", (slot,)
            ).fetchone()
            if row is None:
                raise LookupError(f"slot {slot} holds no card")
            db.execute("DELETE FROM inventory WHERE slot=?", (slot,))
            db.execute("DELETE FROM templates WHERE card_id=?", (row[1],))
            db.execute("DELETE FROM alarms WHERE name=?", (f"slot:{slot}",))
            data = {"slot": slot, "card": row[1], "reason": reason, "operator": operator}
            self._append(db, "card_unloaded", data)
            self._enqueue(db, "card_unloaded", data, row[1])
            return InventoryCard(row[0], row[1], row[2], row[3], bool(row[4]), row[5])

    def rebind_old_chip(self, nik: str, uid: str) -> None:
        """The demo's real-card binding: `uid` is now the old card of the holder of `nik` (and nobody else's)."""
        with self._tx() as db:
            db.execute("UPDATE inventory SET old_chip_uid=NULL WHERE old_chip_uid=?", (uid.upper(),))
            db.execute("UPDATE inventory SET old_chip_uid=? WHERE nik=?", (uid.upper(), nik))

    def rebind_chip(self, card_id: str, chip_uid: str) -> None:
        """Record the chip UID of a card in the vault anew (journaled): the demo's real-card binding."""
        with self._tx() as db:
            db.execute("UPDATE inventory SET chip_uid=? WHERE card_id=?", (chip_uid.upper(), card_id))
            self._append(db, "card_chip_rebound", {"card": card_id})

    def _cards(self, where: str = "", args: tuple[Any, ...] = ()) -> list[InventoryCard]:
        query = (
            "SELECT slot, card_id, nik, chip_uid, out_of_service, loaded, valid_until FROM inventory "
            + where
            + " ORDER BY slot"
        )
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [InventoryCard(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def inventory(self) -> list[InventoryCard]:
        return self._cards()

    def card_for_nik(self, nik: str) -> InventoryCard | None:
        return next(iter(self._cards("WHERE nik=?", (nik,))), None)

    def renew_manifest(self, valid_until: dict[str, str]) -> int:
        """Apply a fresh manifest: each card's new `valid_until`; a card no longer listed is withdrawn
        (valid until yesterday: not released, due for unloading). Returns how many were withdrawn."""
        with self._tx() as db:
            withdrawn = 0
            for (card_id,) in db.execute("SELECT card_id FROM inventory").fetchall():
                if card_id in valid_until:
                    db.execute("UPDATE inventory SET valid_until=? WHERE card_id=?", (valid_until[card_id], card_id))
                else:
                    db.execute("UPDATE inventory SET valid_until='0000-00-00' WHERE card_id=?", (card_id,))
                    self._append(db, "card_withdrawn", {"card": card_id})
                    withdrawn += 1
            return withdrawn

    def nik_for_old_chip(self, uid: str) -> str | None:
        """The NIK of the holder of an old card, if their new card is in this vault (works offline)."""
        with self._lock:
            row = self._db.execute("SELECT nik FROM inventory WHERE old_chip_uid=?", (uid.upper(),)).fetchone()
        return str(row[0]) if row else None

    def card_in_slot(self, slot: int) -> InventoryCard | None:
        return next(iter(self._cards("WHERE slot=?", (slot,))), None)

    # -- releases (write intent, act, write outcome) -----------------------------------------

    def begin_release(self, slot: int, card_id: str) -> str:
        """Commit the intent to release before the actuator moves. Refuses a second open intent."""
        with self._tx() as db:
            card = db.execute("SELECT card_id FROM inventory WHERE slot=?", (slot,)).fetchone()
            if card is None or card[0] != card_id:
                raise LookupError(f"slot {slot} does not hold card {card_id}")
            if db.execute("SELECT 1 FROM releases WHERE slot=? AND outcome IS NULL", (slot,)).fetchone():
                raise RuntimeError(f"slot {slot} already has a release in progress")
            release_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO releases(id, slot, card_id, started) VALUES (?,?,?,?)",
                (release_id, slot, card_id, float(self._clock())),
            )
            self._append(db, "release_intent", {"release": release_id, "slot": slot, "card": card_id})
            return release_id

    def finish_release(self, release_id: str, outcome: str, *, audit: bool = False) -> None:
        """Record how a release ended. A taken card leaves the inventory; a jam takes the slot out."""
        with self._tx() as db:
            row = db.execute("SELECT slot, card_id, outcome FROM releases WHERE id=?", (release_id,)).fetchone()
            if row is None or row[2] is not None:
                raise LookupError(f"no open release {release_id}")
            slot, card_id, _ = row
            db.execute(
                "UPDATE releases SET outcome=?, finished=? WHERE id=?", (outcome, float(self._clock()), release_id)
            )
            if outcome == "taken":  # the card left: so do its record and its face template
                db.execute("DELETE FROM inventory WHERE slot=?", (slot,))
                db.execute("DELETE FROM templates WHERE card_id=?", (card_id,))
            elif outcome in OUT_OF_SERVICE_OUTCOMES:
                db.execute("UPDATE inventory SET out_of_service=1 WHERE slot=?", (slot,))
            data = {"release": release_id, "slot": slot, "card": card_id, "outcome": outcome, "audit": audit}
            self._append(db, "release_outcome", data)
            self._enqueue(db, "release_outcome", data, card_id)

    def open_releases(self) -> list[ReleaseIntent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, slot, card_id, started, outcome FROM releases WHERE outcome IS NULL ORDER BY started"
            ).fetchall()
        return [ReleaseIntent(*r) for r in rows]

    # -- alarms (tamper, faulty slots): survive restarts until staff clears them -------------

    def raise_alarm(self, name: str, data: Mapping[str, Any]) -> bool:
        """Raise an alarm (journaled and reported once); False if it was already raised."""
        with self._tx() as db:
            text = json.dumps(dict(data), sort_keys=True)
            cur = db.execute(
                "INSERT OR IGNORE INTO alarms(name, raised, data) VALUES (?,?,?)", (name, float(self._clock()), text)
            )
            if cur.rowcount != 1:
                return False
            payload = {"alarm": name, **data}
            self._append(db, "alarm_raised", payload)
            self._enqueue(db, "alarm_raised", payload, None)
            return True

    def clear_alarm(self, name: str, operator: str) -> bool:
        """Clear an alarm (journaled and reported); a slot alarm also returns its card to service."""
        with self._tx() as db:
            if db.execute("DELETE FROM alarms WHERE name=?", (name,)).rowcount != 1:
                return False
            if name.startswith("slot:"):
                db.execute("UPDATE inventory SET out_of_service=0 WHERE slot=?", (int(name.split(":")[1]),))
            payload = {"alarm": name, "operator": operator}
            self._append(db, "alarm_cleared", payload)
            self._enqueue(db, "alarm_cleared", payload, None)
            return True

    def alarms(self) -> dict[str, dict[str, Any]]:
        """Active alarms by name."""
        with self._lock:
            rows = self._db.execute("SELECT name, data FROM alarms ORDER BY raised").fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}

    # -- face templates (sealed by the caller; erased with the card) --------------------------

    def put_template(self, card_id: str, sealed: bytes) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO templates(card_id, sealed, created) VALUES (?,?,?)",
                (card_id, sealed, float(self._clock())),
            )

    def template(self, card_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT sealed FROM templates WHERE card_id=?", (card_id,)).fetchone()
        return bytes(row[0]) if row else None

    def template_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM templates").fetchone()[0])

    # -- leased recording places, for bookings while the gateway is unreachable ---------------

    def replace_leases(self, rows: list[dict[str, Any]]) -> bool:
        """Take the gateway's view of this kiosk's leases; refused (False) while offline bookings are
        still on their way, since the gateway's counts do not include them yet."""
        with self._tx() as db:
            waiting = db.execute(
                "SELECT 1 FROM outbox WHERE kind='booking_offline' AND delivered IS NULL LIMIT 1"
            ).fetchone()
            if waiting:
                return False
            db.execute("DELETE FROM leases")
            db.executemany(
                "INSERT INTO leases VALUES (?,?,?,?,?,?)",
                [(r["office_id"], r["office_name"], r["district"], r["day"], r["time"], r["remaining"]) for r in rows],
            )
            return True

    def lease_offices(self) -> list[tuple[str, str, str]]:
        """(office_id, name, district) of offices with a leased place left."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT office_id, office_name, district FROM leases WHERE remaining > 0 ORDER BY office_id"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def lease_slots(self, office_id: str, first_day: str) -> list[tuple[str, str, int]]:
        """(day, time, remaining) of an office's leased places from `first_day` on."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, time, remaining FROM leases WHERE office_id=? AND day>=? AND remaining > 0 "
                "ORDER BY day, time",
                (office_id, first_day),
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def book_on_lease(self, payload: Mapping[str, Any]) -> bool:
        """Take one leased place and queue the booking for the gateway, in one transaction; False if the
        lease for that office, day and time is used up."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE leases SET remaining = remaining - 1 WHERE office_id=? AND day=? AND time=? AND remaining > 0",
                (payload["office_id"], payload["day"], payload["time"]),
            )
            if cur.rowcount != 1:
                return False
            self._append(db, "booked_offline", {"booking": payload["booking_id"], "office": payload["office_id"]})
            self._enqueue(db, "booking_offline", dict(payload), str(payload["booking_id"]))
            return True

    # -- the last card status this kiosk saw per resident (keyed by an HMAC of the NIK) ------

    def remember_status(self, nik_key: str, status: str, office_name: str | None, known_at: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO known_status VALUES (?,?,?,?)", (nik_key, status, office_name, known_at))

    def known_status(self, nik_key: str) -> tuple[str, str | None, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT status, office_name, known_at FROM known_status WHERE nik_key=?", (nik_key,)
            ).fetchone()
        return (row[0], row[1], row[2]) if row else None

"""The gateway simulator's SQLite database: the schema, one connection, one lock, one transaction helper,
and the office's data imports (seeded residents and slots, status changes, old-card chips).

The only module of the simulator that imports sqlite3; every other part works through a `GatewayStore`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.sim.seed import OFFICES, ResidentRow, SlotRow

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

Params = Sequence[Any]


class GatewayStore:
    """One SQLite file (WAL) behind one re-entrant lock; every part of the simulator shares it."""

    def __init__(self, path: str | Path) -> None:
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # a small page cache, as the kiosk's store has (kiosk.store.base.CACHE_KIB): the simulator shares the
        # kiosk's process in the demo and the benchmarks, where SQLite's 2 MiB default reads as growth
        self.db.execute("PRAGMA cache_size=-256")
        self.db.executescript(SCHEMA)

    def row(self, sql: str, params: Params = ()) -> Any:
        """The first row of a query, or None."""
        with self.lock:
            return self.db.execute(sql, params).fetchone()

    def rows(self, sql: str, params: Params = ()) -> list[Any]:
        """Every row of a query."""
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def write(self, sql: str, params: Params = ()) -> int:
        """One statement on its own (autocommit); returns the rows it changed."""
        with self.lock:
            return self.db.execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE under the lock; COMMIT when the block ends, ROLLBACK if it raises."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- the office's data imports ----------------------------------------------------------------

    @property
    def empty(self) -> bool:
        """True until residents were seeded."""
        return self.row("SELECT 1 FROM residents LIMIT 1") is None

    def seed(self, residents: list[ResidentRow], slots: list[SlotRow], kiosk: tuple[str, str, str]) -> None:
        """Load residents, the offices, their slots and the first kiosk (id, office, API key) in one go."""
        with self.transaction() as db:
            db.executemany("INSERT INTO residents VALUES (?,?,?,?,?,?,?,?,?,?)", residents)
            db.executemany("INSERT INTO offices VALUES (?,?,?)", OFFICES)
            db.executemany("INSERT INTO slots VALUES (?,?,?,?,0)", slots)
            db.execute("INSERT INTO kiosks VALUES (?,?,?)", kiosk)

    def set_status(self, nik: str, status: str) -> None:
        """Change where a resident's card stands, as an import from SIAK would (e.g. the ministry sends
        a finished card back to 'verification': it drops out of the kiosk's manifest)."""
        self.write("UPDATE residents SET status=? WHERE nik=?", (status, nik))

    def bind_old_chip(self, nik: str, uid: str) -> None:
        """Make `uid` the chip of this resident's old KTP (the demo binds a real card this way)."""
        with self.lock:
            self.db.execute("UPDATE residents SET old_chip_uid=NULL WHERE old_chip_uid=?", (uid.upper(),))
            self.db.execute("UPDATE residents SET old_chip_uid=? WHERE nik=?", (uid.upper(), nik))

    def known_chip(self, uid: str) -> bool:
        """Whether some resident's old KTP has this chip."""
        return self.row("SELECT 1 FROM residents WHERE old_chip_uid=?", (uid.upper(),)) is not None

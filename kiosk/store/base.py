"""The store's one SQLite connection: its lock, pragmas, table creation and the one transaction helper.

One connection guarded by a lock, shared by the UI thread and workers. Every write that must survive a
power cut is committed (synchronous=FULL) before the hardware acts. Each concern (journal, outbox,
inventory, tickets, operators, cache) is a mixin over this class that owns its own tables and SQL.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# SQLite's page cache for the store's connection, in KiB. Its default (2 MiB) fills as the journal grows
# and stays held: on a 1 GB Pi the kiosk's few hot pages (the journal's tail, the outbox, the inventory)
# need far less, and the OS's file cache serves the rest.
CACHE_KIB = 256


class Tx:
    """One open write transaction on the store's connection: SQL runs inside it, and it commits as one."""

    def __init__(self, db: sqlite3.Connection, clock: Any) -> None:
        self._db = db
        self._clock = clock

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement inside the transaction."""
        return self._db.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        """Run one statement for each row of arguments inside the transaction."""
        return self._db.executemany(sql, rows)

    def now(self) -> float:
        """The store's clock, read afresh (each row is stamped when it is written)."""
        return float(self._clock())


class Database:
    """The connection every concern shares. Thread-safe; one instance per process."""

    def __init__(self, path: str | Path, clock: Any = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # negative: KiB, not pages
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows (NIKs, templates) are zeroed, not just unlinked
        self._create()

    def _create(self) -> None:
        """Create the tables; each concern extends this (calling super() first) with its own."""

    def _script(self, sql: str) -> None:
        """Run a schema script (outside any transaction: executescript commits first)."""
        with self._lock:
            self._db.executescript(sql)

    def _columns(self, table: str) -> set[str]:
        """The column names of a table (for adding columns a store from an older release lacks)."""
        return {row[1] for row in self._rows(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        """Close the connection (waits for a transaction in progress)."""
        with self._lock:
            self._db.close()

    def ping(self) -> None:
        """A trivial read through the same lock every writer takes (the watchdog's liveness check)."""
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def erase_old_copies(self) -> None:
        """Make a deletion or a masking final on disk. secure_delete zeroes what a row held in the page it
        leaves, but the WAL still holds earlier copies of that page; checkpointing the WAL into the
        database file and truncating it removes them. Called after a card leaves and after NIKs are masked.
        A reader on another connection (`kiosk audit`) is waited for up to the busy timeout; if it is still
        reading, the WAL stays as it is until the next call."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def journal_mode(self) -> str:
        """SQLite's journal mode of the open database ("wal" once the store is open)."""
        return str(self._row("PRAGMA journal_mode")[0])

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One write transaction (BEGIN IMMEDIATE): committed when the block ends, rolled back if it raises.

        Every write of the store goes through here, so writes that belong together (a release outcome,
        its journal row and its outbox event) commit together or not at all. While a block is open, every
        other thread's store call waits: holding one open is how a test simulates a stuck writer.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._db, self._clock)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Every row of a read, taken under the lock."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _row(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first row of a read (None if there is none), taken under the lock."""
        with self._lock:
            return self._db.execute(sql, args).fetchone()

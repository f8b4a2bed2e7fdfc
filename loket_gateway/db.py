"""The gateway's database: one engine per process for SQLite or PostgreSQL (psycopg 3), transactions
that the database makes safe under concurrency, and Alembic migrations shipped in this package.

Writes run through `Database.write(fn)`: one transaction, retried (a bounded number of times, within a
deadline) when the database says it lost a race it can resolve by trying again: a PostgreSQL deadlock,
serialization failure or lock timeout, or a locked SQLite file. On SQLite every write transaction is
BEGIN IMMEDIATE (the one writer's lock taken up front, so two writers never deadlock upgrading); on
PostgreSQL rows are locked by the statements themselves (conditional UPDATE, SELECT ... FOR UPDATE,
INSERT ... ON CONFLICT). No Python lock guards any of it: several gateway processes share one database.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT_S = 5.0  # connecting, waiting for a lock, one statement
WRITE_TRIES = 6
RETRYABLE_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock detected, lock not available


class DatabaseUnavailable(Exception):
    """The database could not be reached, or a transaction kept losing its race: answer 503."""


def normalise_url(url: str) -> URL:
    """A SQLAlchemy URL: `postgresql://` uses psycopg 3; a bare path is a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")
    return parsed


def _sqlite_engine(url: URL, timeout_s: float) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": timeout_s, "check_same_thread": False}, hide_parameters=True, pool_size=8
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves (pysqlite's own is deferred, late)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("loket_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, timeout_s: float, pool_size: int) -> Engine:
    ms = int(timeout_s * 1000)
    options = f"-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms * 6}"
    return create_engine(
        url,
        connect_args={"connect_timeout": max(1, int(timeout_s)), "options": options},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout_s,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # a NIK in a failed statement's parameters must never reach a log
    )


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in RETRYABLE_PG:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


class Database:
    """One engine over the gateway's database, for this process (make one per worker, after fork)."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S, pool_size: int = 5) -> None:
        self.url = normalise_url(url)
        self.timeout_s = timeout_s
        if self.url.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(self.url, timeout_s)
        else:
            self.engine = _postgres_engine(self.url, timeout_s, pool_size)

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.url.get_backend_name()

    def insert(self, table: Table) -> Any:
        """An INSERT of this dialect, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
        return (postgresql.insert if self.backend == "postgresql" else sqlite.insert)(table)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent view of several queries)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database unavailable: {type(exc.orig).__name__}") from None

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in one write transaction; retried when the database asks for it, then 503."""
        deadline = time.monotonic() + self.timeout_s * 3
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                with self.engine.connect().execution_options(loket_write=True) as conn, conn.begin():
                    return fn(conn)
            except DBAPIError as exc:
                if not (_retryable(exc) or exc.connection_invalidated) or attempt == WRITE_TRIES:
                    if isinstance(exc, OperationalError):
                        raise DatabaseUnavailable(f"database unavailable: {type(exc.orig).__name__}") from None
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable("database busy: transaction kept losing its race") from None
                log.info("write transaction retried (%s, try %d)", type(exc.orig).__name__, attempt)
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """SELECT 1, or DatabaseUnavailable."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(db: Database) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("loket_gateway").joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the database's schema to `revision` (Alembic, programmatically; idempotent)."""
    from alembic import command

    cfg = _alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def schema_state(db: Database) -> tuple[str | None, str]:
    """(the database's revision, the package's head revision): equal when migrated."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(db)).get_current_head()
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, str(head)

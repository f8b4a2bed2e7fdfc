"""The outbox: events for the gateway, each with a client-made ID, delivered in order and at least once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.store.base import Database, Tx

SCHEMA = """
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
"""


@dataclass(frozen=True)
class OutboxItem:
    """An event waiting for delivery to the gateway."""

    event_id: str
    seq: int
    kind: str
    ordering_key: str | None
    payload: dict[str, Any]
    attempts: int


def enqueue_row(tx: Tx, kind: str, payload: dict[str, Any], key: str | None) -> str:
    """Queue an event inside an open transaction; returns its client-made ID."""
    event_id = uuid.uuid4().hex
    row = tx.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
    tx.execute(
        "INSERT INTO outbox(id, seq, created, kind, ordering_key, payload) VALUES (?,?,?,?,?,?)",
        (event_id, row[0] + 1, tx.now(), kind, key, json.dumps(payload, sort_keys=True)),
    )
    return event_id


def waiting(tx: Tx, kind: str) -> bool:
    """Whether an event of this kind is still undelivered (read inside an open transaction)."""
    row = tx.execute("SELECT 1 FROM outbox WHERE kind=? AND delivered IS NULL LIMIT 1", (kind,)).fetchone()
    return row is not None


class Outbox(Database):
    """The outbox's share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)

    def enqueue(self, kind: str, payload: Mapping[str, Any], ordering_key: str | None = None) -> str:
        """Queue an event for the gateway; returns its client-made ID (the idempotency key)."""
        with self.transaction() as tx:
            return enqueue_row(tx, kind, dict(payload), ordering_key)

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Undelivered events, oldest first."""
        rows = self._rows(
            "SELECT id, seq, kind, ordering_key, payload, attempts FROM outbox "
            "WHERE delivered IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [OutboxItem(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def outbox_ids(self) -> set[str]:
        """The IDs of every event ever queued (delivered or not)."""
        return {r[0] for r in self._rows("SELECT id FROM outbox")}

    def pending_count(self) -> int:
        """How many events wait for delivery."""
        return int(self._row("SELECT COUNT(*) FROM outbox WHERE delivered IS NULL")[0])

    def mark_delivered(self, event_ids: list[str]) -> None:
        """Record that the gateway took these events."""
        with self.transaction() as tx:
            now = tx.now()
            tx.executemany("UPDATE outbox SET delivered=? WHERE id=?", [(now, i) for i in event_ids])

    def mark_attempt(self, event_ids: list[str]) -> None:
        """Count one more delivery attempt of these events."""
        with self.transaction() as tx:
            tx.executemany("UPDATE outbox SET attempts=attempts+1 WHERE id=?", [(i,) for i in event_ids])

"""The outbox: events for the gateway, each with a client-made ID, delivered in order and at least once.

An event may carry a resident's NIK in full (an offline booking: the gateway needs it to book). Once the
gateway has the event, the kiosk does not: delivery masks every personal field to its last four digits in
the same transaction, and delivered events are pruned after a while (kiosk.store.retention).
"""

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
PERSONAL_FIELDS = ("nik",)  # payload fields the gateway needs in full and the kiosk keeps only masked
_WHOLE = " OR ".join(
    f"(json_type(payload, '$.{f}') = 'text' AND substr(json_extract(payload, '$.{f}'), 1, 1) NOT IN ('*', ''))"
    for f in PERSONAL_FIELDS
)
DELIVERED_WHOLE = f"delivered IS NOT NULL AND ({_WHOLE})"  # delivered events with a personal field not masked


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


def masked(value: str) -> str:
    """A NIK as the journal keeps it: every character but the last four starred (kiosk.identity.nik's
    mask_nik, which the store cannot import: identity's templates import the store)."""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_delivered(tx: Tx, event_ids: list[str] | None = None) -> int:
    """Mask the personal fields of delivered events that still hold them in full (of `event_ids`, or of
    every delivered event); returns how many events were rewritten."""
    rows: list[Any] = []
    if event_ids is None:
        rows = tx.execute(f"SELECT id, payload FROM outbox WHERE {DELIVERED_WHOLE}").fetchall()
    else:
        for event_id in event_ids:
            sql = f"SELECT id, payload FROM outbox WHERE id=? AND {DELIVERED_WHOLE}"
            rows += tx.execute(sql, (event_id,)).fetchall()
    for event_id, text in rows:
        payload = json.loads(text)
        for name in PERSONAL_FIELDS:
            if isinstance(payload.get(name), str):
                payload[name] = masked(payload[name])
        tx.execute("UPDATE outbox SET payload=? WHERE id=?", (json.dumps(payload, sort_keys=True), event_id))
    return len(rows)


def prune_delivered(tx: Tx, before: float) -> int:
    """Delete events delivered before `before` (epoch seconds), except the newest event: its seq is where
    the next one counts on from, so the gateway never sees a seq twice. Returns how many were deleted."""
    cur = tx.execute(
        "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ? AND seq < (SELECT MAX(seq) FROM outbox)",
        (before,),
    )
    return int(cur.rowcount)


class Outbox(Database):
    """The outbox's share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)
        if self._row(f"SELECT 1 FROM outbox WHERE {DELIVERED_WHOLE} LIMIT 1"):  # a store from before issue 13
            with self.transaction() as tx:  # (read first: `kiosk audit` may open a read-only copy)
                mask_delivered(tx)
            self.erase_old_copies()

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
        """The IDs of every event kept: undelivered, or delivered and not yet pruned."""
        return {r[0] for r in self._rows("SELECT id FROM outbox")}

    def pending_count(self) -> int:
        """How many events wait for delivery."""
        return int(self._row("SELECT COUNT(*) FROM outbox WHERE delivered IS NULL")[0])

    def mark_delivered(self, event_ids: list[str]) -> None:
        """Record that the gateway took these events; their NIKs are masked in the same transaction."""
        with self.transaction() as tx:
            now = tx.now()
            rows = [(now, i) for i in event_ids]
            tx.executemany("UPDATE outbox SET delivered=? WHERE id=? AND delivered IS NULL", rows)
            masked_any = mask_delivered(tx, event_ids) > 0
        if masked_any:
            self.erase_old_copies()

    def mark_attempt(self, event_ids: list[str]) -> None:
        """Count one more delivery attempt of these events."""
        with self.transaction() as tx:
            tx.executemany("UPDATE outbox SET attempts=attempts+1 WHERE id=?", [(i,) for i in event_ids])

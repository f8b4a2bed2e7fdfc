"""The audit journal: append-only, each row hash-chained to the one before it.

The chain's head is sent with every heartbeat and anchored at the gateway, so an edited, deleted or
inserted row, or a truncation, is found by `kiosk audit verify`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.store.base import Database, Tx
from kiosk.store.outbox import enqueue_row

GENESIS = "0" * 64
VISIT_STARTS = ("ticket_accepted", "ticket_refused", "operator_card")  # the journal kinds a visit begins with

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
"""


@dataclass(frozen=True)
class AuditProblem:
    """A journal row that does not fit the hash chain."""

    seq: int
    problem: str


def row_hash(prev: str, seq: int, ts: float, kind: str, data: str) -> str:
    """The hash of one journal row: its link to the previous row, its number, time, kind and data."""
    material = json.dumps([prev, seq, repr(ts), kind, data], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def append_row(tx: Tx, kind: str, data: Mapping[str, Any]) -> int:
    """Append a row inside an open transaction (so it commits with the write it records)."""
    row = tx.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
    ts = tx.now()
    text = json.dumps(dict(data), sort_keys=True, separators=(",", ":"))
    tx.execute(
        "INSERT INTO journal(seq, ts, kind, data, prev_hash, hash) VALUES (?,?,?,?,?,?)",
        (seq, ts, kind, text, prev, row_hash(prev, seq, ts, kind, text)),
    )
    return int(seq)


class Journal(Database):
    """The journal's share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)

    def journal(
        self, kind: str, data: Mapping[str, Any] | None = None, *, outbox: bool = False, ordering_key: str | None = None
    ) -> int:
        """Append an event to the journal (and, if asked, to the outbox in the same transaction)."""
        with self.transaction() as tx:
            seq = append_row(tx, kind, data or {})
            if outbox:
                enqueue_row(tx, kind, dict(data or {}), ordering_key)
            return seq

    def journal_rows(self) -> list[tuple[int, float, str, dict[str, Any]]]:
        """Every row as (seq, ts, kind, data), oldest first."""
        rows = self._rows("SELECT seq, ts, kind, data FROM journal ORDER BY seq")
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def journal_head(self) -> tuple[int, str]:
        """Sequence number and hash of the newest row (sent in heartbeats to anchor the chain)."""
        row = self._row("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
        return (row[0], row[1]) if row else (0, GENESIS)

    def journal_row_hash(self, seq: int) -> str | None:
        """The stored hash of row `seq` (None when there is no such row)."""
        row = self._row("SELECT hash FROM journal WHERE seq = ?", (seq,))
        return str(row[0]) if row else None

    def journal_visit(self, ref: str) -> list[tuple[int, float, str, dict[str, Any]]]:
        """The rows of the visit a refusal's reference code names (its start to the refusal), oldest first;
        [] when no row carries that code. Several refusals with one code: the newest."""
        row = self._row(
            "SELECT seq FROM journal WHERE json_extract(data, '$.ref') = ? ORDER BY seq DESC LIMIT 1", (ref.upper(),)
        )
        if row is None:
            return []
        marks = ",".join("?" * len(VISIT_STARTS))
        start = self._row(f"SELECT MAX(seq) FROM journal WHERE seq <= ? AND kind IN ({marks})", (row[0], *VISIT_STARTS))
        first = start[0] if start and start[0] is not None else row[0]
        rows = self._rows(
            "SELECT seq, ts, kind, data FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq", (first, row[0])
        )
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def verify_journal(self) -> list[AuditProblem]:
        """Recompute the hash chain; every edited, deleted or inserted row shows up as a problem."""
        problems: list[AuditProblem] = []
        prev, expected_seq = GENESIS, 1
        for seq, ts, kind, data, prev_hash, digest in self._rows(
            "SELECT seq, ts, kind, data, prev_hash, hash FROM journal ORDER BY seq"
        ):
            if seq != expected_seq:
                problems.append(AuditProblem(seq, f"gap: expected row {expected_seq}"))
            if prev_hash != prev:
                problems.append(AuditProblem(seq, "link to previous row broken"))
            if row_hash(prev_hash, seq, ts, kind, data) != digest:
                problems.append(AuditProblem(seq, "row content does not match its hash"))
            prev, expected_seq = digest, seq + 1
        return problems

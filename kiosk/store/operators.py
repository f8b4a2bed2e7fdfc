"""Operator PIN attempts per staff card: failures and lockouts survive a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.store.base import Database
from kiosk.store.journal import append_row
from kiosk.store.outbox import enqueue_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_attempts (
    card_uid TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until REAL NOT NULL
);
"""


class Operators(Database):
    """The operator attempts' share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)

    def operator_attempts(self, card_uid: str) -> tuple[int, int, float]:
        """(failures, lockouts, locked_until) of a staff card."""
        row = self._row("SELECT failures, lockouts, locked_until FROM operator_attempts WHERE card_uid=?", (card_uid,))
        return (row[0], row[1], row[2]) if row else (0, 0, 0.0)

    def record_operator_attempt(
        self, card_uid: str, failures: int, lockouts: int, locked_until: float, kind: str, data: Mapping[str, Any]
    ) -> None:
        """Remember a PIN attempt's consequences and journal it, in one transaction."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO operator_attempts VALUES (?,?,?,?)",
                (card_uid, failures, lockouts, locked_until),
            )
            append_row(tx, kind, data)
            enqueue_row(tx, kind, dict(data), None)

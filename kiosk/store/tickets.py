"""Used queue tickets: a ticket is accepted once, even across restarts and while offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.store.base import Database
from kiosk.store.journal import append_row
from kiosk.store.outbox import enqueue_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS used_tickets (
    ticket_id TEXT PRIMARY KEY,
    used REAL NOT NULL
);
"""


class Tickets(Database):
    """The used tickets' share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)

    def consume_ticket(self, ticket_id: str, accepted: Mapping[str, Any], kiosk_id: str) -> bool:
        """Spend a ticket here in one transaction with its evidence: the used-ticket row, the journal's
        `ticket_accepted` (also for the gateway) and the `ticket_consumed` event that tells the gateway (a
        power cut between them used to leave tickets spent here with no event: a reuse elsewhere went
        unseen). False, and nothing written, if the ticket was already used here."""
        with self.transaction() as tx:
            cur = tx.execute("INSERT OR IGNORE INTO used_tickets(ticket_id, used) VALUES (?,?)", (ticket_id, tx.now()))
            if cur.rowcount != 1:
                return False
            append_row(tx, "ticket_accepted", accepted)
            enqueue_row(tx, "ticket_accepted", dict(accepted), None)
            enqueue_row(tx, "ticket_consumed", {"ticket_id": ticket_id, "kiosk": kiosk_id}, ticket_id)
            return True

    def ticket_used(self, ticket_id: str) -> bool:
        """Whether a ticket was already used here."""
        return self._row("SELECT 1 FROM used_tickets WHERE ticket_id=?", (ticket_id,)) is not None

"""Used queue tickets: a ticket is accepted once, even across restarts and while offline."""

from __future__ import annotations

from kiosk.store.base import Database

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

    def use_ticket(self, ticket_id: str) -> bool:
        """Mark a ticket used; False if it already was."""
        with self.transaction() as tx:
            cur = tx.execute("INSERT OR IGNORE INTO used_tickets(ticket_id, used) VALUES (?,?)", (ticket_id, tx.now()))
            return cur.rowcount == 1

    def ticket_used(self, ticket_id: str) -> bool:
        """Whether a ticket was already used here."""
        return self._row("SELECT 1 FROM used_tickets WHERE ticket_id=?", (ticket_id,)) is not None

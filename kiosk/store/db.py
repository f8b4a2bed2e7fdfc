"""The kiosk's store: every concern's mixin composed over one SQLite connection.

`Store` is what the rest of the kiosk opens; each concern lives in its own module, owning its tables
and SQL: `journal` (hash-chained audit trail), `outbox` (events for the gateway), `inventory` (vault
cards, face templates, releases, alarms), `tickets` (used queue tickets), `operators` (PIN attempts)
and `cache` (leased recording places, known statuses); `retention` says how long personal data is kept
and prunes what is past it. `base` holds the connection and the one transaction helper,
`Store.transaction()`.
"""

from __future__ import annotations

from kiosk.store.base import Database, Tx
from kiosk.store.cache import Cache
from kiosk.store.inventory import OUT_OF_SERVICE_OUTCOMES, InventoryCard, LoadIntent, ReleaseIntent, Releases
from kiosk.store.journal import GENESIS, AuditProblem, Journal
from kiosk.store.operators import Operators
from kiosk.store.outbox import Outbox, OutboxItem
from kiosk.store.retention import Pruned, Retention
from kiosk.store.tickets import Tickets

__all__ = [
    "GENESIS",
    "OUT_OF_SERVICE_OUTCOMES",
    "AuditProblem",
    "Database",
    "InventoryCard",
    "LoadIntent",
    "OutboxItem",
    "Pruned",
    "ReleaseIntent",
    "Store",
    "Tx",
]


class Store(Journal, Outbox, Releases, Tickets, Operators, Cache, Retention):
    """The kiosk's database. Thread-safe; one instance per process."""

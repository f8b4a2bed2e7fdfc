"""The only writer of disk state: one SQLite database in WAL mode, split by concern."""

from kiosk.store.db import AuditProblem, InventoryCard, OutboxItem, ReleaseIntent, Store, Tx

__all__ = ["AuditProblem", "InventoryCard", "OutboxItem", "ReleaseIntent", "Store", "Tx"]

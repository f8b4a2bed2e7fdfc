"""The only writer of disk state: one SQLite database in WAL mode."""

from kiosk.store.db import AuditProblem, InventoryCard, OutboxItem, ReleaseIntent, Store

__all__ = ["AuditProblem", "InventoryCard", "OutboxItem", "ReleaseIntent", "Store"]

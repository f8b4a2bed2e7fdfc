"""How long the store keeps what it holds of residents, in one place, and the pass that applies it.

The rules (docs/data-protection.md lists every kind of personal data and where it is kept):

- A card's row (NIK, chip UIDs) and its sealed face template: while the card is in the vault. They are
  deleted, and their old page copies erased, in the transaction that records the card leaving
  (`Releases.finish_release` "taken", `Inventory.unload_card`); nothing here waits for a schedule.
- An outbox event's NIK: in full only until the gateway has the event; `Outbox.mark_delivered` masks it to
  the last four digits. The delivered event itself: DELIVERED_EVENTS_KEPT_S, for diagnostics, then pruned.
- The last card status seen per resident (keyed by an HMAC of the NIK): KNOWN_STATUS_KEPT_DAYS, then
  forgotten; an older one would only mislead an offline answer.
- The journal is evidence and hash-chained: never pruned; it holds masked NIKs only.

`apply_retention` runs in the kiosk's upkeep, after a drain that reached the gateway (delivered events
and seen statuses only arise while the link is up).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kiosk.store.base import Database
from kiosk.store.cache import forget_statuses
from kiosk.store.outbox import mask_delivered, prune_delivered

DELIVERED_EVENTS_KEPT_S = 7 * 86400.0  # a week of delivered events, NIKs masked, to diagnose a sync problem
KNOWN_STATUS_KEPT_DAYS = 30  # a month: a resident asking again offline gets the last answer, marked stale


@dataclass(frozen=True)
class Pruned:
    """What one retention pass removed or masked."""

    events: int = 0  # delivered outbox events deleted
    masked: int = 0  # delivered events whose NIK was still whole (a store from an older release)
    statuses: int = 0  # known statuses forgotten


class Retention(Database):
    """The retention pass over the tables other concerns own (their SQL stays in their modules)."""

    def apply_retention(self, today: dt.date) -> Pruned:
        """Prune delivered events and stale statuses, mask any whole NIK left in a delivered event."""
        with self.transaction() as tx:
            masked = mask_delivered(tx)
            events = prune_delivered(tx, tx.now() - DELIVERED_EVENTS_KEPT_S)
            before = (today - dt.timedelta(days=KNOWN_STATUS_KEPT_DAYS)).isoformat()
            pruned = Pruned(events, masked, forget_statuses(tx, before))
        if pruned != Pruned():
            self.erase_old_copies()
        return pruned

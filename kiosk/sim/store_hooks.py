"""Demo-only writes to the kiosk's store: binding a real card on the demo's reader to a simulated resident.

They are not part of the production store; they go through its public transaction helper, so each
commits as one (and the chip rebinding is journaled in the same transaction).
"""

from __future__ import annotations

from kiosk.store import Store
from kiosk.store.journal import append_row


def rebind_old_chip(store: Store, nik: str, uid: str) -> None:
    """The demo's real-card binding: `uid` is now the old card of the holder of `nik` (and nobody else's)."""
    with store.transaction() as tx:
        tx.execute("UPDATE inventory SET old_chip_uid=NULL WHERE old_chip_uid=?", (uid.upper(),))
        tx.execute("UPDATE inventory SET old_chip_uid=? WHERE nik=?", (uid.upper(), nik))


def rebind_chip(store: Store, card_id: str, uid: str) -> None:
    """Record the chip UID of a card in the vault anew (journaled): the demo's real-card binding."""
    with store.transaction() as tx:
        tx.execute("UPDATE inventory SET chip_uid=? WHERE card_id=?", (uid.upper(), card_id))
        append_row(tx, "card_chip_rebound", {"card": card_id})

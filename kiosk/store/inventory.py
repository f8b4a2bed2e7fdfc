"""The vault: cards in their slots, their sealed face templates, release and load intents and outcomes,
alarms.

A release is written as intent, then act, then outcome: the intent commits before the actuator moves,
and a restart reconciles open intents from sensor state. Operator loading is written the same way: the
load intent (with the card's record) commits before the slot opens, and the card goes on the books with
the outcome, so a power cut between the seat confirming the card and the record leaves an intent that the
restart settles from the seat, not a card in the vault the kiosk knows nothing of. A card that leaves
(taken by its owner, or unloaded by staff) takes its row, with the NIK and chip UIDs, and its face
template with it, also from the file's old page copies (`erase_old_copies`); what stays is the card ID in
the releases and the journal. A load's intent keeps the card's record only until its outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.store.base import Database, Tx
from kiosk.store.journal import append_row
from kiosk.store.outbox import enqueue_row

OUT_OF_SERVICE_OUTCOMES = frozenset({"jammed", "sensor_fault"})  # the slot is taken out of service

SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory (
    slot INTEGER PRIMARY KEY,
    card_id TEXT NOT NULL UNIQUE,
    nik TEXT NOT NULL,
    chip_uid TEXT NOT NULL,
    loaded REAL NOT NULL,
    out_of_service INTEGER NOT NULL DEFAULT 0,
    old_chip_uid TEXT,
    valid_until TEXT
);
CREATE TABLE IF NOT EXISTS templates (
    card_id TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    slot INTEGER NOT NULL,
    card_id TEXT NOT NULL,
    started REAL NOT NULL,
    outcome TEXT,
    finished REAL
);
CREATE TABLE IF NOT EXISTS loads (
    id TEXT PRIMARY KEY,
    slot INTEGER NOT NULL,
    card_id TEXT NOT NULL,
    card TEXT,
    started REAL NOT NULL,
    outcome TEXT,
    finished REAL
);
CREATE TABLE IF NOT EXISTS alarms (
    name TEXT PRIMARY KEY,
    raised REAL NOT NULL,
    data TEXT NOT NULL
);
"""
LATE_COLUMNS = ("old_chip_uid", "valid_until")  # inventory columns a store from before the offline manifest lacks
CARD_COLUMNS = "slot, card_id, nik, chip_uid, out_of_service, loaded, valid_until"


@dataclass(frozen=True)
class InventoryCard:
    """A finished card in a vault slot."""

    slot: int
    card_id: str
    nik: str
    chip_uid: str
    out_of_service: bool = False
    loaded: float = 0.0
    valid_until: str | None = None  # releasable without the gateway until this day (None: not bounded)


@dataclass(frozen=True)
class ReleaseIntent:
    """A release that was started; `outcome` is None until it is known."""

    release_id: str
    slot: int
    card_id: str
    started: float
    outcome: str | None


@dataclass(frozen=True)
class LoadIntent:
    """A load that was started and has no outcome yet (the slot may have opened)."""

    load_id: str
    slot: int
    card_id: str
    started: float


def _card(row: Any) -> InventoryCard:
    return InventoryCard(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


def _record(tx: Tx, kind: str, data: dict[str, Any], key: str | None) -> None:
    """Journal an event and queue it for the gateway, inside the transaction of the write it records."""
    append_row(tx, kind, data)
    enqueue_row(tx, kind, data, key)


def _insert_card(
    tx: Tx, slot: int, card_id: str, nik: str, chip_uid: str, old_chip_uid: str | None, valid_until: str | None
) -> None:
    tx.execute(
        "INSERT INTO inventory(slot, card_id, nik, chip_uid, loaded, old_chip_uid, valid_until) VALUES (?,?,?,?,?,?,?)",
        (slot, card_id, nik, chip_uid.upper(), tx.now(), old_chip_uid and old_chip_uid.upper(), valid_until),
    )


class Inventory(Database):
    """The vault's cards and their face templates."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)
        missing = [c for c in LATE_COLUMNS if c not in self._columns("inventory")]
        for column in missing:
            self._script(f"ALTER TABLE inventory ADD COLUMN {column} TEXT")

    def load_card(
        self,
        slot: int,
        card_id: str,
        nik: str,
        chip_uid: str,
        operator: str | None = None,
        old_chip_uid: str | None = None,
        valid_until: str | None = None,
    ) -> None:
        """Record a card put into a slot (journaled, and reported to the gateway); the vault desk's loading
        writes an intent first (begin_load, finish_load)."""
        with self.transaction() as tx:
            _insert_card(tx, slot, card_id, nik, chip_uid, old_chip_uid, valid_until)
            _record(tx, "card_loaded", {"slot": slot, "card": card_id, "operator": operator}, card_id)

    def unload_card(self, slot: int, reason: str, operator: str) -> InventoryCard:
        """Record a card taken out of its slot by staff (journaled, reported); clears the slot's alarm."""
        with self.transaction() as tx:
            row = tx.execute(f"SELECT {CARD_COLUMNS} FROM inventory WHERE slot=?", (slot,)).fetchone()
            if row is None:
                raise LookupError(f"slot {slot} holds no card")
            tx.execute("DELETE FROM inventory WHERE slot=?", (slot,))
            tx.execute("DELETE FROM templates WHERE card_id=?", (row[1],))
            tx.execute("DELETE FROM alarms WHERE name=?", (f"slot:{slot}",))
            _record(tx, "card_unloaded", {"slot": slot, "card": row[1], "reason": reason, "operator": operator}, row[1])
        self.erase_old_copies()
        return _card(row)

    def _cards(self, where: str = "", args: tuple[Any, ...] = ()) -> list[InventoryCard]:
        return [_card(r) for r in self._rows(f"SELECT {CARD_COLUMNS} FROM inventory {where} ORDER BY slot", args)]

    def inventory(self) -> list[InventoryCard]:
        """Every card in the vault, by slot."""
        return self._cards()

    def card_for_nik(self, nik: str) -> InventoryCard | None:
        """The resident's card in the vault, if it is here."""
        return next(iter(self._cards("WHERE nik=?", (nik,))), None)

    def card_in_slot(self, slot: int) -> InventoryCard | None:
        """The card a slot holds, if any."""
        return next(iter(self._cards("WHERE slot=?", (slot,))), None)

    def nik_for_old_chip(self, uid: str) -> str | None:
        """The NIK of the holder of an old card, if their new card is in this vault (works offline)."""
        row = self._row("SELECT nik FROM inventory WHERE old_chip_uid=?", (uid.upper(),))
        return str(row[0]) if row else None

    def renew_manifest(self, valid_until: dict[str, str]) -> int:
        """Apply a fresh manifest: each card's new `valid_until`; a card no longer listed is withdrawn
        (valid until yesterday: not released, due for unloading). Returns how many were withdrawn."""
        with self.transaction() as tx:
            withdrawn = 0
            for (card_id,) in tx.execute("SELECT card_id FROM inventory").fetchall():
                if card_id in valid_until:
                    tx.execute("UPDATE inventory SET valid_until=? WHERE card_id=?", (valid_until[card_id], card_id))
                else:
                    tx.execute("UPDATE inventory SET valid_until='0000-00-00' WHERE card_id=?", (card_id,))
                    append_row(tx, "card_withdrawn", {"card": card_id})
                    withdrawn += 1
            return withdrawn

    # -- face templates (sealed by the caller; erased with the card) --------------------------

    def put_template(self, card_id: str, sealed: bytes) -> None:
        """Keep a card's sealed face template (replacing an older one)."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO templates(card_id, sealed, created) VALUES (?,?,?)",
                (card_id, sealed, tx.now()),
            )

    def template(self, card_id: str) -> bytes | None:
        """A card's sealed face template, if one is kept."""
        row = self._row("SELECT sealed FROM templates WHERE card_id=?", (card_id,))
        return bytes(row[0]) if row else None

    def template_count(self) -> int:
        """How many sealed templates are kept."""
        return int(self._row("SELECT COUNT(*) FROM templates")[0])


class Releases(Inventory):
    """Releases from the vault and loads into it (write intent, act, write outcome), and the alarms that
    stop them."""

    def begin_release(self, slot: int, card_id: str) -> str:
        """Commit the intent to release before the actuator moves. Refuses a second open intent."""
        with self.transaction() as tx:
            card = tx.execute("SELECT card_id FROM inventory WHERE slot=?", (slot,)).fetchone()
            if card is None or card[0] != card_id:
                raise LookupError(f"slot {slot} does not hold card {card_id}")
            if tx.execute("SELECT 1 FROM releases WHERE slot=? AND outcome IS NULL", (slot,)).fetchone():
                raise RuntimeError(f"slot {slot} already has a release in progress")
            release_id = uuid.uuid4().hex
            tx.execute(
                "INSERT INTO releases(id, slot, card_id, started) VALUES (?,?,?,?)",
                (release_id, slot, card_id, tx.now()),
            )
            append_row(tx, "release_intent", {"release": release_id, "slot": slot, "card": card_id})
            return release_id

    def finish_release(self, release_id: str, outcome: str, *, audit: bool = False) -> None:
        """Record how a release ended. A taken card leaves the inventory; a jam takes the slot out."""
        with self.transaction() as tx:
            row = tx.execute("SELECT slot, card_id, outcome FROM releases WHERE id=?", (release_id,)).fetchone()
            if row is None or row[2] is not None:
                raise LookupError(f"no open release {release_id}")
            slot, card_id, _ = row
            tx.execute("UPDATE releases SET outcome=?, finished=? WHERE id=?", (outcome, tx.now(), release_id))
            if outcome == "taken":  # the card left: so do its record and its face template
                tx.execute("DELETE FROM inventory WHERE slot=?", (slot,))
                tx.execute("DELETE FROM templates WHERE card_id=?", (card_id,))
            elif outcome in OUT_OF_SERVICE_OUTCOMES:
                tx.execute("UPDATE inventory SET out_of_service=1 WHERE slot=?", (slot,))
            data = {"release": release_id, "slot": slot, "card": card_id, "outcome": outcome, "audit": audit}
            _record(tx, "release_outcome", data, card_id)
        if outcome == "taken":
            self.erase_old_copies()

    def open_releases(self) -> list[ReleaseIntent]:
        """Releases started but not finished (to reconcile after a restart), oldest first."""
        rows = self._rows(
            "SELECT id, slot, card_id, started, outcome FROM releases WHERE outcome IS NULL ORDER BY started"
        )
        return [ReleaseIntent(*r) for r in rows]

    # -- loading by staff (write intent, open the slot, write outcome) --------------------------

    def begin_load(
        self,
        slot: int,
        card_id: str,
        nik: str,
        chip_uid: str,
        operator: str | None = None,
        old_chip_uid: str | None = None,
        valid_until: str | None = None,
    ) -> str:
        """Commit the intent to load a card into `slot`, with the card's record, before the slot opens.
        Refuses a slot or a card already on the books, and a second open load."""
        with self.transaction() as tx:
            if tx.execute("SELECT 1 FROM inventory WHERE slot=? OR card_id=?", (slot, card_id)).fetchone():
                raise LookupError(f"slot {slot} or card {card_id} is on the books already")
            if tx.execute("SELECT 1 FROM loads WHERE outcome IS NULL").fetchone():
                raise RuntimeError("a load is in progress")
            load_id = uuid.uuid4().hex
            record = {"nik": nik, "chip_uid": chip_uid, "old_chip_uid": old_chip_uid, "valid_until": valid_until}
            tx.execute(
                "INSERT INTO loads(id, slot, card_id, card, started) VALUES (?,?,?,?,?)",
                (load_id, slot, card_id, json.dumps({**record, "operator": operator}), tx.now()),
            )
            append_row(tx, "load_intent", {"load": load_id, "slot": slot, "card": card_id, "operator": operator})
            return load_id

    def finish_load(self, load_id: str, outcome: str, *, audit: bool = False) -> None:
        """Record how a load ended: "inserted" puts the card on the books (journaled `card_loaded` and
        reported, as `load_card`); any other outcome is journaled `load_outcome`. The intent's copy of the
        card's record (its NIK) is erased either way."""
        with self.transaction() as tx:
            row = tx.execute("SELECT slot, card_id, card, outcome FROM loads WHERE id=?", (load_id,)).fetchone()
            if row is None or row[3] is not None:
                raise LookupError(f"no open load {load_id}")
            slot, card_id, text, _ = row
            record = json.loads(text)
            tx.execute("UPDATE loads SET outcome=?, finished=?, card=NULL WHERE id=?", (outcome, tx.now(), load_id))
            data = {"load": load_id, "slot": slot, "card": card_id, "audit": audit}
            if outcome == "inserted":
                _insert_card(
                    tx, slot, card_id, record["nik"], record["chip_uid"], record["old_chip_uid"], record["valid_until"]
                )
                _record(tx, "card_loaded", {**data, "operator": record["operator"]}, card_id)
            else:
                append_row(tx, "load_outcome", {**data, "outcome": outcome})
        self.erase_old_copies()

    def open_loads(self) -> list[LoadIntent]:
        """Loads started but not finished (to reconcile after a restart), oldest first."""
        rows = self._rows("SELECT id, slot, card_id, started FROM loads WHERE outcome IS NULL ORDER BY started")
        return [LoadIntent(*r) for r in rows]

    # -- alarms (tamper, faulty slots): survive restarts until staff clears them -------------

    def raise_alarm(self, name: str, data: Mapping[str, Any]) -> bool:
        """Raise an alarm (journaled and reported once); False if it was already raised."""
        with self.transaction() as tx:
            text = json.dumps(dict(data), sort_keys=True)
            cur = tx.execute("INSERT OR IGNORE INTO alarms(name, raised, data) VALUES (?,?,?)", (name, tx.now(), text))
            if cur.rowcount != 1:
                return False
            _record(tx, "alarm_raised", {"alarm": name, **data}, None)
            return True

    def clear_alarm(self, name: str, operator: str) -> bool:
        """Clear an alarm (journaled and reported); a slot alarm also returns its card to service."""
        with self.transaction() as tx:
            if tx.execute("DELETE FROM alarms WHERE name=?", (name,)).rowcount != 1:
                return False
            if name.startswith("slot:"):
                tx.execute("UPDATE inventory SET out_of_service=0 WHERE slot=?", (int(name.split(":")[1]),))
            _record(tx, "alarm_cleared", {"alarm": name, "operator": operator}, None)
            return True

    def alarms(self) -> dict[str, dict[str, Any]]:
        """Active alarms by name."""
        return {r[0]: json.loads(r[1]) for r in self._rows("SELECT name, data FROM alarms ORDER BY raised")}

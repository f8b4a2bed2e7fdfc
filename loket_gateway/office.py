"""The office's data as it comes in without SIAK (which has no API): offices, residents with where their
card stands, recording slots and photos. Every load is an upsert, so loading the same rows twice leaves one
copy. (The CSV import with its per-row report, issue 16's next phase, will sit on these.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, update

from loket_gateway.db import Database
from loket_gateway.schema import card_photos, offices, residents, slots


@dataclass(frozen=True)
class ResidentRecord:
    """One resident as the office knows them."""

    nik: str
    name: str
    district: str
    status: str
    since: dt.date
    old_chip_uid: str | None = None
    card_id: str | None = None
    new_chip_uid: str | None = None
    office_id: str | None = None
    kiosk_id: str | None = None  # the vault the card is in; None: any kiosk of its office


class OfficeData:
    """Loads and changes the office's data."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _upsert(self, conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
        if not rows:
            return
        statement = self.db.insert(table)
        changing = {c: statement.excluded[c] for c in rows[0] if c not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changing), rows)

    def load_offices(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(office_id, name, district) of every recording office."""
        found = [{"office_id": o, "name": n, "district": d} for o, n, d in rows]
        self.db.write(lambda conn: self._upsert(conn, offices, found, ["office_id"]))

    def load_residents(self, records: Iterable[ResidentRecord]) -> None:
        """Residents and where their cards stand (a chip UID upper-cased, as readers report it)."""
        found = [
            dict(
                r.__dict__,
                old_chip_uid=r.old_chip_uid.upper() if r.old_chip_uid else None,
                new_chip_uid=r.new_chip_uid.upper() if r.new_chip_uid else None,
            )
            for r in records
        ]
        self.db.write(lambda conn: self._upsert(conn, residents, found, ["nik"]))

    def load_slots(self, rows: Iterable[tuple[str, dt.date, str, int]]) -> None:
        """(office_id, day, time, capacity) of recording slots; a known slot keeps what is booked."""
        found = [{"office_id": o, "day": d, "time": t, "capacity": c} for o, d, t, c in rows]
        self.db.write(lambda conn: self._upsert(conn, slots, found, ["office_id", "day", "time"]))

    def set_photo(self, card_id: str, photo: bytes) -> None:
        """The recording photo that comes with a card's manifest entry."""
        rows = [{"card_id": card_id, "photo": photo}]
        self.db.write(lambda conn: self._upsert(conn, card_photos, rows, ["card_id"]))

    def set_status(self, nik: str, status: str) -> None:
        """Change where a resident's card stands (e.g. 'verification': the ministry withdrew it)."""
        self.db.write(lambda conn: conn.execute(update(residents).where(residents.c.nik == nik).values(status=status)))

    def bind_old_chip(self, nik: str, uid: str) -> None:
        """Make `uid` the chip of this resident's old KTP (and nobody else's)."""
        uid = uid.upper()

        def bind(conn: Connection) -> None:
            conn.execute(update(residents).where(residents.c.old_chip_uid == uid).values(old_chip_uid=None))
            conn.execute(update(residents).where(residents.c.nik == nik).values(old_chip_uid=uid))

        self.db.write(bind)

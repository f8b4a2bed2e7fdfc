"""What a kiosk asks about residents and their cards: its manifest, a lookup by NIK, the holder of an old
card's chip, and spending a queue ticket (once, by the first kiosk that does)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from loket_gateway.db import Database
from loket_gateway.errors import ApiError
from loket_gateway.schema import card_photos, consumed_tickets, kiosks, offices, residents

MANIFEST_VALID_DAYS = 7  # a kiosk offline longer stops releasing: the card may have been withdrawn centrally


def kiosk_office(conn: Connection, kiosk_id: str) -> str:
    """The office a registered kiosk stands in; else a 403."""
    office = conn.execute(select(kiosks.c.office_id).where(kiosks.c.kiosk_id == kiosk_id)).scalar()
    if office is None:
        raise ApiError(403, "kiosk_unknown", f"kiosk {kiosk_id} is not registered")
    return str(office)


class ResidentDesk:
    """Manifest, lookup, chip resolution and ticket consumption, answered from the database."""

    def __init__(
        self, db: Database, today: Callable[[], dt.date], ticket_keys: Callable[[Connection], dict[str, str]]
    ) -> None:
        """`ticket_keys`: the queue system's verifying keys, sent with every full manifest."""
        self.db, self.today, self.ticket_keys = db, today, ticket_keys

    def manifest(self, kiosk_id: str, since_version: int | None = None) -> dict[str, Any]:
        """The kiosk's cards (those put in its vault, and its office's not assigned to a kiosk), each valid
        for MANIFEST_VALID_DAYS from today, and the ticket keys; with `since_version` equal to the current
        version only {"unchanged": true} comes back."""
        r = residents.c
        query = (
            select(r.card_id, r.nik, r.new_chip_uid, r.district, r.since, r.old_chip_uid, card_photos.c.photo)
            .outerjoin(card_photos, card_photos.c.card_id == r.card_id)
            .where(r.status == "ready_here")
            .order_by(r.card_id)
        )
        with self.db.read() as conn:
            office = kiosk_office(conn, kiosk_id)
            mine = or_(r.kiosk_id == kiosk_id, r.kiosk_id.is_(None))  # None: any kiosk of the office
            rows = conn.execute(query.where(and_(r.office_id == office, mine))).all()
            keys = self.ticket_keys(conn)
        valid_until = (self.today() + dt.timedelta(days=MANIFEST_VALID_DAYS)).isoformat()
        # a rotated or retired ticket key changes the version too: kiosks polling with it then fetch the keys
        digest = hashlib.sha256(json.dumps([[row[0] for row in rows], valid_until, keys]).encode()).hexdigest()
        version = int(digest[:12], 16)
        answer: dict[str, Any] = {"kiosk_id": kiosk_id, "office_id": office, "version": version, "cards": []}
        if since_version == version:
            answer["unchanged"] = True
            return answer
        answer["cards"] = [
            {
                "card_id": row[0],
                "nik": row[1],
                "chip_uid": row[2],
                "district": row[3],
                "ready_since": row[4].isoformat(),
                "old_chip_uid": row[5],
                "valid_until": valid_until,
                "photo": base64.b64encode(row[6]).decode() if row[6] is not None else None,
            }
            for row in rows
        ]
        if keys:
            answer["ticket_keys"] = keys
        return answer

    def lookup(self, kiosk_id: str, nik: str) -> dict[str, Any]:
        """Where a resident's card stands, seen from this kiosk's office."""
        r = residents.c
        query = (
            select(r.status, r.since, r.card_id, r.office_id, offices.c.name)
            .outerjoin(offices, offices.c.office_id == r.office_id)
            .where(r.nik == nik)
        )
        with self.db.read() as conn:
            office = kiosk_office(conn, kiosk_id)
            row = conn.execute(query).first()
        if row is None:
            return {"status": "not_found"}
        status, since, card_id, card_office, office_name = row
        if status == "ready_here" and card_office != office:
            status = "ready_elsewhere"
        answer: dict[str, Any] = {"status": status, "since": since.isoformat()}
        if status in ("ready_here", "ready_elsewhere"):
            answer.update(card_id=card_id, office_id=card_office, office_name=office_name)
        return answer

    def resolve_chip(self, uid: str) -> dict[str, Any]:
        """The NIK of an old card's holder; a 404 for an unknown chip."""
        with self.db.read() as conn:
            nik = conn.execute(select(residents.c.nik).where(residents.c.old_chip_uid == uid.upper())).scalar()
        if nik is None:
            raise ApiError(404, "chip_unknown", "no resident holds a card with this chip UID")
        return {"nik": nik}

    def consume_ticket(self, kiosk_id: str, ticket_id: str) -> dict[str, Any]:
        """Spend a queue ticket: the first kiosk to insert its row owns it (the primary key decides a race);
        the same kiosk may repeat, another kiosk gets a 409."""

        def spend(conn: Connection) -> str:
            insert = self.db.insert(consumed_tickets).values(ticket_id=ticket_id, kiosk_id=kiosk_id, at=time.time())
            conn.execute(insert.on_conflict_do_nothing(index_elements=["ticket_id"]))
            owner = select(consumed_tickets.c.kiosk_id).where(and_(consumed_tickets.c.ticket_id == ticket_id))
            return str(conn.execute(owner).scalar_one())

        owner = self.db.write(spend)
        if owner != kiosk_id:
            raise ApiError(409, "ticket_used_elsewhere", f"ticket already used at {owner}")
        return {"ticket_id": ticket_id, "first_use": True}

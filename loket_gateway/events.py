"""Kiosk events from their outboxes, each stored once by its ID and its effect applied once.

Exactly once is the database's doing: an event is applied only by the transaction whose
INSERT ... ON CONFLICT DO NOTHING created its row. A concurrent redelivery of the same ID waits on that
row's unique key and then finds it there (a duplicate, only counted); if the first transaction rolled
back, the redelivery's insert succeeds and applies it instead. Two batches that meet in opposite order
deadlock at worst, which PostgreSQL detects and Database.write retries.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from loket_gateway.bookings import find_booking
from loket_gateway.db import Database
from loket_gateway.schema import bookings, conflicts, consumed_tickets, events, leases, residents

_TICKET = re.compile(r"[0-9a-f]{16}")
_NIK = re.compile(r"[0-9]{16}")
_TIME = re.compile(r"[0-2][0-9]:[0-5][0-9]")


class PayloadInvalid(ValueError):
    """An event whose payload cannot have its effect: kept for audit, recorded as a conflict."""


def _text(payload: dict[str, Any], key: str, max_len: int = 64, pattern: re.Pattern[str] | None = None) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= max_len or not value.isprintable():
        raise PayloadInvalid(f"payload.{key} is missing or malformed")
    if pattern and not pattern.fullmatch(value):
        raise PayloadInvalid(f"payload.{key} is missing or malformed")
    return value


def _offline_booking(p: dict[str, Any]) -> dict[str, Any]:
    """A booking_offline payload as a bookings row, checked field by field."""
    try:
        day = dt.date.fromisoformat(_text(p, "day", 10))
    except ValueError:
        raise PayloadInvalid("payload.day is not a date") from None
    return {
        "booking_id": _text(p, "booking_id"),
        "nik": _text(p, "nik", 16, _NIK),
        "office_id": _text(p, "office_id"),
        "day": day,
        "time": _text(p, "time", 5, _TIME),
        "code": _text(p, "code", 32),
    }


class EventLedger:
    """Accepts batches of kiosk events and applies each one's effect once."""

    def __init__(self, db: Database, today: Callable[[], dt.date]) -> None:
        self.db, self.today = db, today

    def accept(self, kiosk_id: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Store each event once by its ID and apply its effect once; a repeat is only counted."""
        return self.db.write(lambda conn: self._accept(conn, kiosk_id, batch))

    def _accept(self, conn: Connection, kiosk_id: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """One INSERT ... ON CONFLICT DO NOTHING RETURNING for the batch (the rows it returns are new and
        applied here, in the batch's order), one UPDATE counting the repeats: a handful of round trips
        whatever the batch's size. An ID twice in one batch is new once and a repeat after."""
        first: dict[str, dict[str, Any]] = {}
        repeats: dict[str, int] = {}
        for e in batch:
            if e["id"] in first:
                repeats[e["id"]] = repeats.get(e["id"], 0) + 1
            else:
                first[e["id"]] = e
        created: set[str] = set()
        if first:
            now = time.time()
            rows = [
                {
                    "event_id": i,
                    "kiosk_id": kiosk_id,
                    "kind": e["kind"],
                    "payload": json.dumps(e.get("payload") or {}),
                    "received": now,
                    "deliveries": 1,
                }
                for i, e in sorted(first.items())  # key order: two batches sharing IDs lock them alike
            ]
            insert = self.db.insert(events).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
            created = {r[0] for r in conn.execute(insert.returning(events.c.event_id))}
        for i in first:
            if i not in created:
                repeats[i] = repeats.get(i, 0) + 1
        for n in sorted(set(repeats.values())):
            ids = sorted(i for i, k in repeats.items() if k == n)
            where = events.c.event_id.in_(ids)
            conn.execute(update(events).where(where).values(deliveries=events.c.deliveries + n))
        accepted: list[str] = []
        duplicates: list[str] = []
        seen: set[str] = set()
        for e in batch:
            event_id = e["id"]
            if event_id not in created or event_id in seen:
                duplicates.append(event_id)
                continue
            seen.add(event_id)
            kind, payload = e["kind"], e.get("payload") or {}
            try:
                self._apply(conn, kiosk_id, event_id, kind, payload)
            except PayloadInvalid as exc:
                self._conflict(conn, event_id, kiosk_id, "payload_invalid", f"{kind}: {exc}")
            accepted.append(event_id)
        return {"accepted": accepted, "duplicates": duplicates, "conflicts": self._conflicts_of(conn, kiosk_id, batch)}

    @staticmethod
    def _conflicts_of(conn: Connection, kiosk_id: str, batch: list[dict[str, Any]]) -> list[dict[str, str]]:
        """The conflicts these events of this kiosk revealed, now or when first delivered (an answer lost on
        the way is told again with the repeat), in the batch's order."""
        ids = [e["id"] for e in batch]
        c = conflicts.c
        rows = conn.execute(
            select(c.event_id, c.kind, c.detail).where(and_(c.event_id.in_(ids), c.kiosk_id == kiosk_id))
        )
        found = {r[0]: {"id": r[0], "kind": r[1], "detail": r[2]} for r in rows}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def _apply(self, conn: Connection, kiosk_id: str, event_id: str, kind: str, payload: Any) -> None:
        """What an event changes at the gateway (inside accept's transaction)."""
        if not isinstance(payload, dict):
            raise PayloadInvalid("payload is not an object")
        if kind == "handover":
            card = _text(payload, "card")
            where = residents.c.card_id == card
            conn.execute(update(residents).where(where).values(status="collected", since=self.today()))
        elif kind == "ticket_consumed":
            ticket = _text(payload, "ticket_id", 16, _TICKET)
            insert = self.db.insert(consumed_tickets).values(ticket_id=ticket, kiosk_id=kiosk_id, at=time.time())
            conn.execute(insert.on_conflict_do_nothing(index_elements=["ticket_id"]))
            owner = conn.execute(select(consumed_tickets.c.kiosk_id).where(consumed_tickets.c.ticket_id == ticket))
            first = owner.scalar_one()
            if first != kiosk_id:  # used at two kiosks while they were offline: staff must look
                self._conflict(conn, event_id, kiosk_id, "ticket_used_twice", f"ticket {ticket} also used at {first}")
        elif kind == "booking_offline":
            self._book_on_lease(conn, kiosk_id, event_id, _offline_booking(payload))

    def _conflict(self, conn: Connection, event_id: str, kiosk_id: str, kind: str, detail: str) -> None:
        row = {"event_id": event_id, "kiosk_id": kiosk_id, "kind": kind, "detail": detail[:500], "at": time.time()}
        conn.execute(self.db.insert(conflicts).values(row).on_conflict_do_nothing(index_elements=["event_id"]))

    def _book_on_lease(self, conn: Connection, kiosk_id: str, event_id: str, b: dict[str, Any]) -> None:
        """Draw one leased place for a booking made offline (the conditional UPDATE never overdraws)."""
        if find_booking(conn, b["booking_id"]) is not None:
            # booked online already, but the answer never reached the kiosk, which then booked on its lease
            # with the same ID: one place, and the code the resident holds is the kiosk's
            conn.execute(update(bookings).where(bookings.c.booking_id == b["booking_id"]).values(code=b["code"]))
            return
        lc = leases.c
        key = and_(lc.kiosk_id == kiosk_id, lc.office_id == b["office_id"], lc.day == b["day"], lc.time == b["time"])
        if conn.execute(update(leases).where(and_(key, lc.used < lc.granted)).values(used=lc.used + 1)).rowcount != 1:
            detail = f"booking {b['booking_id']} has no leased place"
            self._conflict(conn, event_id, kiosk_id, "booking_beyond_lease", detail)
            return
        row = dict(b, kiosk_id=kiosk_id, created=time.time())
        insert = self.db.insert(bookings).values(row).on_conflict_do_nothing(index_elements=["booking_id"])
        if (
            conn.execute(insert.returning(bookings.c.booking_id)).first() is None
        ):  # an online booking of the same ID committed meanwhile
            conn.execute(update(leases).where(key).values(used=lc.used - 1))
            conn.execute(update(bookings).where(bookings.c.booking_id == b["booking_id"]).values(code=b["code"]))

    # -- what tests and the bench read back -------------------------------------------------------

    def conflicts(self) -> list[tuple[str, str]]:
        """(kind, detail) of every conflict events revealed, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(select(conflicts.c.kind, conflicts.c.detail).order_by(conflicts.c.at)).all()
        return [(r[0], r[1]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Events received, by kind."""
        with self.db.read() as conn:
            rows = conn.execute(select(events.c.kind, func.count()).group_by(events.c.kind)).all()
        return {r[0]: r[1] for r in rows}

    def ids(self) -> set[str]:
        """Every event ID received (once each, however often delivered)."""
        with self.db.read() as conn:
            return {r[0] for r in conn.execute(select(events.c.event_id))}

    def redelivered(self) -> int:
        """Deliveries beyond the first, summed over all events."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(events.c.deliveries - 1), 0))).scalar_one())

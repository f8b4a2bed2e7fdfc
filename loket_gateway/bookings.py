"""Recording offices, their slots, bookings and the places leased to kiosks for offline booking.

A slot's `booked` counts online bookings and every place leased to a kiosk. It only ever grows by a
conditional UPDATE (`... WHERE booked < capacity`) or under the row locks of SELECT ... FOR UPDATE, and a
CHECK constraint refuses a commit beyond capacity: concurrent kiosks can never overbook a slot.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from loket_gateway.db import Database
from loket_gateway.errors import ApiError
from loket_gateway.schema import bookings, leases, offices, slots


def booking_answer(row: Any) -> dict[str, Any]:
    """The contract's Booking from a bookings row (booking_id, code, office_id, day, time)."""
    return {"booking_id": row[0], "code": row[1], "office_id": row[2], "day": row[3].isoformat(), "time": row[4]}


def find_booking(conn: Connection, booking_id: str) -> Any:
    b = bookings.c
    return conn.execute(
        select(b.booking_id, b.code, b.office_id, b.day, b.time).where(b.booking_id == booking_id)
    ).first()


class BookingDesk:
    """Offices, slots, bookings and leases."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def offices(self) -> dict[str, Any]:
        """Every office that records."""
        o = offices.c
        with self.db.read() as conn:
            rows = conn.execute(select(o.office_id, o.name, o.district).order_by(o.office_id)).all()
        return {"offices": [{"office_id": r[0], "name": r[1], "district": r[2]} for r in rows]}

    def slots(self, office_id: str, start: dt.date, days: int) -> dict[str, Any]:
        """An office's recording slots from `start` for `days` days, with the places left."""
        s = slots.c
        end = start + dt.timedelta(days=days)
        query = (
            select(s.day, s.time, s.capacity - s.booked)
            .where(and_(s.office_id == office_id, s.day >= start, s.day < end))
            .order_by(s.day, s.time)
        )
        with self.db.read() as conn:
            if conn.execute(select(offices.c.office_id).where(offices.c.office_id == office_id)).first() is None:
                raise ApiError(404, "office_unknown", f"no office {office_id}")
            rows = conn.execute(query).all()
        return {
            "office_id": office_id,
            "slots": [{"day": r[0].isoformat(), "time": r[1], "remaining": r[2]} for r in rows],
        }

    def book(self, body: dict[str, Any], kiosk_id: str | None = None) -> dict[str, Any]:
        """Take one place of a slot, once per booking ID (a replay, or a racing twin, gets the first answer)."""
        booking_id = body["booking_id"]
        day = dt.date.fromisoformat(body["day"])
        s = slots.c

        def take(conn: Connection) -> dict[str, Any]:
            held = find_booking(conn, booking_id)
            if held is not None:  # idempotent replay
                return booking_answer(held)
            where = and_(s.office_id == body["office_id"], s.day == day, s.time == body["time"], s.booked < s.capacity)
            if conn.execute(update(slots).where(where).values(booked=s.booked + 1)).rowcount != 1:
                raise ApiError(409, "slot_full", "this slot has no capacity left")
            code = "B" + secrets.token_hex(4).upper()
            row = dict(body, day=day, code=code, kiosk_id=kiosk_id, created=time.time())
            conn.execute(bookings.insert().values({c.name: row[c.name] for c in bookings.c}))
            return booking_answer((booking_id, code, body["office_id"], day, body["time"]))

        try:
            return self.db.write(take)
        except IntegrityError:  # the same booking ID committed by a racing request: its answer is ours
            with self.db.read() as conn:
                held = find_booking(conn, booking_id)
            if held is None:
                raise
            return booking_answer(held)

    def grant_leases(self, kiosk_id: str, start: dt.date, days: int, per_slot: int) -> dict[str, Any]:
        """Set aside up to `per_slot` places of every slot of every office for `days` days for this kiosk's
        offline bookings, once per slot (asking again returns what is leased); returns what is left."""
        end = start + dt.timedelta(days=days)
        self.db.write(lambda conn: self._grant(conn, kiosk_id, start, end, per_slot))
        lc, o = leases.c, offices.c
        query = (
            select(lc.office_id, o.name, o.district, lc.day, lc.time, lc.granted - lc.used)
            .join(offices, o.office_id == lc.office_id)
            .where(and_(lc.kiosk_id == kiosk_id, lc.day >= start, lc.day < end, lc.granted > lc.used))
            .order_by(lc.office_id, lc.day, lc.time)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        keys = ("office_id", "office_name", "district", "day", "time", "remaining")
        return {
            "kiosk_id": kiosk_id,
            "leases": [dict(zip(keys, (r[0], r[1], r[2], r[3].isoformat(), r[4], r[5]), strict=True)) for r in rows],
        }

    def _grant(self, conn: Connection, kiosk_id: str, start: dt.date, end: dt.date, per_slot: int) -> None:
        """Lock the range's slots (in key order: no deadlock between two grants), claim this kiosk's
        lease rows that do not exist yet, and move the places from the slots into them."""
        s, lc = slots.c, leases.c
        in_range = and_(s.day >= start, s.day < end)
        locked = conn.execute(
            select(s.office_id, s.day, s.time, s.capacity - s.booked)
            .where(in_range)
            .order_by(s.office_id, s.day, s.time)
            .with_for_update()  # PostgreSQL row locks; SQLite's BEGIN IMMEDIATE already holds the one writer lock
        ).all()
        held = conn.execute(
            select(lc.office_id, lc.day, lc.time).where(and_(lc.kiosk_id == kiosk_id, lc.day >= start, lc.day < end))
        ).all()
        leased = {tuple(r) for r in held}
        new = [(o, d, t, max(0, min(per_slot, free))) for o, d, t, free in locked if (o, d, t) not in leased]
        if not new:
            return
        conn.execute(
            leases.insert(),
            [
                {"kiosk_id": kiosk_id, "office_id": o, "day": d, "time": t, "granted": n, "used": 0}
                for o, d, t, n in new
            ],
        )
        taken = [{"o": o, "d": d, "t": t, "n": n} for o, d, t, n in new if n]
        if taken:  # under the locks; the CHECK constraint would refuse the commit were it ever wrong
            where = and_(s.office_id == bindparam("o"), s.day == bindparam("d"), s.time == bindparam("t"))
            conn.execute(update(slots).where(where).values(booked=s.booked + bindparam("n")), taken)

"""The contract's operations (openapi.yaml) over the simulator's store: manifest, lookup, chip resolve,
ticket consumption, offices, slots, bookings, leases, heartbeats, and kiosk events applied exactly once."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Any

from kiosk.sim.gateway.store import GatewayStore

MANIFEST_VALID_DAYS = 7


class ApiError(Exception):
    """An error answer: HTTP status, a machine code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def require(body: dict[str, Any], key: str) -> Any:
    """`body[key]`, or a 400 answer naming the missing field."""
    if key not in body or body[key] in (None, ""):
        raise ApiError(400, "bad_request", f"missing field '{key}'")
    return body[key]


class GatewayApi:
    """What a kiosk may ask of the gateway, answered from the store."""

    def __init__(self, store: GatewayStore, today: dt.date) -> None:
        self.store = store
        self.today = today  # the gateway's idea of today (manifest validity)
        self.photos: dict[str, bytes] = {}  # card_id -> recording photo (tests and benchmarks set these)

    def authenticate(self, kiosk_id: str | None, key: str | None) -> str:
        """The kiosk's ID if `key` is its API key; else a 401."""
        if not kiosk_id or not key:
            raise ApiError(401, "unauthenticated", "send X-Kiosk-Id and Authorization: Bearer <key>")
        row = self.store.row("SELECT api_key FROM kiosks WHERE kiosk_id=?", (kiosk_id,))
        if row is None or not secrets.compare_digest(row[0], key):
            raise ApiError(401, "unauthenticated", "unknown kiosk or wrong key")
        return kiosk_id

    def kiosk_office(self, kiosk_id: str) -> str:
        """The office a registered kiosk stands in; else a 403."""
        row = self.store.row("SELECT office_id FROM kiosks WHERE kiosk_id=?", (kiosk_id,))
        if row is None:
            raise ApiError(403, "kiosk_unknown", f"kiosk {kiosk_id} is not registered")
        return str(row[0])

    def manifest(self, kiosk_id: str, since_version: int | None = None) -> dict[str, Any]:
        """The kiosk's cards; each entry is valid for `MANIFEST_VALID_DAYS` from today (a kiosk offline
        longer stops releasing: the card may have been withdrawn centrally). With `since_version` equal
        to the current version, only {"unchanged": true} comes back."""
        office = self.kiosk_office(kiosk_id)
        rows = self.store.rows(
            "SELECT card_id, nik, new_chip_uid, district, since, old_chip_uid FROM residents "
            "WHERE status='ready_here' AND office_id=? ORDER BY card_id",
            (office,),
        )
        valid_until = (self.today + dt.timedelta(days=MANIFEST_VALID_DAYS)).isoformat()
        cards = [
            {
                "card_id": r[0],
                "nik": r[1],
                "chip_uid": r[2],
                "district": r[3],
                "ready_since": r[4],
                "old_chip_uid": r[5],
                "valid_until": valid_until,
                "photo": base64.b64encode(self.photos[r[0]]).decode() if r[0] in self.photos else None,
            }
            for r in rows
        ]
        digest = hashlib.sha256(json.dumps([c["card_id"] for c in cards] + [valid_until]).encode()).hexdigest()
        version = int(digest[:12], 16)
        if since_version == version:
            return {"kiosk_id": kiosk_id, "office_id": office, "version": version, "unchanged": True, "cards": []}
        return {"kiosk_id": kiosk_id, "office_id": office, "version": version, "cards": cards}

    def lookup(self, kiosk_id: str, nik: str) -> dict[str, Any]:
        """Where a resident's card stands, seen from this kiosk's office."""
        office = self.kiosk_office(kiosk_id)
        row = self.store.row(
            "SELECT r.status, r.since, r.card_id, r.office_id, o.name FROM residents r "
            "LEFT JOIN offices o ON o.office_id = r.office_id WHERE r.nik=?",
            (nik,),
        )
        if row is None:
            return {"status": "not_found"}
        status, since, card_id, card_office, office_name = row
        if status == "ready_here" and card_office != office:
            status = "ready_elsewhere"
        answer: dict[str, Any] = {"status": status, "since": since}
        if status in ("ready_here", "ready_elsewhere"):
            answer.update(card_id=card_id, office_id=card_office, office_name=office_name)
        return answer

    def resolve_chip(self, uid: str) -> dict[str, Any]:
        """The NIK of an old card's holder; a 404 for an unknown chip."""
        row = self.store.row("SELECT nik FROM residents WHERE old_chip_uid=?", (uid.upper(),))
        if row is None:
            raise ApiError(404, "chip_unknown", "no resident holds a card with this chip UID")
        return {"nik": row[0]}

    def consume_ticket(self, kiosk_id: str, ticket_id: str) -> dict[str, Any]:
        """Spend a queue ticket; the same kiosk may repeat, another kiosk gets a 409."""
        with self.store.lock:
            row = self.store.row("SELECT kiosk_id FROM consumed_tickets WHERE ticket_id=?", (ticket_id,))
            if row is None:
                self.store.write("INSERT INTO consumed_tickets VALUES (?,?,?)", (ticket_id, kiosk_id, time.time()))
                return {"ticket_id": ticket_id, "first_use": True}
        if row[0] == kiosk_id:  # the same kiosk retrying: idempotent
            return {"ticket_id": ticket_id, "first_use": True}
        raise ApiError(409, "ticket_used_elsewhere", f"ticket already used at {row[0]}")

    def offices(self) -> dict[str, Any]:
        """Every office that records."""
        rows = self.store.rows("SELECT office_id, name, district FROM offices ORDER BY office_id")
        return {"offices": [{"office_id": r[0], "name": r[1], "district": r[2]} for r in rows]}

    def slots(self, office_id: str, start: str, days: int) -> dict[str, Any]:
        """An office's recording slots from `start` for `days` days, with the places left."""
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()
        with self.store.lock:
            if not self.store.row("SELECT 1 FROM offices WHERE office_id=?", (office_id,)):
                raise ApiError(404, "office_unknown", f"no office {office_id}")
            rows = self.store.rows(
                "SELECT day, time, capacity - booked FROM slots WHERE office_id=? AND day>=? AND day<? "
                "ORDER BY day, time",
                (office_id, start, end),
            )
        return {"office_id": office_id, "slots": [{"day": r[0], "time": r[1], "remaining": r[2]} for r in rows]}

    def book(self, body: dict[str, Any]) -> dict[str, Any]:
        """Take one place of a slot, once per booking ID (a replay returns the same booking)."""
        booking_id = require(body, "booking_id")
        with self.store.lock:
            row = self.store.row("SELECT code, office_id, day, time FROM bookings WHERE booking_id=?", (booking_id,))
            if row:  # idempotent replay
                return {"booking_id": booking_id, "code": row[0], "office_id": row[1], "day": row[2], "time": row[3]}
            nik, office_id, day, t = (require(body, k) for k in ("nik", "office_id", "day", "time"))
            with self.store.transaction() as db:
                cur = db.execute(
                    "UPDATE slots SET booked = booked + 1 WHERE office_id=? AND day=? AND time=? AND booked < capacity",
                    (office_id, day, t),
                )
                if cur.rowcount != 1:
                    raise ApiError(409, "slot_full", "this slot has no capacity left")
                code = "B" + secrets.token_hex(4).upper()
                db.execute(
                    "INSERT INTO bookings VALUES (?,?,?,?,?,?,?)",
                    (booking_id, nik, office_id, day, t, code, time.time()),
                )
        return {"booking_id": booking_id, "code": code, "office_id": office_id, "day": day, "time": t}

    def grant_leases(self, kiosk_id: str, start: str, days: int, per_slot: int) -> dict[str, Any]:
        """Set aside up to `per_slot` places of every slot of every office for `days` days for this kiosk's
        offline bookings (once per slot: asking again returns what is leased). Returns what is left."""
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=days)).isoformat()
        with self.store.lock:
            with self.store.transaction() as db:
                rows = db.execute(
                    "SELECT s.office_id, s.day, s.time, s.capacity - s.booked FROM slots s "
                    "LEFT JOIN leases l ON l.kiosk_id=? AND l.office_id=s.office_id AND l.day=s.day AND l.time=s.time "
                    "WHERE s.day>=? AND s.day<? AND l.kiosk_id IS NULL",
                    (kiosk_id, start, end),
                ).fetchall()
                for office_id, day, t, free in rows:
                    n = max(0, min(per_slot, free))
                    db.execute(
                        "UPDATE slots SET booked = booked + ? WHERE office_id=? AND day=? AND time=?",
                        (n, office_id, day, t),
                    )
                    db.execute(
                        "INSERT INTO leases(kiosk_id, office_id, day, time, granted) VALUES (?,?,?,?,?)",
                        (kiosk_id, office_id, day, t, n),
                    )
            leased = self.store.rows(
                "SELECT l.office_id, o.name, o.district, l.day, l.time, l.granted - l.used FROM leases l "
                "JOIN offices o ON o.office_id = l.office_id WHERE l.kiosk_id=? AND l.day>=? AND l.day<? "
                "AND l.granted > l.used ORDER BY l.office_id, l.day, l.time",
                (kiosk_id, start, end),
            )
        return {
            "kiosk_id": kiosk_id,
            "leases": [
                {"office_id": r[0], "office_name": r[1], "district": r[2], "day": r[3], "time": r[4], "remaining": r[5]}
                for r in leased
            ],
        }

    def booking_codes(self) -> list[str]:
        """The code of every booking made (for tests)."""
        return [r[0] for r in self.store.rows("SELECT code FROM bookings")]


class EventLedger:
    """Kiosk events (from their outboxes): each stored once by its ID and its effect applied once."""

    def __init__(self, store: GatewayStore) -> None:
        self.store = store

    def accept(self, kiosk_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Store each event once by its ID and apply its effect once; a repeat is only counted."""
        accepted, duplicates = [], []
        with self.store.transaction() as db:
            for e in events:
                event_id = require(e, "id")
                cur = db.execute("UPDATE events SET deliveries = deliveries + 1 WHERE event_id=?", (event_id,))
                if cur.rowcount:
                    duplicates.append(event_id)
                    continue
                kind, payload = require(e, "kind"), e.get("payload", {})
                db.execute(
                    "INSERT INTO events VALUES (?,?,?,?,?,1)",
                    (event_id, kiosk_id, kind, json.dumps(payload), time.time()),
                )
                self._apply(kiosk_id, event_id, kind, payload)
                accepted.append(event_id)
            conflicts = self._conflicts_of(db, kiosk_id, accepted + duplicates)
        return {"accepted": accepted, "duplicates": duplicates, "conflicts": conflicts}

    @staticmethod
    def _conflicts_of(db: Any, kiosk_id: str, event_ids: list[str]) -> list[dict[str, str]]:
        """The conflicts these events of this kiosk revealed, now or when first delivered (an answer lost
        on the way is told again with the repeat)."""
        found: list[dict[str, str]] = []
        for event_id in event_ids:
            row = db.execute(
                "SELECT kind, detail FROM conflicts WHERE event_id=? AND kiosk_id=?", (event_id, kiosk_id)
            ).fetchone()
            if row is not None:
                found.append({"id": event_id, "kind": row[0], "detail": row[1]})
        return found

    def _apply(self, kiosk_id: str, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """What an event changes at the gateway (inside accept's transaction)."""
        db = self.store.db
        if kind == "handover":
            db.execute(
                "UPDATE residents SET status='collected', since=? WHERE card_id=?",
                (dt.date.today().isoformat(), payload.get("card")),
            )
        elif kind == "ticket_consumed":
            ticket = str(payload.get("ticket_id", ""))
            row = db.execute("SELECT kiosk_id FROM consumed_tickets WHERE ticket_id=?", (ticket,)).fetchone()
            if row is None:
                db.execute("INSERT INTO consumed_tickets VALUES (?,?,?)", (ticket, kiosk_id, time.time()))
            elif row[0] != kiosk_id:  # used at two kiosks while they were offline: staff must look
                self._conflict(event_id, kiosk_id, "ticket_used_twice", f"ticket {ticket} also used at {row[0]}")
        elif kind == "booking_offline":
            self._book_on_lease(kiosk_id, event_id, payload)

    def _conflict(self, event_id: str, kiosk_id: str, kind: str, detail: str) -> None:
        self.store.db.execute(
            "INSERT OR IGNORE INTO conflicts VALUES (?,?,?,?,?)", (event_id, kiosk_id, kind, detail, time.time())
        )

    def _book_on_lease(self, kiosk_id: str, event_id: str, p: dict[str, Any]) -> None:
        db = self.store.db
        booking_id = str(p.get("booking_id", ""))
        if db.execute("SELECT 1 FROM bookings WHERE booking_id=?", (booking_id,)).fetchone():
            # booked online already, but the answer never reached the kiosk, which then booked on its lease
            # with the same ID: one place, and the code the resident holds is the kiosk's
            db.execute("UPDATE bookings SET code=? WHERE booking_id=?", (p.get("code"), booking_id))
            return
        key = (kiosk_id, p.get("office_id"), p.get("day"), p.get("time"))
        cur = db.execute(
            "UPDATE leases SET used = used + 1 "
            "WHERE kiosk_id=? AND office_id=? AND day=? AND time=? AND used < granted",
            key,
        )
        if cur.rowcount != 1:
            self._conflict(event_id, kiosk_id, "booking_beyond_lease", f"booking {booking_id} has no leased place")
            return
        db.execute(
            "INSERT INTO bookings VALUES (?,?,?,?,?,?,?)",
            (booking_id, p.get("nik"), p.get("office_id"), p.get("day"), p.get("time"), p.get("code"), time.time()),
        )

    def conflicts(self) -> list[tuple[str, str]]:
        """(kind, detail) of every conflict events revealed (for tests)."""
        return [(r[0], r[1]) for r in self.store.rows("SELECT kind, detail FROM conflicts ORDER BY at")]

    def counts(self) -> dict[str, int]:
        """Events received, by kind (for tests and `kiosk simulate`)."""
        return {r[0]: r[1] for r in self.store.rows("SELECT kind, COUNT(*) FROM events GROUP BY kind")}

    def ids(self) -> set[str]:
        """Every event ID received (once each, however often delivered)."""
        return {r[0] for r in self.store.rows("SELECT event_id FROM events")}

    def redelivered(self) -> int:
        """Deliveries beyond the first, summed over all events."""
        return int(self.store.rows("SELECT COALESCE(SUM(deliveries - 1), 0) FROM events")[0][0])

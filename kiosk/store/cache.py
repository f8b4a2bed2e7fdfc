"""What the kiosk keeps of the gateway's answers for when the link is down: leased recording places
(bookings while offline) and the last card status seen per resident."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.store.base import Database, Tx
from kiosk.store.journal import append_row
from kiosk.store.outbox import enqueue_row, waiting

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    office_id TEXT NOT NULL,
    office_name TEXT NOT NULL,
    district TEXT NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    PRIMARY KEY (office_id, day, time)
);
CREATE TABLE IF NOT EXISTS known_status (
    nik_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    office_name TEXT,
    known_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_keys (
    key_id INTEGER PRIMARY KEY,
    public_key TEXT NOT NULL
);
"""


def forget_statuses(tx: Tx, before_day: str) -> int:
    """Forget the statuses last seen before `before_day` (ISO date); returns how many were forgotten."""
    return int(tx.execute("DELETE FROM known_status WHERE known_at < ?", (before_day,)).rowcount)


class Cache(Database):
    """The cached gateway answers' share of the store."""

    def _create(self) -> None:
        super()._create()
        self._script(SCHEMA)

    # -- the queue's ticket keys, as the last full manifest delivered them ------------------------

    def replace_ticket_keys(self, keys: Mapping[int, str]) -> bool:
        """Trust exactly `keys` (key ID -> Ed25519 public key, hex) from now; True if the set changed."""
        with self.transaction() as tx:
            held = dict(tx.execute("SELECT key_id, public_key FROM ticket_keys").fetchall())
            if held == dict(keys):
                return False
            tx.execute("DELETE FROM ticket_keys")
            tx.executemany("INSERT INTO ticket_keys VALUES (?,?)", sorted(keys.items()))
            return True

    def ticket_keys(self) -> dict[int, str]:
        """The ticket keys the last full manifest delivered ({} before the first)."""
        return {int(k): str(v) for k, v in self._rows("SELECT key_id, public_key FROM ticket_keys")}

    # -- leased recording places, for bookings while the gateway is unreachable ---------------

    def replace_leases(self, rows: list[dict[str, Any]]) -> bool:
        """Take the gateway's view of this kiosk's leases; refused (False) while offline bookings are
        still on their way, since the gateway's counts do not include them yet."""
        with self.transaction() as tx:
            if waiting(tx, "booking_offline"):
                return False
            tx.execute("DELETE FROM leases")
            tx.executemany(
                "INSERT INTO leases VALUES (?,?,?,?,?,?)",
                [(r["office_id"], r["office_name"], r["district"], r["day"], r["time"], r["remaining"]) for r in rows],
            )
            return True

    def lease_offices(self) -> list[tuple[str, str, str]]:
        """(office_id, name, district) of offices with a leased place left."""
        rows = self._rows(
            "SELECT DISTINCT office_id, office_name, district FROM leases WHERE remaining > 0 ORDER BY office_id"
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def lease_slots(self, office_id: str, first_day: str) -> list[tuple[str, str, int]]:
        """(day, time, remaining) of an office's leased places from `first_day` on."""
        rows = self._rows(
            "SELECT day, time, remaining FROM leases WHERE office_id=? AND day>=? AND remaining > 0 ORDER BY day, time",
            (office_id, first_day),
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    def book_on_lease(self, payload: Mapping[str, Any]) -> bool:
        """Take one leased place and queue the booking for the gateway, in one transaction; False if the
        lease for that office, day and time is used up."""
        with self.transaction() as tx:
            cur = tx.execute(
                "UPDATE leases SET remaining = remaining - 1 WHERE office_id=? AND day=? AND time=? AND remaining > 0",
                (payload["office_id"], payload["day"], payload["time"]),
            )
            if cur.rowcount != 1:
                return False
            append_row(tx, "booked_offline", {"booking": payload["booking_id"], "office": payload["office_id"]})
            enqueue_row(tx, "booking_offline", dict(payload), str(payload["booking_id"]))
            return True

    # -- the last card status this kiosk saw per resident (keyed by an HMAC of the NIK) ------

    def remember_status(self, nik_key: str, status: str, office_name: str | None, known_at: str) -> None:
        """Keep the latest status the gateway gave for a resident."""
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO known_status VALUES (?,?,?,?)", (nik_key, status, office_name, known_at))

    def known_status(self, nik_key: str) -> tuple[str, str | None, str] | None:
        """(status, office_name, known_at) last seen for a resident, if any."""
        row = self._row("SELECT status, office_name, known_at FROM known_status WHERE nik_key=?", (nik_key,))
        return (row[0], row[1], row[2]) if row else None

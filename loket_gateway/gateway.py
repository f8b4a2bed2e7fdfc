"""The gateway's parts over one database, composed into the one object the HTTP app, the CLI and the
tests use. Each operation of the contract is a method here (the app only validates and routes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loket_gateway.anchors import AnchorBook
from loket_gateway.bookings import BookingDesk
from loket_gateway.db import Database
from loket_gateway.errors import ApiError
from loket_gateway.events import EventLedger
from loket_gateway.fleet import Fleet
from loket_gateway.office import OfficeData
from loket_gateway.residents import ResidentDesk
from loket_gateway.tickets import TicketIssuer


class Gateway:
    """Residents, bookings, events, anchors, tickets and the fleet over one `Database`."""

    def __init__(self, db: Database, *, today: dt.date | None = None) -> None:
        """`today` fixes the gateway's idea of the date (tests, the demo); None follows the clock."""
        self.db = db
        self.fixed_today = today
        self.office = OfficeData(db)
        self.issuer = TicketIssuer(db)
        self.residents = ResidentDesk(db, self.today, self.issuer.public_keys)
        self.bookings = BookingDesk(db)
        self.events = EventLedger(db, self.today)
        self.anchors = AnchorBook(db)
        self.fleet = Fleet(db, self.issuer, self.anchors)

    def today(self) -> dt.date:
        return self.fixed_today or dt.date.today()

    @staticmethod
    def own(kiosk_id: str, path_kiosk: str) -> str:
        """A kiosk may only act for itself: else a 403."""
        if path_kiosk != kiosk_id:
            raise ApiError(403, "forbidden", "a kiosk may only act for itself")
        return kiosk_id

    # -- the contract's operations, by operationId ------------------------------------------------

    def getManifest(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.residents.manifest(self.own(kiosk, p["kiosk_id"]), p.get("since_version"))

    def lookupResident(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.residents.lookup(kiosk, body["nik"])

    def resolveChip(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.residents.resolve_chip(body["uid"])

    def consumeTicket(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.residents.consume_ticket(kiosk, p["ticket_id"])

    def listOffices(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.bookings.offices()

    def listSlots(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        start = dt.date.fromisoformat(p["from"]) if "from" in p else self.today()
        return self.bookings.slots(p["office_id"], start, p["days"])

    def book(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.bookings.book(body, kiosk)

    def sendEvents(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.events.accept(kiosk, body["events"])

    def heartbeat(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.fleet.heartbeat(self.own(kiosk, p["kiosk_id"]), body)

    def getAnchors(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.anchors.anchors(self.own(kiosk, p["kiosk_id"]), p.get("after", 0), p.get("limit", 5000))

    def enrol(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.fleet.enrol(body)

    def grantLeases(self, kiosk: str, p: dict[str, Any], body: Any) -> dict[str, Any]:
        start = dt.date.fromisoformat(body["from"])
        return self.bookings.grant_leases(self.own(kiosk, p["kiosk_id"]), start, body["days"], body["per_slot"])

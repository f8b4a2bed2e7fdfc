"""A simulator of the Dukcapil kiosk gateway: a real HTTP server on loopback, backed by SQLite.

It serves the contract in openapi.yaml, holds the queue system's ticket signing key (so the demo and
tests can issue tickets), and can be told to fail (down, slow, 5xx, dropped answers) for fault-injection
tests. Its parts, one module each:

- store.py: the SQLite schema, the one connection and lock, the office's data imports
- api.py: the contract's operations and the kiosk events applied once
- issuer.py: the queue system's ticket signing
- fleet.py: kiosk registration, enrolment (API key, certificate from a CSR) and the fleet page
- http.py: the routing table, the HTTP(S) servers and fault injection

`GatewaySimulator` composes them into the one object the tests, benchmarks and simulated world use.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.identity.ticket import Service
from kiosk.sim.gateway.anchors import Alarm
from kiosk.sim.gateway.api import MANIFEST_VALID_DAYS, ApiError, EventLedger, GatewayApi
from kiosk.sim.gateway.fleet import Fleet
from kiosk.sim.gateway.http import Faults, HttpFront, Route
from kiosk.sim.gateway.issuer import TicketIssuer
from kiosk.sim.gateway.store import GatewayStore
from kiosk.sim.seed import KIOSK_OFFICE, Resident, gateway_rows, seed_residents

__all__ = ["MANIFEST_VALID_DAYS", "ApiError", "Faults", "GatewaySimulator", "Route"]


class GatewaySimulator:
    """The gateway's state and logic, and its HTTP server: one object over its parts (`store`, `api`,
    `events`, `issuer`, `admin`, `http`), with the setup hooks tests need (`add_kiosk`, `set_status`)."""

    def __init__(
        self,
        db_path: str | Path,
        seed: int = 1,
        *,
        today: dt.date | None = None,
        kiosk_id: str = "KIOSK-01",
        api_key: str = "demo-key",
        per_status: int = 2,
    ) -> None:
        """Open (or create and seed) the gateway's database; `today` is the gateway's idea of the date."""
        self.seed = seed
        self.kiosk_id = kiosk_id
        self.api_key = api_key
        self.residents = seed_residents(seed, per_status)
        self.store = GatewayStore(db_path)
        self.api = GatewayApi(self.store, today or dt.date.today())
        self.events = EventLedger(self.store)
        self.issuer = TicketIssuer(seed)
        self.admin = Fleet(self.store, self.issuer)
        self.http = HttpFront(self.api, self.events, self.admin)
        if self.store.empty:
            resident_rows, slot_rows = gateway_rows(seed, self.api.today, self.residents)
            self.store.seed(resident_rows, slot_rows, (kiosk_id, KIOSK_OFFICE, api_key))
        self.photos: dict[str, bytes] = self.api.photos  # card_id -> recording photo (tests and benchmarks)
        self.faults: Faults = self.http.faults
        self.access_log: list[str] = self.http.access_log
        self.ticket_key: Ed25519PrivateKey = self.issuer.key
        self.ticket_key_id: int = self.issuer.key_id

    @property
    def today(self) -> dt.date:
        """The gateway's idea of today (manifest validity)."""
        return self.api.today

    @today.setter
    def today(self, day: dt.date) -> None:
        self.api.today = day

    @property
    def ca(self) -> Any:
        """A kiosk.gateway.pki.Issued CA, or None: with one, enrolment signs kiosk certificates."""
        return self.admin.ca

    @ca.setter
    def ca(self, ca: Any) -> None:
        self.admin.ca = ca

    # -- setup hooks (what an admin or a SIAK import would change) --------------------------------

    def add_kiosk(self, kiosk_id: str, office: str, api_key: str, journal_key: str | None = None) -> None:
        """Register another kiosk with its API key (or replace its key), and its journal public key."""
        self.admin.add_kiosk(kiosk_id, office, api_key)
        if journal_key is not None:
            self.register_journal_key(kiosk_id, journal_key)

    def register_journal_key(self, kiosk_id: str, public_key: str) -> None:
        """Register a kiosk's journal public key (hex), as its enrolment would."""
        self.admin.anchors.register_key(kiosk_id, public_key)

    def set_status(self, nik: str, status: str) -> None:
        """Change where a resident's card stands (e.g. 'verification': the ministry withdrew it)."""
        self.store.set_status(nik, status)

    def bind_old_chip(self, nik: str, uid: str) -> None:
        """Make `uid` the chip of this resident's old KTP (the demo binds a real card this way)."""
        self.store.bind_old_chip(nik, uid)

    def known_chip(self, uid: str) -> bool:
        """Whether some resident's old KTP has this chip."""
        return self.store.known_chip(uid)

    # -- what the queue system does ---------------------------------------------------------------

    @property
    def ticket_public_key_hex(self) -> str:
        """The queue's verifying key, as kiosk.toml's `ticket_keys` carries it."""
        return self.issuer.public_key_hex

    def issue_ticket(
        self,
        resident: Resident,
        service: Service = Service.PICKUP,
        *,
        office: str = KIOSK_OFFICE,
        now: float | None = None,
        valid_s: int = 4 * 3600,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        """A signed queue ticket for a resident, as the office's queue machine would print it."""
        return self.issuer.issue(resident, service, office=office, now=now, valid_s=valid_s, key=key)

    def resident(self, index: int) -> Resident:
        """The seeded resident with this 1-based index."""
        return self.residents[index - 1]

    # -- the contract's operations ----------------------------------------------------------------

    def authenticate(self, kiosk_id: str | None, key: str | None) -> str:
        """The kiosk's ID if `key` is its API key; else ApiError 401."""
        return self.api.authenticate(kiosk_id, key)

    def manifest(self, kiosk_id: str, since_version: int | None = None) -> dict[str, Any]:
        """The kiosk's cards (see GatewayApi.manifest)."""
        return self.api.manifest(kiosk_id, since_version)

    def lookup(self, kiosk_id: str, nik: str) -> dict[str, Any]:
        """Where a resident's card stands, seen from this kiosk's office."""
        return self.api.lookup(kiosk_id, nik)

    def resolve_chip(self, uid: str) -> dict[str, Any]:
        """The NIK of an old card's holder; ApiError 404 for an unknown chip."""
        return self.api.resolve_chip(uid)

    def consume_ticket(self, kiosk_id: str, ticket_id: str) -> dict[str, Any]:
        """Spend a queue ticket (idempotent for the same kiosk)."""
        return self.api.consume_ticket(kiosk_id, ticket_id)

    def offices(self) -> dict[str, Any]:
        """Every office that records."""
        return self.api.offices()

    def slots(self, office_id: str, start: str, days: int) -> dict[str, Any]:
        """An office's recording slots with the places left."""
        return self.api.slots(office_id, start, days)

    def book(self, body: dict[str, Any]) -> dict[str, Any]:
        """Book a slot, once per booking ID."""
        return self.api.book(body)

    def grant_leases(self, kiosk_id: str, start: str, days: int, per_slot: int) -> dict[str, Any]:
        """Set places aside for a kiosk's offline bookings (see GatewayApi.grant_leases)."""
        return self.api.grant_leases(kiosk_id, start, days, per_slot)

    def heartbeat(self, kiosk_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a kiosk's latest health summary and anchor its journal head (see Fleet.heartbeat)."""
        return self.admin.heartbeat(kiosk_id, body)

    def anchor_alarms(self, kiosk_id: str | None = None) -> list[Alarm]:
        """Every journal head that went backwards, forked or was not the kiosk's (see AnchorBook)."""
        return self.admin.anchors.alarms(kiosk_id)

    def accept_events(self, kiosk_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Store each event once by its ID and apply its effect once; a repeat is only counted."""
        return self.events.accept(kiosk_id, events)

    # -- what tests and `kiosk simulate` read back ------------------------------------------------

    def booking_codes(self) -> list[str]:
        """The code of every booking made."""
        return self.api.booking_codes()

    def conflicts(self) -> list[tuple[str, str]]:
        """(kind, detail) of every conflict events revealed."""
        return self.events.conflicts()

    def event_counts(self) -> dict[str, int]:
        """Events received, by kind."""
        return self.events.counts()

    def event_ids(self) -> set[str]:
        """Every event ID received (once each, however often delivered)."""
        return self.events.ids()

    def events_redelivered(self) -> int:
        """Deliveries beyond the first, summed over all events."""
        return self.events.redelivered()

    # -- the fleet --------------------------------------------------------------------------------

    def issue_enrolment_token(self, kiosk_id: str, office_id: str = KIOSK_OFFICE) -> str:
        """A one-time token for a new kiosk (the admin's side of provisioning)."""
        return self.admin.issue_enrolment_token(kiosk_id, office_id)

    def enrol(self, body: dict[str, Any]) -> dict[str, Any]:
        """Spend a one-time token (see Fleet.enrol)."""
        return self.admin.enrol(body)

    def fleet(self) -> list[dict[str, Any]]:
        """Every kiosk with its last heartbeat (None if it never sent one)."""
        return self.admin.kiosks()

    def fleet_page(self) -> str:
        """The admins' HTML page of kiosks and their last heartbeat."""
        return self.admin.page()

    # -- HTTP -------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """(method, path pattern, handler) of every endpoint served (the contract test compares them)."""
        return list(self.http.routes)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a loopback port in a background thread; returns the base URL."""
        return self.http.start(host, port)

    def start_tls(self, cert: Path, key: Path, client_ca: Path | None = None, host: str = "127.0.0.1") -> str:
        """Also serve HTTPS over the same state; with `client_ca`, mutual TLS. Returns the https:// URL."""
        return self.http.start_tls(cert, key, client_ca, host)

    @property
    def url(self) -> str:
        """The plain HTTP base URL (after `start`)."""
        return self.http.url

    def stop(self) -> None:
        """Stop serving; the state stays."""
        self.http.stop()

    def close(self) -> None:
        """Stop serving and close the database."""
        self.stop()
        self.store.close()

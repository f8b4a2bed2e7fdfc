"""The office a simulated kiosk talks to: the real gateway (loket_gateway's GatewayApp) on a loopback port.

`kiosk demo`, `kiosk simulate`, the benchmarks and the tests run the gateway service itself, in this
process behind a threaded WSGI server, on a SQLite database migrated and seeded as `loket-gateway seed
--demo` does (loket_gateway.demo). Faults (down, slow, 5xx, answers dropped mid-way) are injected by a
WSGI layer in front of the app (kiosk.sim.fault_front): the gateway never knows. What a test arranges
(another kiosk, a resident's status, a queue ticket, a recording photo) goes through the gateway's own
parts; what it reads back (events, bookings, anchors) comes from the gateway's database.

Only this module and kiosk.sim.fault_front import the gateway service; `kiosk run` never loads it
(tests/test_architecture.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event, select, text

from kiosk.identity.ticket import Service, issue_ticket
from kiosk.sim.fault_front import FaultFront, Faults, Handler, Server
from kiosk.store.base import CACHE_KIB
from loket_gateway.anchors import Alarm
from loket_gateway.app import GatewayApp
from loket_gateway.db import Database, migrate
from loket_gateway.demo import (
    DEMO_KEY,
    DEMO_KIOSK,
    KIOSK_OFFICE,
    OFFICES,
    STATUSES,
    demo_residents,
    demo_ticket_key,
    seed_demo,
)
from loket_gateway.errors import ApiError
from loket_gateway.gateway import Gateway
from loket_gateway.pki import SigningCa
from loket_gateway.schema import bookings, journal_keys, residents

__all__ = [
    "KIOSK_OFFICE",
    "OFFICES",
    "STATUSES",
    "Faults",
    "Office",
    "Resident",
    "demo_ticket_key",
    "print_ticket",
    "town",
]


@dataclass(frozen=True)
class Resident:
    """A resident of the demo town (loket_gateway.demo) and where their card stands."""

    index: int  # 1-based, in the order the town is drawn
    name: str
    nik: str
    district: str
    status: str
    old_chip_uid: str | None  # None: old card without a chip
    card_id: str | None
    new_chip_uid: str | None
    office_id: str | None  # where the finished card waits

    @property
    def person(self) -> str:
        """A key for the simulated camera's 'face of resident N'."""
        return f"R{self.index:03d}"


def _cap_cache(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # negative: KiB, not pages


def town(seed: int, per_status: int = 2) -> list[Resident]:
    """The demo town's residents for this seed, as the gateway is seeded with them."""
    return [
        Resident(i, r.name, r.nik, r.district, r.status, r.old_chip_uid, r.card_id, r.new_chip_uid, r.office_id)
        for i, r in enumerate(demo_residents(seed, per_status), start=1)
    ]


def print_ticket(
    key: Ed25519PrivateKey,
    key_id: int,
    resident: Resident,
    service: Service = Service.PICKUP,
    *,
    office: str = KIOSK_OFFICE,
    now: float | None = None,
    valid_s: int = 4 * 3600,
) -> str:
    """A queue ticket signed by `key` under `key_id`, valid from a minute before `now` for `valid_s`: what
    a process without the gateway's database (a benchmark's kiosk child) prints with the key it was given,
    or a forgery."""
    now = time.time() if now is None else now
    start, end = int(now) - 60, int(now) + valid_s
    return issue_ticket(key, key_id, secrets.token_bytes(8), service, office, resident.nik, start, end)


class Office:
    """The real gateway seeded with the demo town, serving on loopback behind a fault front, with the
    hooks tests and the simulated world need."""

    def __init__(
        self,
        db_path: str | Path,
        seed: int = 1,
        *,
        today: dt.date | None = None,
        per_status: int = 2,
    ) -> None:
        """Open (or create, migrate and seed) the gateway's SQLite database at `db_path`; `today` is the
        gateway's idea of the date."""
        self.seed = seed
        self.kiosk_id, self.api_key = DEMO_KIOSK, DEMO_KEY
        self.residents = town(seed, per_status)
        self.db = Database(f"sqlite:///{Path(db_path)}")
        # in the demo and the benchmarks it shares the kiosk's process: its page cache capped as the store's
        event.listen(self.db.engine, "connect", _cap_cache)
        logging.getLogger("alembic").setLevel(logging.WARNING)  # a fresh town's migrations are no news
        migrate(self.db)
        self.gateway = Gateway(self.db, today=today or dt.date.today())
        seed_demo(self.gateway, seed, today=self.gateway.today(), per_status=per_status)
        self.faults = Faults()
        self.access_log: list[str] = []
        self._servers: list[Server] = []
        self._url: str | None = None
        self.ticket_key_id, self.ticket_key = self.gateway.issuer.signing_key()

    # -- the gateway's date and CA ------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        """The gateway's idea of today (manifest validity, events)."""
        return self.gateway.today()

    @today.setter
    def today(self, day: dt.date) -> None:
        self.gateway.fixed_today = day

    def sign_enrolments(self, ca: SigningCa) -> None:
        """With a CA, enrolment signs the kiosk's certificate request."""
        self.gateway.fleet.ca = ca

    # -- what an admin or the office's import would change -------------------------------------------

    def add_kiosk(self, kiosk_id: str, office: str, api_key: str, journal_key: str | None = None) -> None:
        """Register another kiosk with its API key (or replace its key), and its journal public key."""
        self.gateway.fleet.add_kiosk(kiosk_id, office, api_key)
        if journal_key is not None:
            self.register_journal_key(kiosk_id, journal_key)

    def register_journal_key(self, kiosk_id: str, public_key: str) -> None:
        """Register a kiosk's journal public key (hex), as its enrolment would."""
        self.gateway.anchors.register_key(kiosk_id, public_key)

    def journal_key(self, kiosk_id: str) -> str | None:
        """The journal public key the gateway holds for a kiosk."""
        with self.db.read() as conn:
            held = conn.execute(select(journal_keys.c.public_key).where(journal_keys.c.kiosk_id == kiosk_id))
            return held.scalar()

    def set_status(self, nik: str, status: str) -> None:
        """Change where a resident's card stands (e.g. 'verification': the ministry withdrew it)."""
        self.gateway.office.set_status(nik, status)

    def set_photo(self, card_id: str, photo: bytes) -> None:
        """The recording photo that comes with a card's manifest entry."""
        self.gateway.office.set_photo(card_id, photo)

    def bind_old_chip(self, nik: str, uid: str) -> None:
        """Make `uid` the chip of this resident's old KTP (the demo binds a real card this way)."""
        self.gateway.office.bind_old_chip(nik, uid)

    def known_chip(self, uid: str) -> bool:
        """Whether some resident's old KTP has this chip."""
        try:
            self.gateway.residents.resolve_chip(uid)
        except ApiError:  # 404: no resident has it
            return False
        return True

    def finish_card(self, nik: str, card_id: str, chip_uid: str, office_id: str = KIOSK_OFFICE) -> None:
        """A new card finished for a resident, waiting at `office_id` (what the office's import records)."""
        change = residents.update().where(residents.c.nik == nik)
        values = {"status": "ready_here", "card_id": card_id, "new_chip_uid": chip_uid, "office_id": office_id}
        self.db.write(lambda conn: conn.execute(change.values(values)))

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query on the gateway's database (a benchmark's checks)."""
        with self.db.read() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params or {})]

    def issue_enrolment_token(self, kiosk_id: str, office_id: str = KIOSK_OFFICE) -> str:
        """A one-time token for a new kiosk (the admin's side of provisioning)."""
        return self.gateway.fleet.issue_enrolment_token(kiosk_id, office_id)

    # -- what the queue system does --------------------------------------------------------------------

    @property
    def ticket_public_key_hex(self) -> str:
        """The queue's verifying key, as kiosk.toml's `ticket_keys` carries it."""
        return self.gateway.issuer.public_keys()[str(self.ticket_key_id)]

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
        """A queue ticket for a resident signed by the gateway, as the office's queue machine would print
        it; with `key`, signed by that key under the gateway's key ID instead (a forgery)."""
        if key is None:
            return self.gateway.issuer.issue(resident.nik, service, office, now=now, valid_s=valid_s)
        return print_ticket(key, self.ticket_key_id, resident, service, office=office, now=now, valid_s=valid_s)

    @property
    def ticket_signing_hex(self) -> str:
        """The queue key's private half (raw, hex) for a benchmark's kiosk child: the demo's key, no secret."""
        return self.ticket_key.private_bytes_raw().hex()

    def resident(self, index: int) -> Resident:
        """The seeded resident with this 1-based index."""
        return self.residents[index - 1]

    # -- what tests and `kiosk simulate` read back ------------------------------------------------------

    def booking_codes(self) -> list[str]:
        """The code of every booking made."""
        with self.db.read() as conn:
            return [str(c) for c in conn.execute(select(bookings.c.code).order_by(bookings.c.created)).scalars()]

    def conflicts(self) -> list[tuple[str, str]]:
        """(kind, detail) of every conflict events revealed."""
        return self.gateway.events.conflicts()

    def event_counts(self) -> dict[str, int]:
        """Events received, by kind."""
        return self.gateway.events.counts()

    def event_ids(self) -> set[str]:
        """Every event ID received (once each, however often delivered)."""
        return self.gateway.events.ids()

    def events_redelivered(self) -> int:
        """Deliveries beyond the first, summed over all events."""
        return self.gateway.events.redelivered()

    def anchor_alarms(self, kiosk_id: str | None = None) -> list[Alarm]:
        """Every journal head that went backwards, forked or was not the kiosk's."""
        return self.gateway.anchors.alarms(kiosk_id)

    def fleet(self) -> list[dict[str, Any]]:
        """Every kiosk with its last heartbeat (None if it never sent one)."""
        return self.gateway.fleet.kiosks()

    def fleet_page(self) -> str:
        """The admins' HTML page of kiosks and their last heartbeat."""
        return self.gateway.fleet.page()

    # -- serving -------------------------------------------------------------------------------------

    def _serve(self, host: str, port: int, context: ssl.SSLContext | None, mutual: bool = False) -> Server:
        server = Server((host, port), Handler)
        app = GatewayApp(self.gateway, client_cert_required=mutual)
        server.set_app(FaultFront(app, self.faults, self.access_log))
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, name="office-gateway", daemon=True).start()
        return server

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve plain HTTP on a loopback port in a background thread; returns the base URL."""
        server = self._serve(host, port, None)
        self._url = f"http://{host}:{server.server_address[1]}"
        return self._url

    def start_tls(self, cert: Path, key: Path, client_ca: Path | None = None, host: str = "127.0.0.1") -> str:
        """Also serve HTTPS over the same gateway; with `client_ca`, mutual TLS (every operation but
        enrolment then needs the kiosk's own certificate). Returns the https:// URL."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(client_ca)
        server = self._serve(host, 0, context, mutual=client_ca is not None)
        return f"https://{host}:{server.server_address[1]}"

    @property
    def url(self) -> str:
        """The plain HTTP base URL (after `start`)."""
        assert self._url is not None, "office gateway not started"
        return self._url

    def stop(self) -> None:
        """Stop every server; the database stays."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        self._url = None

    def close(self) -> None:
        """Stop serving and close the database."""
        self.stop()
        self.db.dispose()

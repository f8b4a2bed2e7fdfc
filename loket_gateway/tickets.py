"""The queue system's ticket signing, held by the gateway: Ed25519 keys by key ID and tickets in the
kiosk's format (kiosk.identity.ticket, the shared part; docs/ticket-format.md).

Rotation: `rotate()` adds a key that is published at once (kiosks get every key not retired with their
enrolment and with each manifest) but signs only from `signs_from`, once every kiosk has had time to
fetch a manifest; from then the newest key signs. `retire()` withdraws an old key once the tickets it
signed have expired; the key that signs now cannot be retired. A first key is made when none exists.

Queue systems that may issue tickets over HTTP (POST /queue/v1/tickets, loket_gateway.queue) are kept
here too, by name with the SHA-256 digest of their API key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, or_, select, update
from sqlalchemy.exc import IntegrityError

from kiosk.identity.ticket import Service, issue_ticket
from loket_gateway.db import Database
from loket_gateway.schema import queue_clients, ticket_keys

PUBLISH_S = 24 * 3600  # a rotated key's publication before it signs: a kiosk refreshes its manifest sooner
MAX_VALID_S = 24 * 3600


def _public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class KeyState:
    """One ticket key as `loket-gateway ticket-keys` lists it."""

    key_id: int
    public_key: str
    created: float
    signs_from: float | None
    retired: float | None


@dataclass(frozen=True)
class IssuedTicket:
    """A signed ticket (its QR text) and what it says in the clear."""

    text: str
    ticket_id: str
    key_id: int
    not_before: int
    not_after: int


class TicketIssuer:
    """Signs queue tickets with the newest key whose time to sign has come."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_key(self, key: Ed25519PrivateKey | None = None, *, signs_from: float | None = None) -> int:
        """Store a signing key (a new one by default) under the next key ID; returns the ID."""
        key = key or Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

        def store(conn: Connection) -> int:
            top = conn.execute(select(ticket_keys.c.key_id).order_by(ticket_keys.c.key_id.desc()).limit(1)).scalar()
            key_id = (top or 0) + 1
            if key_id > 0xFFFF:  # the ticket's key ID is two bytes
                raise ValueError("no key IDs left (65535 used)")
            row = {"key_id": key_id, "private_key": raw, "public_key": _public_hex(key), "created": time.time()}
            conn.execute(ticket_keys.insert().values({**row, "signs_from": signs_from}))
            return key_id

        return self.db.write(store)

    def rotate(self, publish_s: float = PUBLISH_S, *, now: float | None = None) -> int:
        """A new key, published now and signing after `publish_s` seconds; returns its ID."""
        return self.add_key(signs_from=(time.time() if now is None else now) + publish_s)

    def retire(self, key_id: int, *, now: float | None = None) -> None:
        """Withdraw a key from the kiosks (ValueError for an unknown key or the one signing now)."""
        now = time.time() if now is None else now
        signing, _ = self.signing_key(now=now)
        if key_id == signing:
            raise ValueError(f"key {key_id} signs tickets now: rotate first, retire it when its tickets expired")
        k = ticket_keys.c
        where = (k.key_id == key_id) & k.retired.is_(None)
        if self.db.write(lambda conn: conn.execute(update(ticket_keys).where(where).values(retired=now)).rowcount) != 1:
            raise ValueError(f"key {key_id}: no such key in use")

    def key_states(self) -> list[KeyState]:
        """Every key, oldest first."""
        k = ticket_keys.c
        with self.db.read() as conn:
            rows = conn.execute(select(k.key_id, k.public_key, k.created, k.signs_from, k.retired).order_by(k.key_id))
            return [KeyState(*r) for r in rows]

    def public_keys(self, conn: Connection | None = None) -> dict[str, str]:
        """The verifying keys not retired (signing or about to), by key ID as text (the contract's form)."""
        k = ticket_keys.c
        query = select(k.key_id, k.public_key).where(k.retired.is_(None)).order_by(k.key_id)
        if conn is not None:
            return {str(r[0]): r[1] for r in conn.execute(query)}
        with self.db.read() as c:
            return {str(r[0]): r[1] for r in c.execute(query)}

    def signing_key(self, *, now: float | None = None) -> tuple[int, Ed25519PrivateKey]:
        """The newest key not retired whose time to sign has come (the first one made if there is none)."""
        now = time.time() if now is None else now
        k = ticket_keys.c
        ready = or_(k.signs_from.is_(None), k.signs_from <= now)
        query = select(k.key_id, k.private_key).where(k.retired.is_(None) & ready).order_by(k.key_id.desc()).limit(1)
        with self.db.read() as conn:
            row = conn.execute(query).first()
            have_any = conn.execute(select(k.key_id).limit(1)).first() is not None
        if row is None:
            if have_any:
                raise ValueError("no ticket key may sign now: every key is retired or not yet due")
            with contextlib.suppress(IntegrityError):  # another process made the first key meanwhile
                self.add_key()
            return self.signing_key(now=now)
        return int(row[0]), Ed25519PrivateKey.from_private_bytes(bytes(row[1]))

    def issue(
        self, nik: str, service: Service, office: str, *, now: float | None = None, valid_s: int = 4 * 3600
    ) -> str:
        """A signed queue ticket for a resident, valid from a minute before `now` for `valid_s` seconds."""
        return self.issue_details(nik, service, office, now=now, valid_s=valid_s).text

    def issue_details(
        self, nik: str, service: Service, office: str, *, now: float | None = None, valid_s: int = 4 * 3600
    ) -> IssuedTicket:
        """`issue`, with the ticket's ID, key ID and validity window."""
        now = time.time() if now is None else now
        key_id, key = self.signing_key(now=now)
        ticket_id, start, end = secrets.token_bytes(8), int(now) - 60, int(now) + valid_s
        text = issue_ticket(key, key_id, ticket_id, service, office, nik, start, end)
        return IssuedTicket(text, ticket_id.hex(), key_id, start, end)

    # -- the queue systems that may issue over HTTP -----------------------------------------------

    def add_queue_client(self, name: str) -> str:
        """Register (or re-key) a queue system; returns its new API key (only the digest is kept)."""
        key = secrets.token_urlsafe(32)
        statement = self.db.insert(queue_clients).values(name=name, api_key_sha256=_digest(key))
        statement = statement.on_conflict_do_update(index_elements=["name"], set_={"api_key_sha256": _digest(key)})
        self.db.write(lambda conn: conn.execute(statement))
        return key

    def queue_client(self, name: str | None, key: str | None) -> str | None:
        """The queue system's name if `key` is its API key, else None."""
        if not name or not key:
            return None
        with self.db.read() as conn:
            held = conn.execute(select(queue_clients.c.api_key_sha256).where(queue_clients.c.name == name)).scalar()
        return name if held is not None and hmac.compare_digest(held, _digest(key)) else None

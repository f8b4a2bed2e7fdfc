"""The queue system's ticket signing, held by the gateway: Ed25519 keys by key ID (kiosks receive the
public halves at enrolment) and tickets in the kiosk's format (kiosk.identity.ticket, the shared part).

A first key is made when none exists. Phase 1 keeps the private keys in the database; rotation (a new key
ID, the old one retired after the tickets it signed expire) is the next step of issue 16."""

from __future__ import annotations

import contextlib
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from kiosk.identity.ticket import Service, issue_ticket
from loket_gateway.db import Database
from loket_gateway.schema import ticket_keys


def _public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


class TicketIssuer:
    """Signs queue tickets with the newest active key."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_key(self, key: Ed25519PrivateKey | None = None) -> int:
        """Store a signing key (a new one by default) under the next key ID; returns the ID."""
        key = key or Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

        def store(conn: Connection) -> int:
            top = conn.execute(select(ticket_keys.c.key_id).order_by(ticket_keys.c.key_id.desc()).limit(1)).scalar()
            key_id = (top or 0) + 1
            row = {"key_id": key_id, "private_key": raw, "public_key": _public_hex(key), "created": time.time()}
            conn.execute(ticket_keys.insert().values(row))
            return key_id

        return self.db.write(store)

    def public_keys(self, conn: Connection | None = None) -> dict[str, str]:
        """The verifying keys not retired, by key ID (as text, as the contract's ticket_keys has them)."""
        k = ticket_keys.c
        query = select(k.key_id, k.public_key).where(k.retired.is_(None)).order_by(k.key_id)
        if conn is not None:
            return {str(r[0]): r[1] for r in conn.execute(query)}
        with self.db.read() as c:
            return {str(r[0]): r[1] for r in c.execute(query)}

    def signing_key(self) -> tuple[int, Ed25519PrivateKey]:
        """The newest active key (made if there is none)."""
        k = ticket_keys.c
        query = select(k.key_id, k.private_key).where(k.retired.is_(None)).order_by(k.key_id.desc()).limit(1)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            with contextlib.suppress(IntegrityError):  # another process made the first key meanwhile
                self.add_key()
            return self.signing_key()
        return int(row[0]), Ed25519PrivateKey.from_private_bytes(bytes(row[1]))

    def issue(
        self, nik: str, service: Service, office: str, *, now: float | None = None, valid_s: int = 4 * 3600
    ) -> str:
        """A signed queue ticket for a resident, valid from a minute before `now` for `valid_s` seconds."""
        key_id, key = self.signing_key()
        now = time.time() if now is None else now
        return issue_ticket(
            key, key_id, secrets.token_bytes(8), service, office, nik, int(now) - 60, int(now) + valid_s
        )

"""The queue system's side: it holds the ticket signing key and prints signed queue tickets (Ed25519),
so that the demo and tests can hand residents tickets the kiosk will verify."""

from __future__ import annotations

import secrets
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.identity.ticket import Service, issue_ticket
from kiosk.sim.seed import KIOSK_OFFICE, Resident


class TicketIssuer:
    """The office's queue machine: one signing key, deterministic per seed (a simulator, not a secret)."""

    def __init__(self, seed: int, key_id: int = 1) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes((f"loket-queue-{seed}".encode() * 4)[:32])
        self.key_id = key_id

    @property
    def public_key_hex(self) -> str:
        """The verifying key, as kiosk.toml's `ticket_keys` carries it."""
        return self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def issue(
        self,
        resident: Resident,
        service: Service = Service.PICKUP,
        *,
        office: str = KIOSK_OFFICE,
        now: float | None = None,
        valid_s: int = 4 * 3600,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        """A signed queue ticket for a resident, as the office's queue machine would print it; valid from a
        minute before `now` for `valid_s` seconds. `key` signs instead of the queue's own (a forgery)."""
        now = time.time() if now is None else now
        return issue_ticket(
            key or self.key,
            self.key_id,
            secrets.token_bytes(8),
            service,
            office,
            resident.nik,
            int(now) - 60,
            int(now) + valid_s,
        )

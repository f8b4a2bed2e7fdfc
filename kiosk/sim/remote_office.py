"""The demo office's gateway as a kiosk in another process sees it: a benchmark's parent serves the real
gateway (kiosk.sim.office.Office), and its kiosk child gets this, so the child's memory is the kiosk's
alone, as on a real kiosk, whose gateway is another machine."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.identity.ticket import Service
from kiosk.sim.office import KIOSK_OFFICE, Office, Resident, print_ticket, town


@dataclass
class RemoteOffice:
    """The gateway's address, this kiosk's credentials, the queue's ticket key (the benchmark prints
    tickets as the office's queue machine would) and the seeded town, recomputed from the seed."""

    url: str
    kiosk_id: str
    api_key: str
    ticket_key_id: int
    ticket_public_key_hex: str
    ticket_signing_hex: str
    seed: int
    per_status: int
    journal_public_key: str  # the kiosk's journal key, registered at the gateway by the parent
    access_log: list[Any] = field(default_factory=list, compare=False)  # the gateway's, not here: always empty

    @classmethod
    def serving(cls, office: Office, per_status: int, journal_public_key: str) -> RemoteOffice:
        """What a child needs of `office` (serving; its first kiosk, whose journal key is registered)."""
        office.register_journal_key(office.kiosk_id, journal_public_key)
        return cls(
            office.url, office.kiosk_id, office.api_key, office.ticket_key_id, office.ticket_public_key_hex,
            office.ticket_signing_hex, office.seed, per_status, journal_public_key,
        )  # fmt: skip

    def to_json(self) -> str:
        body = asdict(self)
        body.pop("access_log")
        return json.dumps(body)

    @classmethod
    def from_json(cls, text: str) -> RemoteOffice:
        return cls(**json.loads(text))

    @cached_property
    def residents(self) -> list[Resident]:
        return town(self.seed, self.per_status)

    def resident(self, index: int) -> Resident:
        """The seeded resident with this 1-based index."""
        return self.residents[index - 1]

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
        """A queue ticket signed with the queue's key (or `key`, a forgery), as Office.issue_ticket."""
        signer = key or Ed25519PrivateKey.from_private_bytes(bytes.fromhex(self.ticket_signing_hex))
        return print_ticket(signer, self.ticket_key_id, resident, service, office=office, now=now, valid_s=valid_s)

    def register_journal_key(self, kiosk_id: str, public_key_hex: str) -> None:
        """The parent registered the journal key: check that it is this kiosk's."""
        if (kiosk_id, public_key_hex) != (self.kiosk_id, self.journal_public_key):
            raise RuntimeError(f"the gateway holds another journal key for {self.kiosk_id} than this kiosk's")

    def close(self) -> None:
        """Nothing: the gateway is the parent's to stop."""

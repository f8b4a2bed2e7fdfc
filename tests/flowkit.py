"""Helpers to drive the pure flow in tests: tickets, a walker that records effects."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import FlowConfig, start, step
from kiosk.flow.model import CardStatus, Lookup, Office, Session, Slot, TicketClaim
from kiosk.identity.ticket import Service, Ticket, issue_ticket, verify_ticket

KEY = Ed25519PrivateKey.generate()
NIK = "5371046508900001"  # Oebobo
OTHER_NIK = "5371011203850002"  # Alak
OFFICE = "DKP-KUPANG"
T0 = 1_790_000_000.0
CFG = FlowConfig()
OFFICES = (
    Office("KEC-01", "Kantor Camat Alak", "537101"),
    Office("DKP-KUPANG", "Dinas Dukcapil Kota Kupang", "537104"),
    Office("KEC-04", "Kantor Camat Oebobo", "537104"),
    Office("KAB-01", "Dukcapil Kabupaten Kupang", "530101"),
)
SLOTS = (Slot("2026-09-22", "08:00", 0), Slot("2026-09-22", "09:00", 3), Slot("2026-09-23", "08:00", 1))
READY = Lookup(CardStatus.READY_HERE, "C00001", 4, "04AABBCCDDEEFF")


def ticket(nik: str = NIK, service: Service = Service.PICKUP) -> Ticket:
    text = issue_ticket(KEY, 1, secrets.token_bytes(8), service, OFFICE, nik, int(T0) - 60, int(T0) + 3600)
    result = verify_ticket(text, {1: KEY.public_key()}, OFFICE, T0)
    assert isinstance(result, Ticket)
    return result


class Walker:
    """Steps a session through events, keeping the time and every effect. A ticket's claim is answered at
    once with `claim` (as a gateway on the same desk would), or left waiting with None."""

    def __init__(
        self, session: Session | None = None, now: float = T0, claim: TicketClaim | None = TicketClaim.CLAIMED
    ) -> None:
        self.s = session or start()
        self.now = now
        self.claim = claim
        self.effects: list[fx.Effect] = []

    def __call__(self, event: ev.Event, after: float = 1.0) -> Walker:
        self.now += after
        self.s, effects = step(self.s, event, self.now, CFG)
        self.effects.extend(effects)
        for e in effects:
            if isinstance(e, fx.ClaimTicket) and self.claim is not None:
                self(ev.TicketClaimed(e.visit, e.ticket_id, self.claim), after=0.0)
        return self

    def last(self, kind: type) -> list:
        return [e for e in self.effects if isinstance(e, kind)]

    def journal_kinds(self) -> list[str]:
        return [e.kind for e in self.effects if isinstance(e, fx.Journal)]

    def clear(self) -> Walker:
        self.effects.clear()
        return self

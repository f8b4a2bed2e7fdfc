"""The resident desk: resolve an old chip, look a resident up, list offices and slots, book. Each asks the
gateway first and falls back on what this kiosk's store knows when the link is down; that fallback is
written once, in `_ask`. Offline is a normal mode here, not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from kiosk.flow import events as ev
from kiosk.flow.effects import Book
from kiosk.flow.machine import FlowConfig
from kiosk.flow.model import Booking, CardStatus, Lookup, Office, Reason, Slot, TicketClaim
from kiosk.flow.rules import release_hold, status_at_this_kiosk
from kiosk.gateway.client import GatewayClient, GatewayRefused, GatewayUnavailable, LookupAnswer
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Service
from kiosk.runner.vaultdesk import VaultDesk
from kiosk.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class ResidentDesk:
    """Answers a resident's questions from the gateway, else from the store."""

    def __init__(
        self,
        kiosk_id: str,
        office: str,
        store: Store,
        gateway: GatewayClient,
        vault: VaultDesk,
        nik_key: Callable[[str], str],
        flow: FlowConfig,
        clock: Callable[[], float],
    ) -> None:
        self.kiosk_id, self.office = kiosk_id, office
        self.store, self.gateway, self.vault = store, gateway, vault
        self.nik_key = nik_key  # the status cache's key: an HMAC of the NIK (no NIK at rest)
        self.flow, self.clock = flow, clock

    def _ask(
        self,
        what: str,
        online: Callable[[], T],
        offline: Callable[[GatewayUnavailable], T],
        refused: Callable[[GatewayRefused], T],
    ) -> T:
        """The gateway's answer; with the link down, this kiosk's own; refused, the refusal's answer."""
        try:
            return online()
        except GatewayUnavailable as exc:
            log.warning("%s unavailable (%s): answering from this kiosk's store", what, exc)
            return offline(exc)
        except GatewayRefused as exc:
            log.warning("%s refused: %s", what, exc)
            return refused(exc)

    def _today(self) -> dt.date:
        return self.flow.today(self.clock())

    def claim_ticket(self, visit: int, ticket_id: str) -> ev.TicketClaimed:
        """Spend the visit's ticket at the gateway (idempotent by its ID). No answer leaves this kiosk's
        own single use in charge; the gateway finds a reuse elsewhere when the outbox event arrives."""

        def refused(exc: GatewayRefused) -> TicketClaim:
            if exc.status == 409:
                log.warning("ticket %s was used at another kiosk: %s", ticket_id, exc.message[:80])
                return TicketClaim.USED_ELSEWHERE
            return TicketClaim.OFFLINE  # a refusal of another kind says nothing about the ticket

        def online() -> TicketClaim:
            self.gateway.consume_ticket(ticket_id)
            return TicketClaim.CLAIMED

        claim = self._ask("ticket claim", online, lambda _exc: TicketClaim.OFFLINE, refused)
        return ev.TicketClaimed(visit, ticket_id, claim)

    def resolve_chip(self, visit: int, uid: str) -> ev.ChipResolved:
        """The NIK of an old card's chip: a holder whose new card is here needs no gateway."""
        local = self.store.nik_for_old_chip(uid)
        if local is not None:
            return ev.ChipResolved(visit, local)
        try:
            return ev.ChipResolved(visit, self.gateway.resolve_chip(uid))
        except GatewayUnavailable:
            return ev.ChipResolved(visit, None, unavailable=True)

    def look_up(self, nik: str, service: Service | None = None) -> Lookup:
        """Where the resident's card stands: releasable from this vault (the flow's rule), else the
        gateway's word, else the last status this kiosk saw."""
        card = self.store.card_for_nik(nik)
        today = self._today().isoformat()
        hold = release_hold(self.vault.facts(card, today))
        if card is not None and hold is None:
            return Lookup(CardStatus.READY_HERE, card.card_id, card.slot, card.chip_uid)
        if card is not None:
            log.warning("card %s is in the vault but held (%s): asking the gateway", card.card_id, hold)
        key = self.nik_key(nik)
        return self._ask(
            f"lookup for {mask_nik(nik)}",
            lambda: self._remember(key, self.gateway.lookup(nik), today),
            lambda _exc: self._known(key, service),
            lambda _exc: Lookup(CardStatus.UNAVAILABLE),
        )

    def _remember(self, key: str, answer: LookupAnswer, today: str) -> Lookup:
        """The gateway's answer as this kiosk shows it, kept as the last known status."""
        given = CardStatus(answer.status)  # the contract's statuses are all CardStatus values
        status = status_at_this_kiosk(given)
        office_name = answer.office_name
        if given == CardStatus.READY_HERE and office_name is None:
            office_name = self.office
        self.store.remember_status(key, status.value, office_name, today)
        return Lookup(status, answer.card_id, office_name=office_name, known_at=answer.since)

    def _known(self, key: str, service: Service | None) -> Lookup:
        """With the link down: the last status this kiosk saw, marked as possibly out of date; or, for a
        recording ticket, 'never recorded' (the office's queue system issued it for that)."""
        known = self.store.known_status(key)
        if known is not None:
            status, office_name, known_at = known
            return Lookup(CardStatus(status), office_name=office_name, known_at=known_at, stale=True)
        if service == Service.RECORDING:
            return Lookup(CardStatus.NEVER_RECORDED, stale=True)
        return Lookup(CardStatus.UNAVAILABLE)

    def offices(self) -> tuple[Office, ...]:
        """Recording offices; offline, the offices where this kiosk holds leased places."""
        return self._ask(
            "offices",
            lambda: tuple(Office(o.office_id, o.name, o.district) for o in self.gateway.offices()),
            lambda _exc: tuple(Office(*row) for row in self.store.lease_offices()),
            lambda _exc: (),
        )

    def slots(self, office_id: str) -> tuple[Slot, ...]:
        """An office's slots from tomorrow on; offline, this kiosk's leased ones."""
        first = self._today() + dt.timedelta(days=1)
        return self._ask(
            "slots",
            lambda: tuple(Slot(r.day, r.time, r.remaining) for r in self.gateway.slots(office_id, first)),
            lambda _exc: tuple(Slot(d, t, n) for d, t, n in self.store.lease_slots(office_id, first.isoformat())),
            lambda _exc: (),
        )

    def book(self, e: Book) -> ev.BookingDone:
        """Book at the gateway; offline, on this kiosk's lease (confirmed from the outbox later)."""
        booking_id = uuid.uuid4().hex

        def online() -> ev.BookingDone:
            code = self.gateway.book(booking_id, e.nik, e.office_id, e.day, e.time)
            return ev.BookingDone(e.visit, Booking(code, e.office, e.day, e.time))

        def refused(exc: GatewayRefused) -> ev.BookingDone:
            reason = Reason.SLOT_TAKEN if exc.code == "slot_full" else Reason.BOOKING_FAILED
            return ev.BookingDone(e.visit, None, reason)

        return self._ask("booking", online, lambda _exc: self._book_on_lease(e, booking_id), refused)

    def _book_on_lease(self, e: Book, booking_id: str) -> ev.BookingDone:
        code = "L" + booking_id[:8].upper()
        payload = {
            "booking_id": booking_id,
            "nik": e.nik,
            "office_id": e.office_id,
            "day": e.day,
            "time": e.time,
            "code": code,
            "kiosk": self.kiosk_id,
        }
        if not self.store.book_on_lease(payload):
            return ev.BookingDone(e.visit, None, Reason.OFFLINE_FULL)
        log.info("booked offline on the lease: %s %s %s", e.office_id, e.day, e.time)
        return ev.BookingDone(e.visit, Booking(code, e.office, e.day, e.time))

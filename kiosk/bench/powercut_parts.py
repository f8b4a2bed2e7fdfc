"""The kiosk's parts as `kiosk bench powercut` instruments them (kiosk.bench.powercut_child builds a life
of the kiosk with them).

Phase crossings: at each named point (`release.intent_written`, `booking.answered`, ...) the child tells
the parent through a pipe and waits for its go; the parent answers, or kills the child there with SIGKILL,
or answers and kills it a moment later, between two crossings. The group of a crossing (before the dot)
is its phase: start, reconcile, ticket, release, booking, loading, sync. The store and the gateway client
cross before and after each write or call a power cut could split; the vault desk's checkpoints cross too.

Tickets are real (signed, verified, spent at the gateway and here) but read off the camera's scene, not
its pixels, as the simulated face check and printed-NIK reader read theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.bench.powercut_vault import PowercutVault
from kiosk.gateway.client import EventsAck, GatewayClient
from kiosk.hardware.camera import HeldTicket, Scene, SimCamera
from kiosk.identity.qr import QrScanner
from kiosk.sim.office import Resident
from kiosk.store import Store
from kiosk.store.journal import append_row
from kiosk.store.outbox import enqueue_row


class Crossings:
    """Tells the parent each phase crossing and waits for its go (it may kill this process instead)."""

    def __init__(self, conn: Connection | None) -> None:
        self.conn = conn
        self.context = "start"  # "start" until the kiosk serves: a release outcome then is reconciliation

    def __call__(self, name: str) -> None:
        if self.conn is not None:
            self.conn.send_bytes(name.encode())
            self.conn.recv_bytes()


class PowercutStore(Store):
    """The real store, with a phase crossing before and after each write a power cut could split."""

    def __init__(self, path: Path, clock: Callable[[], float], cross: Crossings, broken: str = "") -> None:
        self.cross, self.broken = cross, broken
        super().__init__(path, clock=clock)

    def begin_release(self, slot: int, card_id: str) -> str:
        self.cross("release.begin")
        return super().begin_release(slot, card_id)  # the vault desk's checkpoint crosses once it is written

    @contextmanager
    def _settling(self) -> Iterator[None]:
        """At start, an outcome written is reconciliation settling an intent: cross around it (else the
        vault desk's checkpoints cross around it)."""
        reconciling = self.cross.context == "start"
        if reconciling:
            self.cross("reconcile.settle")
        yield
        if reconciling:
            self.cross("reconcile.settled")

    def finish_release(self, release_id: str, outcome: str, *, audit: bool = False) -> None:
        with self._settling():
            super().finish_release(release_id, outcome, audit=audit)

    def consume_ticket(self, ticket_id: str, accepted: Mapping[str, Any], kiosk_id: str) -> bool:
        self.cross("ticket.consume")
        if self.broken == "ticket_split":
            used = self._consume_in_two(ticket_id, accepted, kiosk_id)
        else:
            used = super().consume_ticket(ticket_id, accepted, kiosk_id)
        self.cross("ticket.consumed")
        return used

    def _consume_in_two(self, ticket_id: str, accepted: Mapping[str, Any], kiosk_id: str) -> bool:
        """The broken kiosk: the used ticket, then its evidence, in two transactions (as before issue 14)."""
        with self.transaction() as tx:
            if tx.execute("INSERT OR IGNORE INTO used_tickets VALUES (?,?)", (ticket_id, tx.now())).rowcount != 1:
                return False
        self.cross("ticket.split")
        with self.transaction() as tx:
            append_row(tx, "ticket_accepted", accepted)
            enqueue_row(tx, "ticket_accepted", dict(accepted), None)
            enqueue_row(tx, "ticket_consumed", {"ticket_id": ticket_id, "kiosk": kiosk_id}, ticket_id)
        return True

    def begin_load(
        self,
        slot: int,
        card_id: str,
        nik: str,
        chip_uid: str,
        operator: str | None = None,
        old_chip_uid: str | None = None,
        valid_until: str | None = None,
    ) -> str:
        self.cross("loading.intent")  # the vault desk's checkpoint crosses once it is written
        return super().begin_load(slot, card_id, nik, chip_uid, operator, old_chip_uid, valid_until)

    def finish_load(self, load_id: str, outcome: str, *, audit: bool = False) -> None:
        with self._settling():
            super().finish_load(load_id, outcome, audit=audit)

    def journal(
        self, kind: str, data: Mapping[str, Any] | None = None, *, outbox: bool = False, ordering_key: str | None = None
    ) -> int:
        point = {"booked": "booking.journal", "handover": "release.handover"}.get(kind)
        if point:
            self.cross(point)
        seq = super().journal(kind, data, outbox=outbox, ordering_key=ordering_key)
        if point:
            self.cross(point + "_written")
        return seq

    def book_on_lease(self, payload: Mapping[str, Any]) -> bool:
        self.cross("booking.lease")
        booked = super().book_on_lease(payload)
        self.cross("booking.leased")
        return booked

    def mark_delivered(self, event_ids: list[str]) -> None:
        self.cross("sync.mark")
        super().mark_delivered(event_ids)
        self.cross("sync.marked")


class PowercutClient(GatewayClient):
    """The real gateway client, with a phase crossing before each call that changes the gateway and
    after its answer (or its failure)."""

    cross = Crossings(None)

    @contextmanager
    def _crossing(self, before: str, after: str) -> Iterator[None]:
        self.cross(before)
        try:
            yield
        finally:
            self.cross(after)

    def consume_ticket(self, ticket_id: str) -> bool:
        with self._crossing("ticket.claim", "ticket.claimed"):
            return super().consume_ticket(ticket_id)

    def book(self, booking_id: str, nik: str, office_id: str, day: str, time: str) -> str:
        with self._crossing("booking.book", "booking.answered"):
            return super().book(booking_id, nik, office_id, day, time)

    def send_events(self, events: list[dict[str, Any]]) -> EventsAck:
        with self._crossing("sync.send", "sync.sent"):
            return super().send_events(events)


class SceneCamera(SimCamera):
    """The simulated camera without pixels: what it shows is read from the scene, a held ticket too (the
    simulated face check and printed-NIK reader already read theirs so). Drawing a ticket's QR and decoding
    it again took 63 ms a visit; the power cuts are not in the pixels."""

    def _render(self, scene: Scene) -> np.ndarray:
        return np.zeros((self.height, self.width, 3), dtype=np.uint8)


class SceneQr(QrScanner):
    """Reads the ticket the scene holds up (the camera's stand-in for zxing-cpp)."""

    def __init__(self, camera: SimCamera) -> None:
        super().__init__()
        self.camera = camera

    def scan(self, frame: np.ndarray) -> list[str]:
        scene = self.camera.scene
        return [scene.text] if isinstance(scene, HeldTicket) else []


class Holders(Mapping[str, str]):
    """card ID -> the face key of its holder, for the simulated face check (read from the physical cards)."""

    def __init__(self, vault: PowercutVault, residents: list[Resident]) -> None:
        self.vault, self.residents = vault, residents

    def __getitem__(self, card_id: str) -> str:
        return self.residents[self.vault.state.cards[card_id].holder - 1].person

    def __iter__(self) -> Iterator[str]:
        return iter(self.vault.state.cards)

    def __len__(self) -> int:
        return len(self.vault.state.cards)


def desk_point(checkpoint: str) -> str:
    """The crossing of a vault desk checkpoint: `load_vault_done` -> `loading.vault_done`, `vault_done` ->
    `release.vault_done`."""
    if checkpoint.startswith("load_"):
        return "loading." + checkpoint.removeprefix("load_")
    return "release." + checkpoint

"""The demo's developer panel: act as the camera, the card reader and the vault sensors.

It drives the simulators only; the kiosk sees the same events as from real parts.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.hardware.camera import Face, HeldTicket, Nothing, PrintedCard
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Service
from kiosk.sim.office import Resident
from kiosk.sim.world import DEMO_OPERATOR_UID, World

SERVICE_FOR = {"ready_here": Service.PICKUP, "never_recorded": Service.RECORDING}


class DevPanel(BoxLayout):
    """Buttons that stand in for a resident's hands and face."""

    resident_names = ListProperty([])
    status = StringProperty("")

    def __init__(self, world: World, **kwargs: object) -> None:
        self.world = world
        self.reader = world.reader
        self.vault = world.vault
        super().__init__(**kwargs)
        self.residents = world.gateway.residents
        self.resident_names = [self.label(r) for r in self.residents]

    @staticmethod
    def label(r: Resident) -> str:
        chip = "chip" if r.old_chip_uid else "no chip"
        return f"#{r.index} {r.name} - {r.status} ({chip}) {mask_nik(r.nik)[-4:]}"

    @property
    def resident(self) -> Resident:
        name = self.ids.resident.text
        r = next((r for r in self.residents if self.label(r) == name), self.residents[0])
        if self.world.binder is not None:
            self.world.binder.selected = r
        return r

    @property
    def real_reader(self) -> bool:
        return self.world.card_reader is not self.reader

    def show_ticket(self, kind: str = "") -> None:
        r, gw = self.resident, self.world.gateway
        service = SERVICE_FOR.get(r.status, Service.STATUS)
        if kind == "forged":
            text = gw.issue_ticket(r, service, key=Ed25519PrivateKey.generate())
        elif kind == "expired":
            text = gw.issue_ticket(r, service, now=time.time() - 8 * 3600, valid_s=3600)
        elif kind == "foreign":
            text = gw.issue_ticket(r, service, office="KEC-01")
        else:
            text = gw.issue_ticket(r, service)
        self.world.camera.show(HeldTicket(text))
        self.status = f"camera: {kind or 'valid'} ticket of #{r.index}"

    def show_face(self, photo: bool = False, other: bool = False) -> None:
        r = self.resident
        person = "stranger" if other else r.person
        self.world.camera.show(Face(person, photo=photo))
        self.status = f"camera: {'photo of ' if photo else ''}{person}"

    def show_printed_card(self) -> None:
        self.world.camera.show(PrintedCard(self.resident.nik))
        self.status = f"camera: printed KTP of #{self.resident.index}"

    def clear_camera(self) -> None:
        self.world.camera.show(Nothing())
        self.status = "camera: nothing"

    def insert_old(self) -> None:
        r = self.resident
        self._tap(
            r.old_chip_uid,
            f"old KTP of #{r.index}",
            f"#{r.index} has an old KTP without a chip: show it to the camera",
            f"real reader: tap any card; it becomes #{r.index}'s old KTP and new card",
        )

    def tap_new(self) -> None:
        r = self.resident
        self._tap(
            r.new_chip_uid,
            f"new card of #{r.index}",
            f"#{r.index} has no new card",
            "real reader: tap the same card again as the new card",
        )

    def _tap(self, uid: str | None, what: str, no_card: str, real_hint: str) -> None:
        """Put a simulated card on the simulated reader, or say why not."""
        if self.real_reader:
            self.status = real_hint
        elif uid:
            self.reader.insert(uid)
            self.status = f"reader: {what}"
        else:
            self.status = no_card

    def tap_staff(self) -> None:
        self.reader.insert(DEMO_OPERATOR_UID)
        self.status = "reader: staff card (PIN 2468)"

    def put_card(self) -> None:
        slot = self.vault.moving
        if slot is None:
            self.status = "vault: no slot is open"
        else:
            self.vault.put(slot)
            self.status = f"vault: card put into slot {slot}"

    def toggle_door(self) -> None:
        self.vault.open_door(not self.vault.door)
        self.status = "vault: service door " + ("open" if self.vault.door else "shut")

    def jam_next(self) -> None:
        card = self.world.store.card_for_nik(self.resident.nik)
        if card:
            self.vault.jam(card.slot)
            self.status = f"vault: slot {card.slot} will jam"
        else:
            self.status = "vault: this resident has no card here"

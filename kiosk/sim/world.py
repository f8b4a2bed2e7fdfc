"""A whole simulated kiosk: the real gateway on loopback (kiosk.sim.office), simulated hardware, a real store and the
real kiosk runner. Used by `kiosk demo`, `kiosk simulate` and the tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import HardwareConfig, KioskConfig
from kiosk.config.screen import DisplayConfig
from kiosk.flow.machine import FlowConfig
from kiosk.gateway.client import GatewayClient, ManifestCard
from kiosk.gateway.head import HeadSigner
from kiosk.hardware.camera import SimCamera
from kiosk.hardware.indicators import SimIndicators
from kiosk.hardware.printer import SimPrinter
from kiosk.hardware.reader import CardEvent, CardPresented, CardReader, SimCardReader
from kiosk.hardware.vault import SimVault
from kiosk.health import Health
from kiosk.identity.face import FaceVerifier
from kiosk.identity.face_check import LiveFaceVerifier
from kiosk.identity.operator import Operator, hash_pin
from kiosk.identity.templates import Enrol
from kiosk.identity.ticket import Service
from kiosk.runner import Kiosk, Parts
from kiosk.sim.office import KIOSK_OFFICE, Office, Resident
from kiosk.sim.remote_office import RemoteOffice
from kiosk.sim.scenes import SceneFaceVerifier, SceneNikReader
from kiosk.sim.speaker import RecordingSpeaker
from kiosk.sim.store_hooks import rebind_chip, rebind_old_chip
from kiosk.store import Store
from kiosk.sync.worker import SyncWorker

DEMO_OPERATOR_UID = "04DE0000000001"  # the demo's staff card
DEMO_OPERATOR_PIN = "2468"


class OfficeView(Protocol):
    """What a simulated kiosk's world needs of its office's gateway: the real one serving in this process
    (Office) or in a benchmark's parent (RemoteOffice)."""

    kiosk_id: str
    api_key: str
    ticket_key_id: int
    access_log: list[Any]

    @property
    def ticket_public_key_hex(self) -> str: ...
    @property
    def residents(self) -> list[Resident]: ...
    def resident(self, index: int) -> Resident: ...
    def issue_ticket(
        self,
        resident: Resident,
        service: Service = ...,
        *,
        office: str = ...,
        now: float | None = ...,
        valid_s: int = ...,
        key: Ed25519PrivateKey | None = ...,
    ) -> str: ...
    def register_journal_key(self, kiosk_id: str, public_key_hex: str) -> None: ...
    def close(self) -> None: ...


G = TypeVar("G", bound=OfficeView)


@dataclass
class World(Generic[G]):
    """Everything of one simulated kiosk, with handles on each simulator."""

    cfg: KioskConfig
    gateway: G
    client: GatewayClient
    store: Store
    kiosk: Kiosk
    camera: SimCamera
    reader: SimCardReader
    vault: SimVault
    printer: SimPrinter
    indicators: SimIndicators
    sync: SyncWorker
    card_reader: CardReader  # the reader the kiosk uses: `reader` (the simulator) or a real one
    binder: RealCardBinder | None = None
    owns_gateway: bool = True  # False for a second kiosk at another world's gateway

    def resident(self, index: int) -> Resident:
        return self.gateway.resident(index)

    def residents(self, status: str) -> list[Resident]:
        return [r for r in self.gateway.residents if r.status == status]

    def close(self) -> None:
        self.sync.stop()
        self.kiosk.close()
        self.card_reader.stop()
        self.client.close()
        self.store.close()
        if self.owns_gateway:
            self.gateway.close()


def demo_config(
    gateway: OfficeView,
    url: str,
    data_dir: Path,
    vault_slots: int,
    flow: FlowConfig | None,
    language: str,
    kiosk: tuple[str, str] | None = None,
) -> KioskConfig:
    """The configuration of a simulated kiosk of the demo office, with the demo's staff card; `kiosk` is
    another kiosk's (ID, API key) at the same gateway (default: the gateway's first kiosk)."""
    hardware = HardwareConfig(vault_slots=vault_slots)
    demo_operator = Operator("Petugas Demo", DEMO_OPERATOR_UID, hash_pin(DEMO_OPERATOR_PIN, n=2**12))
    kiosk_id, api_key = kiosk or (gateway.kiosk_id, gateway.api_key)
    return KioskConfig(
        kiosk_id=kiosk_id,
        office=KIOSK_OFFICE,
        data_dir=data_dir,
        gateway_url=url,
        api_key=api_key,
        ticket_keys={gateway.ticket_key_id: gateway.ticket_public_key_hex},
        language=language,
        display=DisplayConfig(fullscreen=False),
        hardware=hardware,
        flow=flow or FlowConfig(release_timeout_s=hardware.release_timeout_s + 15),
        operators=(demo_operator,),
    )


def _gateway_for(
    data_dir: Path, seed: int, per_status: int, today: dt.date, shared: tuple[Office, str] | None
) -> tuple[Office, str, tuple[str, str] | None]:
    """A new office gateway, serving; or `shared`'s, with the kiosk registered as a second one there."""
    if shared is None:
        gateway = Office(data_dir / "gateway.db", seed, per_status=per_status, today=today)
        return gateway, gateway.start(), None
    gateway, kiosk_id = shared
    gateway.add_kiosk(kiosk_id, KIOSK_OFFICE, f"key-{kiosk_id}")
    return gateway, gateway.url, (kiosk_id, f"key-{kiosk_id}")


def build_world(
    data_dir: Path,
    seed: int = 1,
    *,
    per_status: int = 2,
    shared: tuple[Office, str] | None = None,
    clock: Callable[[], float] = time.time,
    photos: Mapping[str, bytes] | None = None,
    **kiosk: Any,
) -> World[Office]:
    """Start the office's gateway and wire a kiosk to it (`wire`); the vault is loaded from the manifest.
    With `shared` (a running gateway of another world, a kiosk ID) the kiosk is a second one of the same
    office at that gateway (the gateway stays the first world's to close). `photos` (card ID -> recording
    photo) are set at the gateway before the vault is loaded: each card's template is computed from its
    manifest photo, as at a real loading."""
    data_dir.mkdir(parents=True, exist_ok=True)
    gateway, url, kiosk_key = _gateway_for(data_dir, seed, per_status, dt.date.fromtimestamp(clock()), shared)
    for card_id, photo in (photos or {}).items():
        gateway.set_photo(card_id, photo)
    return wire(data_dir, gateway, url, kiosk_key, owns_gateway=shared is None, clock=clock, **kiosk)


def remote_world(data_dir: Path, remote: RemoteOffice, **kiosk: Any) -> World[RemoteOffice]:
    """A kiosk wired to a gateway serving in another process (a benchmark's parent), which registered this
    kiosk's journal key (made at `data_dir`/journal.key) before."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return wire(data_dir, remote, remote.url, None, owns_gateway=False, **kiosk)


def wire(
    data_dir: Path,
    gateway: G,
    url: str,
    kiosk_key: tuple[str, str] | None,
    *,
    owns_gateway: bool,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    executor: Executor | None = None,
    auto_take: bool = False,
    vault_slots: int = 24,
    face_wait_s: float = 0.0,
    flow: FlowConfig | None = None,
    language: str = "id",
    reader: CardReader | None = None,
    camera: SimCamera | None = None,
    face: LiveFaceVerifier | None = None,
) -> World[G]:
    """A kiosk of the demo office on `gateway` at `url` (as its first kiosk, or as `kiosk_key`'s): its store,
    simulated parts and runner, the vault loaded from the manifest. `clock` is the flow's and the sync
    worker's, `sleep` the gateway client's backoff: a simulation passes its own, so no retry waits for real.
    `face` is the real face check instead of the scene-reading stand-in, with `camera` (a SimCamera, or one
    that plays frames)."""
    cfg = demo_config(gateway, url, data_dir, vault_slots, flow, language, kiosk_key)
    # the journal key provisioning would make, its public half registered as enrolment would
    gateway.register_journal_key(cfg.kiosk_id, HeadSigner.make_key_file(cfg.journal_key_path))
    store = Store(cfg.db_path, clock=clock)
    client = GatewayClient(url, cfg.kiosk_id, cfg.api_key, timeout_s=cfg.gateway_timeout_s, sleep=sleep)
    camera = camera or SimCamera()
    health: Health = getattr(reader, "health", None) or Health()  # one health model, whoever reads cards
    sim_reader = SimCardReader(health)
    card_reader: CardReader = reader or sim_reader
    binder = None
    if reader is not None:  # a real reader: real cards are learned as the selected resident's
        if not isinstance(gateway, Office):
            raise ValueError("a real card reader needs the gateway in this process (it binds cards there)")
        binder = RealCardBinder(gateway, store, cfg)
        reader.subscribe(binder)  # before the kiosk, so a card is bound before it is looked up
    vault = SimVault(vault_slots, auto=auto_take)
    if sleep is not time.sleep:  # a simulation's clock: the vault's deadlines pass on it too
        vault.monotonic, vault.pause = clock, sleep
    for card in store.inventory():  # the simulated vault still holds what the store says it holds
        vault.put(card.slot)
    printer, indicators = SimPrinter(), SimIndicators()
    check, enrol = _face_check(gateway, camera, face, face_wait_s)
    nik_reader, speaker = SceneNikReader(camera), RecordingSpeaker()
    parts = Parts(camera, card_reader, vault, printer, indicators, check, nik_reader, enrol, speaker=speaker)
    kiosk = Kiosk(cfg, store, client, parts, clock=clock, executor=executor, health=health)
    card_reader.start()
    load_vault_from_manifest(kiosk, vault, client.manifest())
    sync = SyncWorker(store, client, health=health, clock=clock, wall=clock)
    kiosk.attach_sync(sync)
    kiosk.upkeep.refresh_leases()  # offline booking places from the start
    parts_ = (camera, sim_reader, vault, printer, indicators, sync, card_reader, binder)
    return World(cfg, gateway, client, store, kiosk, *parts_, owns_gateway=owns_gateway)


def _face_check(
    gateway: OfficeView, camera: SimCamera, face: LiveFaceVerifier | None, wait_s: float
) -> tuple[FaceVerifier, Enrol | None]:
    """The face check and the template enrolment: the real ones (the cards' photos set at the gateway), or
    the stand-in that reads who the simulated scene shows (no templates)."""
    if face is None:
        return SceneFaceVerifier(camera, {r.card_id: r.person for r in gateway.residents if r.card_id}, wait_s), None
    return face, face.enrol


class RealCardBinder:
    """For the demo on a real reader: an unknown card becomes the selected resident's old KTP, and the
    chip of their new card in the vault, so one physical card can walk a whole pickup."""

    def __init__(self, gateway: Office, store: Store, cfg: KioskConfig) -> None:
        self.gateway, self.store, self.cfg = gateway, store, cfg
        self.selected: Resident | None = None

    def __call__(self, event: CardEvent) -> None:
        r = self.selected
        if not isinstance(event, CardPresented) or r is None:
            return
        if self.cfg.operator_for(event.uid) or self.gateway.known_chip(event.uid):
            return
        self.gateway.bind_old_chip(r.nik, event.uid)
        rebind_old_chip(self.store, r.nik, event.uid)
        card = self.store.card_for_nik(r.nik)
        if card is not None:
            rebind_chip(self.store, card.card_id, event.uid)


def load_vault_from_manifest(kiosk: Kiosk, vault: SimVault, cards: list[ManifestCard]) -> int:
    """Put this kiosk's manifest cards into free slots of the simulated vault: the demo's stand-in for an
    operator loading cards (which the real kiosk does card by card in operator mode)."""
    inventory = kiosk.store.inventory()
    held = {c.card_id for c in inventory}
    taken = {c.slot for c in inventory}
    free = [n for n in range(1, vault.slot_count + 1) if n not in taken]
    loaded = 0
    for card in cards:
        if card.card_id in held or not free:
            continue
        slot = free.pop(0)
        kiosk.store.load_card(
            slot, card.card_id, card.nik, card.chip_uid, old_chip_uid=card.old_chip_uid, valid_until=card.valid_until
        )
        kiosk.vault.enrol(card)
        vault.put(slot)
        loaded += 1
    return loaded

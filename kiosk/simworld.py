"""A whole simulated kiosk: gateway simulator on loopback, simulated hardware, a real store and the
real core. Used by `kiosk demo`, `kiosk simulate` and the tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import HardwareConfig, KioskConfig
from kiosk.core import KioskCore, Parts
from kiosk.flow.machine import FlowConfig
from kiosk.gateway.client import GatewayClient
from kiosk.gateway.seed import KIOSK_OFFICE, Resident
from kiosk.gateway.simulator import GatewaySimulator
from kiosk.hardware.camera import SimCamera
from kiosk.hardware.indicators import SimIndicators
from kiosk.hardware.printer import SimPrinter
from kiosk.hardware.reader import SimCardReader
from kiosk.hardware.vault import SimVault
from kiosk.identity.face import SceneFaceVerifier
from kiosk.identity.printed_nik import SceneNikReader
from kiosk.store import Store
from kiosk.sync.worker import SyncWorker


@dataclass
class World:
    """Everything of one simulated kiosk, with handles on each simulator."""

    cfg: KioskConfig
    gateway: GatewaySimulator
    client: GatewayClient
    store: Store
    core: KioskCore
    camera: SimCamera
    reader: SimCardReader
    vault: SimVault
    printer: SimPrinter
    indicators: SimIndicators
    sync: SyncWorker

    def resident(self, index: int) -> Resident:
        return self.gateway.resident(index)

    def residents(self, status: str) -> list[Resident]:
        return [r for r in self.gateway.residents if r.status == status]

    def close(self) -> None:
        self.sync.stop()
        self.core.close()
        self.reader.stop()
        self.client.close()
        self.store.close()
        self.gateway.close()


def build_world(
    data_dir: Path,
    seed: int = 1,
    *,
    clock: Callable[[], float] = time.time,
    executor: Executor | None = None,
    auto_take: bool = False,
    per_status: int = 2,
    vault_slots: int = 24,
    face_wait_s: float = 0.0,
    flow: FlowConfig | None = None,
    language: str = "id",
) -> World:
    """Start a gateway simulator and wire a kiosk to it; the vault is loaded from the manifest."""
    data_dir.mkdir(parents=True, exist_ok=True)
    today = dt.date.fromtimestamp(clock())
    gateway = GatewaySimulator(data_dir / "gateway-sim.db", seed, per_status=per_status, today=today)
    url = gateway.start()
    hardware = HardwareConfig(vault_slots=vault_slots)
    cfg = KioskConfig(
        kiosk_id=gateway.kiosk_id,
        office=KIOSK_OFFICE,
        data_dir=data_dir,
        gateway_url=url,
        api_key=gateway.api_key,
        ticket_keys={gateway.ticket_key_id: gateway.ticket_public_key_hex},
        language=language,
        fullscreen=False,
        hardware=hardware,
        flow=flow or FlowConfig(release_timeout_s=hardware.release_timeout_s + 15),
    )
    store = Store(cfg.db_path, clock=clock)
    client = GatewayClient(url, cfg.kiosk_id, cfg.api_key, timeout_s=cfg.gateway_timeout_s)
    camera = SimCamera()
    reader = SimCardReader()
    vault = SimVault(vault_slots, auto_take=auto_take)
    enrolled = {r.card_id: r.person for r in gateway.residents if r.card_id}
    printer, indicators = SimPrinter(), SimIndicators()
    face = SceneFaceVerifier(camera, enrolled, face_wait_s)
    parts = Parts(camera, reader, vault, printer, indicators, face, SceneNikReader(camera))
    core = KioskCore(cfg, store, client, parts, clock=clock, executor=executor)
    reader.start()
    core.load_vault_from_manifest()
    return World(
        cfg, gateway, client, store, core, camera, reader, vault, printer, indicators, SyncWorker(store, client)
    )

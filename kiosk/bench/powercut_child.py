"""One life of the kiosk under `kiosk bench powercut`: start on the persistent data folder, reconcile as the
real kiosk does, then walk a random mix of visits until killed (or, for the last life, drain and exit).

The kiosk is the real one (store, flow, runner, vault desk, sync worker, gateway client over HTTP) with
simulated parts, some of them instrumented (kiosk.bench.powercut_parts); the vault is a `PowercutVault`
whose state is a file outside this process, and the gateway runs in the parent, so both outlive a kill.
Visits: pickups (ticket, card, face, release, tap of the new card; sometimes the resident walks off before
tapping or without taking the card), bookings, status questions, operator loading (staff card, PIN, cards
from the tray into free slots) and walk-aways. The simulated clock goes on from the world file's, so time
never runs backwards across lives.

The parent starts each life from a fork server that imported all this once (`kiosk.bench.powercut`), so
a life starts in milliseconds instead of the 1.3 s of imports of a fresh interpreter. `python -m
kiosk.bench.powercut_child` runs one life by hand, on a gateway already serving (for a technician).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bench.powercut_parts import (
    Crossings,
    Holders,
    PowercutClient,
    PowercutStore,
    SceneCamera,
    SceneQr,
    desk_point,
)
from kiosk.bench.powercut_vault import PowercutVault
from kiosk.config import HardwareConfig, KioskConfig
from kiosk.config.screen import DisplayConfig
from kiosk.flow import events as ev
from kiosk.flow.machine import FlowConfig
from kiosk.flow.model import Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.hardware.indicators import SimIndicators
from kiosk.hardware.printer import SimPrinter
from kiosk.hardware.reader import SimCardReader
from kiosk.health import Health
from kiosk.identity.operator import Operator
from kiosk.identity.ticket import Service
from kiosk.runner import Kiosk, Parts
from kiosk.runner.effects import InlineExecutor
from kiosk.runner.vaultdesk import Reconciled, VaultDesk
from kiosk.sim.journeys import SimClock
from kiosk.sim.office import KIOSK_OFFICE, Resident, print_ticket, town
from kiosk.sim.scenes import SceneFaceVerifier, SceneNikReader
from kiosk.sync.worker import SyncWorker

log = logging.getLogger(__name__)

OPERATOR_UID = "04DE0000000001"
OPERATOR_PIN = "2468"
WORLD_FILE = "vault-world.json"
BROKEN = ("skip_reconcile", "ticket_split")  # deliberately broken kiosks, to show the harness can fail
VISITS = {"pickup": 34, "booking": 18, "status": 12, "loading": 14, "walk_away": 6}  # visit -> weight


@dataclass(frozen=True)
class ChildSpec:
    """What one life needs: where the data is, the gateway, the town's seed, and how it should behave."""

    data_dir: Path
    gateway_url: str
    kiosk_id: str
    api_key: str
    ticket_key_id: int
    ticket_key_hex: str
    ticket_signing_hex: str  # the queue key's private half: this life prints the residents' tickets
    operator_pin_hash: str  # the staff card's PIN hash (made once by the parent: scrypt is slow)
    seed: int = 1
    life: int = 0  # this life's number: its visits' seed
    per_status: int = 2
    vault_slots: int = 8
    focus: str = ""  # a visit (of VISITS) to walk more often, so that the phase the parent waits for comes soon
    final: bool = False  # the last life: reconcile, deliver the outbox and exit
    broken: str = ""  # one of BROKEN: a kiosk with a fault put in on purpose


def kiosk_config(spec: ChildSpec) -> KioskConfig:
    """The simulated kiosk of the demo office, with short vault timeouts (a resident who does not take the
    card costs real seconds) and the demo's staff card."""
    hardware = HardwareConfig(vault_slots=spec.vault_slots, release_timeout_s=0.05, load_timeout_s=0.05)
    return KioskConfig(
        kiosk_id=spec.kiosk_id,
        office=KIOSK_OFFICE,
        data_dir=spec.data_dir,
        gateway_url=spec.gateway_url,
        api_key=spec.api_key,
        ticket_keys={spec.ticket_key_id: spec.ticket_key_hex},
        display=DisplayConfig(fullscreen=False),
        hardware=hardware,
        flow=FlowConfig(),
        operators=(Operator("Petugas Bench", OPERATOR_UID, spec.operator_pin_hash),),
    )


class Life:
    """One run of the kiosk process, from power-up to its kill (or, for the last, to a clean exit)."""

    def __init__(self, spec: ChildSpec, cross: Crossings) -> None:
        self.spec, self.cross = spec, cross
        self.rng = random.Random(f"{spec.seed}:{spec.life}")
        self.residents = town(spec.seed, spec.per_status)
        self.by_status: dict[str, list[Resident]] = {}
        for r in self.residents:
            self.by_status.setdefault(r.status, []).append(r)
        self.queue_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(spec.ticket_signing_hex))
        cfg = kiosk_config(spec)
        cross("start.begin")
        self.vault = PowercutVault(spec.data_dir / WORLD_FILE, spec.vault_slots, on_change=cross)
        self.clock = SimClock(max(time.time(), self.vault.state.now))
        self.store = PowercutStore(cfg.db_path, self.clock, cross, spec.broken)
        cross("start.store_open")
        self.client = PowercutClient(spec.gateway_url, spec.kiosk_id, spec.api_key, timeout_s=2.0, retries=0)
        self.client.cross = cross
        health = Health()
        self.camera, self.reader = SceneCamera(), SimCardReader(health)
        face = SceneFaceVerifier(self.camera, Holders(self.vault, self.residents))
        parts = Parts(
            self.camera, self.reader, self.vault, SimPrinter(), SimIndicators(), face, SceneNikReader(self.camera)
        )
        if spec.broken == "skip_reconcile":
            setattr(VaultDesk, "reconcile", lambda desk: [])  # noqa: B010 (this process only: a broken kiosk)
        cross("start.reconcile")
        self.kiosk = Kiosk(
            cfg, self.store, self.client, parts, clock=self.clock, executor=InlineExecutor(), health=health
        )
        self.reconciled: list[Reconciled] = self.kiosk.reconciled
        self.kiosk.intake.qr = SceneQr(self.camera)
        self.kiosk.vault.checkpoint = lambda name: cross(desk_point(name))
        self.reader.start()
        self.sync = SyncWorker(self.store, self.client, health=health)
        self.kiosk.attach_sync(self.sync)
        cross.context = "serving"
        cross("start.ready")

    # -- a person at the kiosk ------------------------------------------------------------------

    def wait(self, seconds: float = 2.0) -> None:
        self.clock.advance(seconds)
        self.kiosk.tick()

    def act(self, fn: Callable[[], object], seconds: float = 3.0) -> None:
        fn()
        self.kiosk.pump()
        self.wait(seconds)

    def press(self, action: str, value: str = "") -> None:
        self.act(lambda: self.kiosk.post(ev.Press(action, value)))

    @property
    def step(self) -> Step:
        return self.kiosk.session.step

    def show_ticket(self, r: Resident, service: Service) -> None:
        ticket = print_ticket(self.queue_key, self.spec.ticket_key_id, r, service, now=self.clock())
        self.camera.show(HeldTicket(ticket))
        self.act(self.kiosk.scan_frame, 4)
        self.camera.show(Nothing())

    def present_card(self, r: Resident) -> None:
        if r.old_chip_uid:
            self.act(lambda: self.reader.insert(r.old_chip_uid or ""))
            self.act(self.reader.remove, 1)
        else:
            self.press(ev.TYPE_NIK)
        if self.step in (Step.NIK_ENTRY, Step.CARD):  # no chip, or it could not be checked: typed, as asked
            self.act(lambda: self.kiosk.post(ev.NikRead(r.nik, "typed")), 20)

    def finish(self) -> None:
        if self.step in (Step.HANDED_OVER, Step.BOOKED, Step.STATUS) and self.rng.random() < 0.3:
            self.press(ev.PRINT)
        self.press(ev.FINISH)

    def walk_away(self) -> None:
        self.camera.show(Nothing())
        for _ in range(200):
            if self.step == Step.IDLE:
                return
            self.wait(5)

    # -- visits ---------------------------------------------------------------------------------

    def pickup(self) -> None:
        seated = self.vault.state.seated()
        if not seated:  # nothing to collect: staff fills the vault first
            return self.loading()
        _slot, card = self.rng.choice(seated)
        r = self.residents[card.holder - 1]
        self.vault.resident_takes = self.rng.random() >= 0.05  # now and then the card is left in the gate
        self.vault.taken = None
        self.show_ticket(r, Service.PICKUP)
        self.camera.show(Face(r.person))
        self.present_card(r)
        taken = self.vault.taken
        if self.step == Step.TAP_NEW and taken is not None and self.rng.random() < 0.9:  # else: off without a tap
            self.act(lambda: self.reader.insert(taken.chip_uid))
            self.act(self.reader.remove, 1)
            self.finish()

    def booking(self) -> None:
        r = self.rng.choice(self.by_status["never_recorded"])
        self.show_ticket(r, Service.RECORDING)
        self.present_card(r)
        s = self.kiosk.session
        for office in s.offices[:2] if s.step == Step.CHOOSE_OFFICE else ():
            self.press(ev.CHOOSE_OFFICE, office.office_id)
            if self.step != Step.CHOOSE_OFFICE:
                break
        if self.step == Step.CHOOSE_DAY:
            self.press(ev.CHOOSE_DAY, self.rng.choice(self.kiosk.session.days))
        if self.step == Step.CHOOSE_TIME:
            self.press(ev.CHOOSE_TIME, self.rng.choice(self.kiosk.session.times).time)
        if self.step == Step.CONFIRM_BOOKING:
            self.press(ev.CONFIRM)
        self.finish()

    def status(self) -> None:
        status = self.rng.choice(["verification", "printing", "waiting_blanko", "ready_elsewhere"])
        r = self.rng.choice(self.by_status[status])
        self.show_ticket(r, Service.STATUS)
        self.present_card(r)
        self.finish()

    def loading(self) -> None:
        """Staff card, PIN, then one to three cards from the tray tapped and put into the slot that opens."""
        if self.vault.state.hand is None and not self.vault.state.tray:
            return self.status()
        self.act(lambda: self.reader.insert(OPERATOR_UID))
        self.act(self.reader.remove, 1)
        if self.step == Step.OPERATOR_PIN:
            self.act(lambda: self.kiosk.post(ev.PinEntered(OPERATOR_PIN)))
        if self.step != Step.OPERATOR:
            return
        self.press(ev.LOAD)
        for _ in range(self.rng.randint(1, 3)):
            card = self.vault.pick_up()
            if card is None:
                break
            self.cross("loading.tap")
            self.act(lambda: self.reader.insert(card.chip_uid))  # noqa: B023 (called at once)
            self.act(self.reader.remove, 1)
            if self.vault.state.hand is not None:  # not taken in (no card list now, the vault is full, ...)
                self.vault.put_down()
                break
        self.press(ev.FINISH)

    def walk_away_visit(self) -> None:
        self.show_ticket(self.rng.choice(self.residents), Service.STATUS)
        self.walk_away()

    def serve(self) -> None:
        """Visits, one after another, until the parent kills this process."""
        visits: dict[str, Callable[[], None]] = {
            "pickup": self.pickup,
            "booking": self.booking,
            "status": self.status,
            "loading": self.loading,
            "walk_away": self.walk_away_visit,
        }
        weights = {k: w * (5 if k == self.spec.focus else 1) for k, w in VISITS.items()}
        while True:
            self.drain()
            self.vault.tick(self.clock())
            kind = self.rng.choices(list(weights), weights=list(weights.values()))[0]
            self.cross("visit." + kind)
            visits[kind]()
            if self.step != Step.IDLE:  # a script that stopped early: the kiosk times out
                self.walk_away()

    def drain(self) -> None:
        """Deliver the outbox (the sync worker's loop, run here between visits)."""
        self.cross("sync.drain")
        self.sync.drain_once()

    def close(self) -> None:
        """The last life's clean exit: deliver what is pending, then shut down in order."""
        for _ in range(10):
            self.drain()
            if self.store.pending_count() == 0:
                break
        self.vault.tick(self.clock())
        self.kiosk.close()
        self.reader.stop()
        self.client.close()
        self.store.close()


def run_life(spec: ChildSpec, conn: Connection | None) -> None:
    """A child process's body: start, reconcile, then serve until killed (or, the last, exit)."""
    handler = logging.FileHandler(spec.data_dir / "kiosk.log")
    handler.setFormatter(logging.Formatter(f"%(asctime)s life {spec.life} %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    cross = Crossings(conn)
    try:
        life = Life(spec, cross)
        if spec.final:
            life.close()
            cross("exit.clean")
            return
        life.serve()
    except Exception:
        log.exception("life %d failed", spec.life)
        raise


def main(argv: list[str] | None = None) -> int:
    """`python -m kiosk.bench.powercut_child DIR --gateway URL ...`: one life by hand, on a gateway already
    serving (`loket-gateway seed --demo` with this seed); it serves until stopped (Ctrl+C) or, with --final,
    reconciles, delivers and exits."""
    from kiosk.identity.operator import hash_pin
    from kiosk.sim.office import demo_ticket_key

    p = argparse.ArgumentParser(prog="python -m kiosk.bench.powercut_child", description=main.__doc__)
    p.add_argument("dir", type=Path, help="the run's data folder (kiosk.db, vault-world.json)")
    p.add_argument("--gateway", required=True, help="the gateway's base URL")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--life", type=int, default=0)
    p.add_argument("--final", action="store_true")
    args = p.parse_args(argv)
    queue_key = demo_ticket_key(args.seed)
    spec = ChildSpec(
        args.dir,
        args.gateway,
        "KIOSK-01",  # the demo gateway's first kiosk and its key (loket-gateway seed --demo)
        "demo-key",
        1,
        queue_key.public_key().public_bytes_raw().hex(),
        queue_key.private_bytes_raw().hex(),
        hash_pin(OPERATOR_PIN, n=2**12),
        seed=args.seed,
        life=args.life,
        final=args.final,
    )
    run_life(spec, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

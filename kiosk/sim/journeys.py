"""`kiosk simulate`: scripted journeys of mixed kinds through the real flow, store, the real gateway
(over HTTP on loopback, kiosk.sim.office) and hardware simulators, on an accelerated clock, without a window."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.identity.ticket import Service
from kiosk.runner.effects import InlineExecutor
from kiosk.sim.office import Resident
from kiosk.sim.world import World, build_world

DAY_S = 24 * 3600
# journey kind -> weight
KINDS = {
    "pickup": 24,
    "booking": 16,
    "status": 16,
    "forged_ticket": 4,
    "expired_ticket": 4,
    "used_ticket": 4,
    "foreign_ticket": 4,
    "nik_mismatch": 4,
    "unreadable_card": 4,
    "walk_away": 5,
    "cancel": 5,
    "face_mismatch": 5,
    "help": 5,
}


class SimClock:
    """An accelerated clock: simulated seconds pass only when told."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Visitor:
    """A scripted resident at the kiosk."""

    def __init__(self, world: World, clock: SimClock, rng: random.Random) -> None:
        self.w, self.clock, self.rng = world, clock, rng
        self.last_ticket = ""

    def wait(self, seconds: float = 2.0) -> None:
        self.clock.advance(seconds)
        self.w.kiosk.tick()

    def act(self, fn: Callable[[], object], seconds: float = 3.0) -> None:
        fn()
        self.w.kiosk.pump()
        self.wait(seconds)

    def press(self, action: str, value: str = "") -> None:
        self.act(lambda: self.w.kiosk.post(ev.Press(action, value)))

    def show_ticket(self, text: str) -> None:
        self.last_ticket = text
        self.w.camera.show(HeldTicket(text))
        self.act(self.w.kiosk.scan_frame, 4)
        self.w.camera.show(Nothing())

    def ticket(self, r: Resident, service: Service, **kw: Any) -> str:
        return self.w.gateway.issue_ticket(r, service, now=self.clock(), **kw)

    def present_card(self, r: Resident) -> None:
        if r.old_chip_uid:
            self.act(lambda: self.w.reader.insert(r.old_chip_uid or ""))
            self.act(self.w.reader.remove, 1)
            if self.w.kiosk.session.step == Step.NIK_ENTRY:  # the chip could not be checked: type it, as asked
                self.act(lambda: self.w.kiosk.post(ev.NikRead(r.nik, "typed")), 20)
        else:
            self.press(ev.TYPE_NIK)
            self.act(lambda: self.w.kiosk.post(ev.NikRead(r.nik, "typed")), 20)

    def finish(self) -> None:
        if self.w.kiosk.session.step in (Step.HANDED_OVER, Step.BOOKED, Step.STATUS) and self.rng.random() < 0.5:
            self.press(ev.PRINT)
        self.press(ev.FINISH)
        self.w.camera.show(Nothing())

    def walk_away(self) -> None:
        self.w.camera.show(Nothing())
        for _ in range(100):
            if self.w.kiosk.session.step == Step.IDLE:
                return
            self.wait(5)

    # -- journeys ---------------------------------------------------------------------------

    def pickup(self, r: Resident) -> None:
        self.show_ticket(self.ticket(r, Service.PICKUP))
        self.w.camera.show(Face(r.person))
        self.present_card(r)
        if self.w.kiosk.session.step == Step.TAP_NEW:
            self.act(lambda: self.w.reader.insert(r.new_chip_uid or ""))
            self.act(self.w.reader.remove, 1)
        self.finish()

    def booking(self, r: Resident) -> None:
        self.show_ticket(self.ticket(r, Service.RECORDING))
        self.present_card(r)
        s = self.w.kiosk.session
        if s.step == Step.CHOOSE_OFFICE and s.offices:
            self.press(ev.CHOOSE_OFFICE, s.offices[0].office_id)
        s = self.w.kiosk.session
        if s.step == Step.CHOOSE_OFFICE and len(s.offices) > 1:  # no free days there: next office
            self.press(ev.CHOOSE_OFFICE, s.offices[1].office_id)
        if self.w.kiosk.session.step == Step.CHOOSE_DAY:
            self.press(ev.CHOOSE_DAY, self.rng.choice(self.w.kiosk.session.days))
        if self.w.kiosk.session.step == Step.CHOOSE_TIME:
            self.press(ev.CHOOSE_TIME, self.rng.choice(self.w.kiosk.session.times).time)
        if self.w.kiosk.session.step == Step.CONFIRM_BOOKING:
            self.press(ev.CONFIRM)
        self.finish()

    def status(self, r: Resident) -> None:
        self.show_ticket(self.ticket(r, Service.STATUS))
        self.present_card(r)
        self.finish()


def parse_duration(text: str) -> float:
    """'8h', '90m', '45s' or plain seconds -> seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    text = text.strip().lower()
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def simulated_world(base: Path, seed: int, per_status: int) -> tuple[World, SimClock]:
    """The kiosk of `kiosk simulate` and `kiosk bench soak`: effects inline, cards taken at once, a vault of
    60, and one SimClock from midnight UTC today for the flow, the sync worker, retries and the vault."""
    clock = SimClock(time.time() // DAY_S * DAY_S)
    world = build_world(
        base,
        seed,
        clock=clock,
        sleep=clock.advance,
        executor=InlineExecutor(),
        auto_take=True,
        per_status=per_status,
        vault_slots=60,
    )
    return world, clock


def run_simulation(journeys: int, seed: int, data_dir: Path | None = None, link_down_s: float = 0.0) -> dict[str, Any]:
    """Run `journeys` scripted visits spread over one simulated day; returns the summary. With
    `link_down_s`, the gateway is unreachable for that long in the middle of the day."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kiosk-sim-") as tmp:
        base = data_dir or Path(tmp)
        world, clock = simulated_world(base, seed, per_status=6)
        start = clock()
        v = Visitor(world, clock, rng)
        kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=journeys)
        by_status = {
            s: world.residents(s)
            for s in ("ready_here", "never_recorded", "verification", "printing", "waiting_blanko", "ready_elsewhere")
        }
        everyone = world.gateway.residents
        cpu0 = time.process_time()
        down_from, down_until = start + (DAY_S - link_down_s) / 2, start + (DAY_S + link_down_s) / 2
        try:
            for i, kind in enumerate(kinds):
                clock.now = max(clock.now, start + DAY_S * i / max(journeys, 1))
                world.gateway.faults.down = down_from <= clock.now < down_until
                # each journey draws from its own generator: what the kiosk offers (e.g. leased slots while
                # offline) changes the choices inside a journey, never who comes next
                v.rng = journey_rng = random.Random(f"{seed}:{i}")
                walk_journey(v, kind, journey_rng, by_status, everyone)
                if world.kiosk.session.step != Step.IDLE:  # a script that stopped early: let the kiosk time out
                    v.walk_away()
                world.sync.tick()
            cpu = time.process_time() - cpu0
            world.gateway.faults.down = False  # the link is back by the end of the day
            world.sync.drain_once()
            counts = world.gateway.event_counts()
            received = world.gateway.event_ids()
            return {
                "journeys": journeys,
                "outcomes": dict(sorted(world.kiosk.counters.outcomes.items())),
                "refusals": dict(sorted(world.kiosk.counters.refusals.items())),
                "errors": world.kiosk.counters.errors + len(world.store.verify_journal()),
                "handovers_at_gateway": counts.get("handover", 0),
                "outbox_pending": world.store.pending_count(),
                "link_down_hours": round(link_down_s / 3600, 2),
                "events_lost": len(world.store.outbox_ids() - received),  # queued at the kiosk, never received
                "events_duplicated": world.gateway.events_redelivered(),  # received again (applied once)
                "conflicts": len(world.gateway.conflicts()),
                "cpu_seconds_per_journey": round(cpu / max(journeys, 1), 4),
            }
        finally:
            world.close()


def walk_journey(
    v: Visitor, kind: str, rng: random.Random, by_status: dict[str, list[Resident]], everyone: list[Resident]
) -> None:
    """One scripted visit of `kind` (a key of KINDS), its resident drawn with `rng` from `by_status`."""
    if kind == "pickup":
        v.pickup(rng.choice(by_status["ready_here"]))
    elif kind == "booking":
        v.booking(rng.choice(by_status["never_recorded"]))
    elif kind == "status":
        v.status(rng.choice(by_status[rng.choice(["verification", "printing", "waiting_blanko", "ready_elsewhere"])]))
    elif kind == "forged_ticket":
        r = rng.choice(everyone)
        v.show_ticket(v.ticket(r, Service.STATUS, key=Ed25519PrivateKey.generate()))
        v.finish()
    elif kind == "expired_ticket":
        r = rng.choice(everyone)
        v.show_ticket(v.w.gateway.issue_ticket(r, Service.STATUS, now=v.clock() - 6 * 3600, valid_s=3600))
        v.finish()
    elif kind == "used_ticket":
        if v.last_ticket:
            v.show_ticket(v.last_ticket)
            v.finish()
    elif kind == "foreign_ticket":
        v.show_ticket(v.ticket(rng.choice(everyone), Service.STATUS, office="KEC-01"))
        v.finish()
    elif kind == "nik_mismatch":
        owner, other = rng.sample([r for r in everyone if r.old_chip_uid], 2)
        v.show_ticket(v.ticket(owner, Service.PICKUP))
        v.present_card(other)
        v.finish()
    elif kind == "unreadable_card":
        v.show_ticket(v.ticket(rng.choice(everyone), Service.STATUS))
        v.act(lambda: v.w.reader.insert_unreadable())
        v.press(ev.CANCEL)
    elif kind == "walk_away":
        v.show_ticket(v.ticket(rng.choice(everyone), Service.STATUS))
        v.walk_away()
    elif kind == "cancel":
        v.show_ticket(v.ticket(rng.choice(everyone), Service.STATUS))
        v.press(ev.CANCEL)
    elif kind == "face_mismatch":
        r = rng.choice(by_status["ready_here"])
        v.show_ticket(v.ticket(r, Service.PICKUP))
        v.w.camera.show(Face(r.person, photo=True))
        v.present_card(r)
        while v.w.kiosk.session.step == Step.FACE:
            v.press(ev.RETRY_FACE)
        v.finish()
    elif kind == "help":
        v.show_ticket(v.ticket(rng.choice(everyone), Service.STATUS))
        v.press(ev.HELP)
        v.press(ev.CANCEL)

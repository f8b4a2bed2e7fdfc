"""Two kiosks of one office against one gateway over HTTP (the simulator on loopback). Online, a ticket
used at one is refused at the other before anything is looked up; offline, each kiosk's own single use
holds, and the reuse reaches the gateway as a conflict that the second kiosk journals and counts (the
fleet's alert fires on that count: tests/test_alerts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Step
from kiosk.hardware.camera import HeldTicket, Nothing
from kiosk.identity.ticket import Service
from kiosk.ops.metrics import OpsServer
from kiosk.runner.effects import InlineExecutor
from kiosk.sim.journeys import SimClock
from kiosk.sim.world import World, build_world


@pytest.fixture
def second(tmp_path: Path, world: World, clock: SimClock) -> Iterator[World]:
    """Another kiosk of the same office, at `world`'s gateway."""
    w = build_world(
        tmp_path / "kiosk-2", seed=3, clock=clock, executor=InlineExecutor(), auto_take=True,
        shared=(world.gateway, "KIOSK-02"),
    )  # fmt: skip
    yield w
    w.close()


def scan(w: World, text: str) -> Step:
    w.camera.show(HeldTicket(text))
    w.kiosk.scan_frame()
    step = w.kiosk.pump().step
    w.camera.show(Nothing())
    return step


def leave(w: World, clock: SimClock) -> None:
    w.kiosk.dispatch(ev.Press(ev.CANCEL) if w.kiosk.session.step != Step.REFUSED else ev.Press(ev.FINISH))
    clock.advance(60)
    assert w.kiosk.pump().step == Step.IDLE


def journal(w: World, kind: str) -> list[dict]:
    return [data for _, _, k, data in w.store.journal_rows() if k == kind]


def test_online_a_ticket_used_at_one_kiosk_is_refused_at_the_other(world, second, clock):
    r = world.residents("ready_here")[0]
    text = world.gateway.issue_ticket(r, Service.PICKUP, now=clock())
    assert scan(world, text) == Step.CARD
    assert journal(world, "ticket_accepted")[-1]["claim"] == "claimed"
    leave(world, clock)
    assert scan(second, text) == Step.REFUSED
    assert second.kiosk.session.reason == Reason.TICKET_USED_ELSEWHERE
    assert journal(second, "refused")[-1]["reason"] == "ticket_used_elsewhere"
    assert not journal(second, "ticket_accepted")
    assert second.kiosk.counters.refusals == {"ticket_used_elsewhere": 1}


def test_offline_the_reuse_is_a_journaled_conflict_once_the_events_arrive(world, second, clock):
    r = world.residents("ready_here")[0]
    text = world.gateway.issue_ticket(r, Service.PICKUP, now=clock())
    world.gateway.faults.down = True
    for w in (world, second):
        w.kiosk.gateway.timeout = (0.2, 0.2)
        assert scan(w, text) == Step.CARD  # no answer: each kiosk's own single use decides
        assert journal(w, "ticket_accepted")[-1]["claim"] == "offline"
        leave(w, clock)
        w.sync.drain_once()
    assert (
        scan(world, text) == Step.REFUSED and world.kiosk.session.reason == Reason.TICKET_USED
    )  # still single use here
    leave(world, clock)
    world.gateway.faults.down = False
    world.sync.drain_once()
    assert not journal(world, "gateway_conflict")  # the first to arrive is the ticket's use
    second.sync.drain_once()
    assert second.store.pending_count() == 0
    (conflict,) = journal(second, "gateway_conflict")
    assert conflict["kind"] == "ticket_used_twice" and world.cfg.kiosk_id in conflict["detail"]
    assert ("ticket_used_twice", f"ticket {conflict['detail'].split()[1]} also used at {world.cfg.kiosk_id}") in (
        world.gateway.conflicts()
    )
    scraped = generate_latest(OpsServer(second.kiosk).registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(scraped)}
    counts = {
        s.labels["kind"]: s.value for s in families["kiosk_gateway_conflicts"].samples if s.name.endswith("_total")
    }
    assert counts == {"ticket_used_twice": 1, "booking_beyond_lease": 0}

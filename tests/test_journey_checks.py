"""Journeys through the wired kiosk (simulated hardware, the real store, the real gateway over
loopback HTTP) for checks that unit tests alone used to catch: the NIK match, the ticket's office, and the
outbox's handling of events the gateway already has."""

from __future__ import annotations

import pytest

from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Step
from kiosk.hardware.camera import Face
from kiosk.identity.ticket import Service
from tests.test_core import scan


def _journal_kinds(world) -> list[str]:
    return [row[2] for row in world.store.journal_rows()]


@pytest.mark.parametrize("how", ["typed", "chip"])
def test_another_residents_nik_is_refused_and_nothing_leaves_the_vault(world, clock, how):
    owner, other = [r for r in world.residents("ready_here") if r.old_chip_uid][:2]
    assert owner.nik != other.nik
    assert scan(world, world.gateway.issue_ticket(owner, Service.PICKUP, now=clock())).step == Step.CARD
    world.camera.show(Face(owner.person))  # the ticket's holder stands there: only the NIK is wrong
    if how == "typed":
        world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
        world.kiosk.post(ev.NikRead(other.nik, "typed"))
    else:
        world.reader.insert(other.old_chip_uid)
    s = world.kiosk.pump()
    assert s.step == Step.REFUSED and s.reason == Reason.NIK_MISMATCH, s
    assert world.vault.opened == []
    assert world.store.card_for_nik(owner.nik) is not None and world.store.card_for_nik(other.nik) is not None
    kinds = _journal_kinds(world)
    assert "refused" in kinds and "release_intent" not in kinds and "handover" not in kinds
    assert "nik_accepted" not in kinds and "face_check" not in kinds  # no lookup, no face check for a mismatch
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    assert world.kiosk.session.step == Step.IDLE


def test_a_ticket_of_another_office_is_refused_and_not_used_up(world, clock):
    r = world.residents("verification")[0]
    elsewhere = world.gateway.issue_ticket(r, Service.STATUS, office="KEC-ALAK", now=clock())
    s = scan(world, elsewhere)
    assert s.step == Step.REFUSED and s.reason == Reason.TICKET_WRONG_OFFICE
    assert s.ticket is None
    assert "ticket_accepted" not in _journal_kinds(world)
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    # the resident's ticket for this office still works, and the refused one was not spent
    here = world.gateway.issue_ticket(r, Service.STATUS, now=clock())
    assert scan(world, here).step == Step.CARD
    kinds = _journal_kinds(world)
    assert kinds.count("ticket_refused") == 1 and kinds.count("ticket_accepted") == 1


def test_events_the_gateway_already_has_leave_the_outbox(world, clock):
    """The gateway applies a batch but the answer is cut off: the kiosk sends it again, the gateway says
    duplicate, and the outbox is empty with every event applied once."""
    r = world.residents("verification")[0]
    assert scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock())).step == Step.CARD
    world.kiosk.dispatch(ev.Press(ev.CANCEL))
    pending = world.store.pending()
    assert pending, "the visit left events to send"
    world.gateway.faults.drop_every = 1  # every request is carried out, then its answer is cut off
    world.sync.drain_once()
    assert world.gateway.faults.served["dropped"] >= 1
    assert [i.event_id for i in world.store.pending()] == [i.event_id for i in pending], "not known delivered"
    world.gateway.faults.drop_every = 0
    world.sync.drain_once()
    assert world.store.pending() == []
    assert world.gateway.events_redelivered() == len(pending)  # they came again, answered as duplicates
    world.sync.drain_once()
    assert world.gateway.events_redelivered() == len(pending), "nothing is sent a third time"

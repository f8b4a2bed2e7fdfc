"""A ticket is claimed at the gateway before the visit commits to anything: spent at another kiosk ends the
visit with its own reason; no answer leaves this kiosk's single use in charge; a NIK presented before the
answer waits for it. The pure flow, driven event by event."""

from __future__ import annotations

import pytest

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.model import Reason, Step, TicketClaim
from tests.flowkit import NIK, Walker, ticket


def test_a_valid_ticket_asks_the_gateway_first_and_consumes_only_once_it_answered():
    w = Walker(claim=None)
    t = ticket()
    w(ev.TicketScanned(t))
    assert w.s.step == Step.CARD and w.last(fx.ClaimTicket) == [fx.ClaimTicket(1, t.ticket_id)]
    assert not w.last(fx.ConsumeTicket)
    w(ev.TicketClaimed(1, t.ticket_id, TicketClaim.CLAIMED))
    assert [c.ticket_id for c in w.last(fx.ConsumeTicket)] == [t.ticket_id]
    assert w.s.ticket_claim == TicketClaim.CLAIMED


@pytest.mark.parametrize("where", ["card", "nik_entry", "lookup"])
def test_a_ticket_spent_elsewhere_ends_the_visit_with_its_own_reason(where):
    w = Walker(claim=None)
    t = ticket()
    w(ev.TicketScanned(t))
    if where == "nik_entry":
        w(ev.Press(ev.TYPE_NIK))
    if where == "lookup":
        w(ev.NikRead(NIK, "typed"))
        assert w.s.step == Step.LOOKUP
    w(ev.TicketClaimed(1, t.ticket_id, TicketClaim.USED_ELSEWHERE))
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.TICKET_USED_ELSEWHERE
    assert not w.last(fx.ConsumeTicket) and not w.last(fx.LookUp)  # nothing was looked up or spent here


def test_a_nik_presented_before_the_answer_is_looked_up_once_the_ticket_is_claimed():
    w = Walker(claim=None)
    t = ticket()
    w(ev.TicketScanned(t))(ev.NikRead(NIK, "typed"))
    assert w.s.step == Step.LOOKUP and not w.last(fx.LookUp)
    w(ev.TicketClaimed(1, t.ticket_id, TicketClaim.OFFLINE))
    assert w.last(fx.LookUp) == [fx.LookUp(1, NIK, t.service)]
    assert w.s.ticket_claim == TicketClaim.OFFLINE and [c.ticket_id for c in w.last(fx.ConsumeTicket)] == [t.ticket_id]


def test_with_the_link_down_the_kiosks_own_single_use_holds():
    w = Walker(claim=TicketClaim.OFFLINE)
    t = ticket()
    w(ev.TicketScanned(t))(ev.NikRead(NIK, "typed"))
    (consumed,) = w.last(fx.ConsumeTicket)
    assert w.last(fx.LookUp) and consumed.ticket_id == t.ticket_id and consumed.accepted["claim"] == "offline"


def test_an_answer_for_another_visit_or_ticket_or_a_second_answer_changes_nothing():
    w = Walker(claim=None)
    t = ticket()
    w(ev.TicketScanned(t))
    before = w.s
    for stray in (
        ev.TicketClaimed(2, t.ticket_id, TicketClaim.USED_ELSEWHERE),
        ev.TicketClaimed(1, "ffffffffffffffff", TicketClaim.USED_ELSEWHERE),
    ):
        w(stray, after=0.0)
        assert w.s == before
    w(ev.TicketClaimed(1, t.ticket_id, TicketClaim.CLAIMED))
    claimed = w.s
    w(ev.TicketClaimed(1, t.ticket_id, TicketClaim.USED_ELSEWHERE), after=0.0)
    assert w.s == claimed and w.s.step == Step.CARD


def test_a_claim_that_never_comes_ends_in_the_busy_timeout():
    w = Walker(claim=None)
    w(ev.TicketScanned(ticket()))(ev.NikRead(NIK, "typed"))
    w(ev.Tick(), after=31.0)
    assert w.s.step == Step.REFUSED and w.s.reason == Reason.SERVICE_UNAVAILABLE

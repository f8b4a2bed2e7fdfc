"""Fault injection against the real gateway over HTTP: with the gateway down, slow, failing
with 5xx, or dropping the connection mid-answer, a resident whose card is in the vault still gets it,
and once the link is back every outbox event reaches the gateway exactly once (checked there)."""

from __future__ import annotations

import pytest

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.identity.ticket import Service

FAULTS: dict[str, dict[str, object]] = {
    "down": {"down": True},
    "slow": {"delay_s": 0.6},  # longer than the client's timeout (0.2 s here)
    "5xx": {"error_every": 1},
    "dropped": {"drop_every": 1},  # the gateway does the work, the answer is cut off mid-way
}


def pickup(world, clock, r) -> None:
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.PICKUP, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Face(r.person))
    world.reader.insert(r.old_chip_uid)
    s = world.kiosk.pump()
    assert s.step == Step.TAP_NEW, s
    world.reader.remove()
    world.reader.insert(r.new_chip_uid)
    assert world.kiosk.pump().step == Step.HANDED_OVER
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.reader.remove()
    world.camera.show(Nothing())
    clock.advance(60)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_card_in_the_vault_is_handed_over_through_a_fault_and_events_arrive_once(world, clock, fault) -> None:
    world.kiosk.gateway.timeout = (0.2, 0.2)
    owners = [r for r in world.residents("ready_here") if r.old_chip_uid][:2]
    for name, value in FAULTS[fault].items():
        setattr(world.gateway.faults, name, value)
    for r in owners:
        pickup(world, clock, r)
        world.sync.drain_once()  # the worker keeps trying during the fault
    assert world.kiosk.counters.outcomes == {"handed_over": 2}
    # the link comes back
    for name in FAULTS[fault]:
        setattr(world.gateway.faults, name, type(getattr(world.gateway.faults, name))())
    world.sync.drain_once()
    assert world.store.pending_count() == 0
    assert world.store.outbox_ids() == world.gateway.event_ids(), (
        "every outbox event, and nothing else, reached the gateway"
    )
    assert world.gateway.event_counts()["handover"] == 2, "each handover took effect once"
    if fault == "dropped":
        assert world.gateway.events_redelivered() > 0, "answers were lost, events came again, and were deduplicated"


def book(world, clock, r):
    """A resident who never recorded books the first leased (or offered) slot by typing their NIK."""
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.RECORDING, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Nothing())
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    assert s.step == Step.CHOOSE_OFFICE, s
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_OFFICE, s.offices[0].office_id))
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_DAY, s.days[0]))
    world.kiosk.dispatch(ev.Press(ev.CHOOSE_TIME, s.times[0].time))
    s = world.kiosk.dispatch(ev.Press(ev.CONFIRM))
    return s


@pytest.mark.parametrize("fault", list(FAULTS))
def test_bookings_come_from_the_lease_through_a_fault_and_are_confirmed_after(world, clock, fault) -> None:
    world.kiosk.gateway.timeout = (0.2, 0.2)
    assert world.store.lease_offices(), "the kiosk holds leased places before the link fails"
    for name, value in FAULTS[fault].items():
        setattr(world.gateway.faults, name, value)
    residents = [r for r in world.residents("never_recorded")][:2]
    codes = []
    for r in residents:
        s = book(world, clock, r)
        assert s.step == Step.BOOKED and s.booking.code.startswith("L"), s
        codes.append(s.booking.code)
        world.kiosk.dispatch(ev.Press(ev.FINISH))
        clock.advance(60)
        world.sync.drain_once()
    for name in FAULTS[fault]:
        setattr(world.gateway.faults, name, type(getattr(world.gateway.faults, name))())
    world.sync.drain_once()
    assert world.store.outbox_ids() == world.gateway.event_ids()
    assert world.gateway.event_counts()["booking_offline"] == 2
    assert sorted(world.gateway.booking_codes()) == sorted(codes), "the gateway confirmed both bookings"
    assert world.gateway.conflicts() == []


def test_an_exhausted_lease_says_so(world, clock) -> None:
    world.gateway.faults.down = True
    world.kiosk.gateway.timeout = (0.2, 0.2)
    r = next(iter(world.residents("never_recorded")))
    s = book(world, clock, r)  # takes the one leased place of that slot
    assert s.step == Step.BOOKED
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    clock.advance(60)
    r2 = world.residents("never_recorded")[1]
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r2, Service.RECORDING, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Nothing())
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r2.nik, "typed"))
    office = next(o for o in s.offices if o.office_id == world.store.lease_offices()[0][0])
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_OFFICE, office.office_id))
    # the resident picks a time; meanwhile the last leased place of it goes (another booking, just now)
    day, time, _ = world.store.lease_slots(office.office_id, "0000-00-00")[0]
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_DAY, day))
    other = {"booking_id": "other", "nik": r2.nik, "office_id": office.office_id, "day": day, "time": time}
    while world.store.book_on_lease({**other, "booking_id": f"other-{clock()}"}):
        clock.advance(1)
    world.kiosk.dispatch(ev.Press(ev.CHOOSE_TIME, time))
    s = world.kiosk.dispatch(ev.Press(ev.CONFIRM))
    assert s.step == Step.CHOOSE_TIME and s.notice.value == "offline_full"


def test_a_day_with_the_link_down_for_8_hours_hands_over_as_many_cards_and_loses_no_event() -> None:
    from kiosk.sim.journeys import parse_duration, run_simulation

    up = run_simulation(80, seed=2)
    down = run_simulation(80, seed=2, link_down_s=parse_duration("8h"))
    assert down["outcomes"].get("handed_over", 0) == up["outcomes"].get("handed_over", 0) > 0
    assert down["outcomes"].get("booked", 0) == up["outcomes"].get("booked", 0) > 0
    for run in (up, down):
        assert (run["events_lost"], run["events_duplicated"], run["errors"], run["outbox_pending"]) == (0, 0, 0, 0)
    assert down["handovers_at_gateway"] == down["outcomes"]["handed_over"]


def _tls(world, tmp_path):
    """The gateway also on HTTPS (mutual TLS), and this kiosk's client certificate."""
    from tests.pki_kit import issue, make_ca

    ca = make_ca(tmp_path / "pki")
    server = issue(ca, tmp_path / "pki", "gateway", server_names=("127.0.0.1",))
    kiosk = issue(ca, tmp_path / "pki", world.cfg.kiosk_id)
    url = world.gateway.start_tls(server.cert, server.key, client_ca=ca.cert)
    return url, ca, kiosk


def test_mutual_tls_with_a_pinned_ca(world, tmp_path) -> None:
    from kiosk.gateway.client import GatewayClient, GatewayRefused, GatewayUnavailable

    url, ca, kiosk = _tls(world, tmp_path)
    good = GatewayClient(
        url, world.cfg.kiosk_id, world.cfg.api_key, ca_file=ca.cert, client_cert=(kiosk.cert, kiosk.key)
    )
    assert good.manifest(), "a pinned CA and this kiosk's certificate get in"
    anonymous = GatewayClient(url, world.cfg.kiosk_id, world.cfg.api_key, ca_file=ca.cert, retries=0)
    with pytest.raises(GatewayRefused, match="client_certificate_required"):
        anonymous.manifest()  # no client certificate: only enrolment is open without one
    system_trust = GatewayClient(url, world.cfg.kiosk_id, world.cfg.api_key, retries=0)
    with pytest.raises(GatewayUnavailable):
        system_trust.manifest()  # the gateway's CA is not a public one: without the pin it is not trusted
    for c in (good, anonymous, system_trust):
        c.close()


def test_wrong_server_certificate_is_refused_and_the_kiosk_serves_offline(world, clock, tmp_path) -> None:
    from kiosk.gateway.client import GatewayClient
    from tests.pki_kit import issue, make_ca

    url, ca, kiosk = _tls(world, tmp_path)
    # the kiosk pins a different CA (a man in the middle, or a gateway certificate from elsewhere)
    other = make_ca(tmp_path / "other")
    other_kiosk = issue(other, tmp_path / "other", world.cfg.kiosk_id)
    wrong = GatewayClient(
        url,
        world.cfg.kiosk_id,
        world.cfg.api_key,
        ca_file=other.cert,
        client_cert=(other_kiosk.cert, other_kiosk.key),
        timeout_s=0.5,
        retries=0,
    )
    world.kiosk.use_gateway(wrong)
    world.sync.gateway = wrong
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    pickup(world, clock, r)
    s = book(world, clock, world.residents("never_recorded")[0])
    assert s.step == Step.BOOKED and s.booking.code.startswith("L"), "booked on the lease"
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    assert world.sync.drain_once() == 0 and world.sync.link_up is False
    # the right pin comes back (the certificate was fixed): everything arrives once
    right = GatewayClient(
        url, world.cfg.kiosk_id, world.cfg.api_key, ca_file=ca.cert, client_cert=(kiosk.cert, kiosk.key)
    )
    world.kiosk.use_gateway(right)
    world.sync.gateway = right
    world.sync.drain_once()
    assert world.store.outbox_ids() == world.gateway.event_ids()
    assert world.gateway.event_counts()["handover"] == 1
    assert world.gateway.booking_codes() == [s.booking.code]


@pytest.mark.parametrize("skew_s", [-600, 600, 3 * 3600])
def test_a_kiosk_clock_off_by_minutes_or_hours_still_hands_over(world, clock, skew_s) -> None:
    """The queue system issues the ticket on its own clock; the kiosk's clock is off by `skew_s` (ten
    minutes either way, as a kiosk without NTP drifts; or hours ahead, within the ticket's 4 hours)."""
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    issued = clock()  # the queue system's time; the kiosk's is off
    clock.now = issued + skew_s
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.PICKUP, now=issued)))
    world.kiosk.scan_frame()
    world.camera.show(Face(r.person))
    world.reader.insert(r.old_chip_uid)
    assert world.kiosk.pump().step == Step.TAP_NEW
    world.reader.remove()
    world.reader.insert(r.new_chip_uid)
    assert world.kiosk.pump().step == Step.HANDED_OVER
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.reader.remove()
    # and with the link down on top of the skew, a booking comes from the lease
    world.gateway.faults.down = True
    s = book(world, clock, world.residents("never_recorded")[0])
    assert s.step == Step.BOOKED and s.booking.code.startswith("L")
    world.gateway.faults.down = False
    world.sync.drain_once()
    assert world.store.outbox_ids() == world.gateway.event_ids()
    assert world.gateway.booking_codes() == [s.booking.code]


def test_cards_stay_releasable_offline_only_while_their_manifest_entry_is_valid(world, clock) -> None:
    world.kiosk.gateway.timeout = (0.2, 0.2)
    assert world.kiosk.upkeep.refresh_manifest() == 0
    version = world.kiosk.upkeep.manifest_version
    assert world.kiosk.upkeep.refresh_manifest() == 0, "unchanged: cheap poll"
    assert world.kiosk.upkeep.manifest_version == version
    owners = [r for r in world.residents("ready_here") if r.old_chip_uid]
    world.gateway.faults.down = True
    clock.advance(6 * 86400)  # six days offline: the entries (valid 7 days) still hold
    pickup(world, clock, owners[0])
    clock.advance(2 * 86400)  # past the validity: the card may have been withdrawn centrally
    world.camera.show(HeldTicket(world.gateway.issue_ticket(owners[1], Service.PICKUP, now=clock())))
    world.kiosk.scan_frame()
    world.reader.insert(owners[1].old_chip_uid)
    s = world.kiosk.pump()
    assert s.step != Step.FACE and world.store.card_for_nik(owners[1].nik) is not None, "not released"
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.reader.remove()


def test_a_card_withdrawn_from_the_manifest_is_not_released_and_is_due_for_unloading(world, clock) -> None:
    owner = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    world.gateway.set_status(owner.nik, "verification")  # the ministry cancels the card
    assert world.kiosk.upkeep.refresh_manifest() == 1
    card = world.store.card_for_nik(owner.nik)
    assert card is not None
    assert any(c.card_id == card.card_id and why == "withdrawn" for c, why in world.kiosk.vault.due_for_unload())
    world.camera.show(HeldTicket(world.gateway.issue_ticket(owner, Service.PICKUP, now=clock())))
    world.kiosk.scan_frame()
    world.reader.insert(owner.old_chip_uid)
    assert world.kiosk.pump().step != Step.FACE

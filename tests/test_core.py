"""The core wired to simulated hardware, a real SQLite store and the real gateway over HTTP (kiosk.sim.office)."""

import json
import subprocess
import sys

from kiosk.flow import events as ev
from kiosk.flow.model import CardStatus, Reason, Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.identity.ticket import Service


def scan(world, text):
    world.camera.show(HeldTicket(text))
    world.kiosk.scan_frame()
    world.camera.show(Nothing())
    return world.kiosk.pump()


def test_pickup_end_to_end(world, clock):
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    s = scan(world, world.gateway.issue_ticket(r, Service.PICKUP, now=clock()))
    assert s.step == Step.CARD
    world.camera.show(Face(r.person))
    world.reader.insert(r.old_chip_uid)
    s = world.kiosk.pump()
    assert s.step == Step.TAP_NEW, s  # resolved, looked up, face matched, card taken from the vault
    slot = s.lookup.slot
    assert world.vault.opened == [slot] and not world.vault.present[slot]
    world.reader.insert(r.new_chip_uid)
    s = world.kiosk.pump()
    assert s.step == Step.HANDED_OVER
    world.kiosk.dispatch(ev.Press(ev.PRINT))
    (receipt,) = world.printer.printed
    assert r.nik not in repr(receipt) and r.nik[-4:] in " ".join(receipt.lines)
    assert receipt.qr and s.handover_code in receipt.qr
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    assert world.kiosk.session.step == Step.IDLE and world.kiosk.session.nik is None
    # the card left the inventory; intent and outcome are journaled; the chain is intact
    assert world.store.card_for_nik(r.nik) is None
    kinds = [row[2] for row in world.store.journal_rows()]
    assert kinds.index("release_intent") < kinds.index("release_outcome") < kinds.index("handover")
    assert world.store.verify_journal() == []
    # the outbox reaches the gateway exactly once, even if drained twice
    world.sync.drain_once()
    world.sync.drain_once()
    assert world.gateway.event_counts()["handover"] == 1
    assert world.gateway.events_redelivered() == 0
    assert world.kiosk.counters.outcomes == {"handed_over": 1}


def test_same_ticket_twice_is_refused_as_used(world, clock):
    r = world.residents("verification")[0]
    text = world.gateway.issue_ticket(r, Service.STATUS, now=clock())
    assert scan(world, text).step == Step.CARD
    world.kiosk.dispatch(ev.Press(ev.CANCEL))
    clock.advance(10)
    s = scan(world, text)
    assert s.step == Step.REFUSED and s.reason == Reason.TICKET_USED


def test_staff_find_a_refused_visit_by_the_reference_on_screen(world, clock, capsys):
    from kiosk.cli import main

    r, other = world.residents("verification")[:2]
    assert scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock())).step == Step.CARD
    s = world.kiosk.dispatch(ev.NikRead(other.nik, "typed"))  # someone else's NIK on this ticket
    assert s.step == Step.REFUSED and s.reason == Reason.NIK_MISMATCH and s.reference
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    clock.advance(60)
    later = scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock() - 3600 * 9, valid_s=3600))
    assert later.reason == Reason.TICKET_EXPIRED and later.reference not in (None, s.reference)
    db = str(world.store.path)
    assert main(["audit", "find", s.reference.lower(), "--db", db]) == 0  # as a staff member may type it
    rows = capsys.readouterr().out.splitlines()
    assert [line.split()[4] for line in rows] == ["ticket_accepted", "refused"], rows
    assert "ticket_accepted" in rows[0] and "refused" in rows[-1] and s.reference in rows[-1]
    assert other.nik not in "\n".join(rows) and other.nik[-4:] in rows[-1], "the NIK masked"
    assert main(["audit", "find", later.reference, "--db", db]) == 0
    (only,) = capsys.readouterr().out.splitlines()
    assert "ticket_refused" in only and "ticket_expired" in only
    assert main(["audit", "find", "ZZZ-ZZZ", "--db", db]) == 1
    assert "no refusal" in capsys.readouterr().err


def test_same_qr_is_not_reported_every_frame(world, clock):
    r = world.residents("verification")[0]
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.STATUS, now=clock())))
    world.kiosk.scan_frame()
    world.kiosk.pump()
    world.kiosk.dispatch(ev.Press(ev.CANCEL))
    world.kiosk.scan_frame()  # still held up, a moment later
    assert world.kiosk.pump().step == Step.IDLE


def test_booking_end_to_end_over_http(world, clock):
    r = next(r for r in world.residents("never_recorded") if not r.old_chip_uid)
    scan(world, world.gateway.issue_ticket(r, Service.RECORDING, now=clock()))
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    assert s.step == Step.CHOOSE_OFFICE
    assert s.offices[0].district == r.district  # own kecamatan first
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_OFFICE, s.offices[0].office_id))
    if s.step == Step.CHOOSE_OFFICE:  # no capacity there in this seed: next
        s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_OFFICE, s.offices[1].office_id))
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_DAY, s.days[0]))
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_TIME, s.times[0].time))
    assert s.step == Step.CONFIRM_BOOKING and s.time == s.times[0].time and s.booking is None
    s = world.kiosk.dispatch(ev.Press(ev.CONFIRM))
    assert s.step == Step.BOOKED and s.booking.code.startswith("B")
    world.kiosk.dispatch(ev.Press(ev.PRINT))
    (slip,) = world.printer.printed
    assert slip.qr == f"LMB1:{s.booking.code}" and r.nik not in repr(slip)


def test_status_path_for_each_status(world, clock):
    for status in ("verification", "printing", "waiting_blanko", "ready_elsewhere"):
        r = next(r for r in world.residents(status) if r.old_chip_uid)
        scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock()))
        world.reader.insert(r.old_chip_uid)
        s = world.kiosk.pump()
        assert s.step == Step.STATUS and s.lookup.status == CardStatus(status)
        if status == "ready_elsewhere":
            assert s.lookup.office_name
        world.kiosk.dispatch(ev.Press(ev.FINISH))
        world.reader.remove()
        clock.advance(30)


def test_lookup_with_link_down_refuses_gently(world, clock):
    r = world.residents("verification")[0]
    scan(world, world.gateway.issue_ticket(r, Service.STATUS, now=clock()))
    world.gateway.faults.down = True
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    assert s.step == Step.REFUSED and s.reason == Reason.SERVICE_UNAVAILABLE


def test_card_in_the_vault_is_released_while_the_link_is_down(world, clock):
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid is None)
    scan(world, world.gateway.issue_ticket(r, Service.PICKUP, now=clock()))
    world.gateway.faults.down = True
    world.camera.show(Face(r.person))
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    assert s.step == Step.TAP_NEW
    world.reader.insert(r.new_chip_uid)
    assert world.kiosk.pump().step == Step.HANDED_OVER
    assert world.sync.drain_once() == 0 and world.store.pending_count() > 0
    world.gateway.faults.down = False
    world.sync.drain_once()
    assert world.store.pending_count() == 0 and world.gateway.event_counts()["handover"] == 1


def test_printed_photo_never_gets_the_card(world, clock):
    r = world.residents("ready_here")[0]
    scan(world, world.gateway.issue_ticket(r, Service.PICKUP, now=clock()))
    world.camera.show(Face(r.person, photo=True))
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    while world.kiosk.session.step == Step.FACE:
        world.kiosk.dispatch(ev.Press(ev.RETRY_FACE))
    assert world.kiosk.session.reason == Reason.FACE_MISMATCH
    assert world.vault.opened == []
    assert "operator_call" in [row[2] for row in world.store.journal_rows()]


def test_kiosk_simulate_200_journeys_has_every_outcome_and_no_error():
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "simulate", "--journeys", "200", "--seed", "11"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["journeys"] == 200 and summary["errors"] == 0
    assert summary["outcomes"].keys() >= {"handed_over", "booked", "status", "refused", "cancelled", "abandoned"}
    assert sum(summary["outcomes"].values()) >= 190  # a few scripts (a replay with no ticket yet) do nothing
    assert summary["handovers_at_gateway"] == summary["outcomes"]["handed_over"]
    assert summary["outbox_pending"] == 0
    assert summary["cpu_seconds_per_journey"] > 0


def test_every_part_reports_into_one_health_model(world):
    status = world.kiosk.health.status("reader")
    assert status is not None and status.state.value == "ok"


def test_a_camera_without_frames_is_reported_failed_and_recovers(world):
    from kiosk.health import State

    real = world.camera.read
    world.camera.read = lambda: None
    for _ in range(30):
        world.kiosk.scan_frame()
    assert world.kiosk.health.status("camera").state == State.FAILED
    assert "counter" in world.kiosk.status().service_notice
    world.camera.read = real
    world.kiosk.scan_frame()
    assert world.kiosk.health.status("camera").state == State.OK

"""/metrics and /healthz scraped over HTTP from a running kiosk (simulated hardware, real gateway
simulator): names, types and labels by Prometheus conventions, and no NIK or name anywhere."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from kiosk.health import State
from kiosk.ops.metrics import OpsServer
from tests.test_offline import book, pickup

EXPECTED = {
    "kiosk_visits": ("counter", {"outcome"}),
    "kiosk_handovers": ("counter", set()),
    "kiosk_refusals": ("counter", {"reason"}),
    "kiosk_errors": ("counter", set()),
    "kiosk_gateway_conflicts": ("counter", {"kind"}),
    "kiosk_outbox_pending": ("gauge", set()),
    "kiosk_vault_cards": ("gauge", set()),
    "kiosk_vault_slots": ("gauge", set()),
    "kiosk_vault_slots_out_of_service": ("gauge", set()),
    "kiosk_tamper_alarm": ("gauge", set()),
    "kiosk_gateway_up": ("gauge", set()),
    "kiosk_gateway_offline_since_seconds": ("gauge", set()),
    "kiosk_component_up": ("gauge", {"component", "state"}),
    "kiosk_journey_seconds": ("histogram", {"outcome"}),
}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_and_healthz_of_a_running_kiosk(world, clock) -> None:
    ops = OpsServer(world.kiosk)
    base = ops.start(port=0)
    try:
        owner = next(r for r in world.residents("ready_here") if r.old_chip_uid)
        pickup(world, clock, owner)
        s = book(world, clock, world.residents("never_recorded")[0])
        assert s.booking is not None
        status, text = get(base + "/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        for name, (kind, labels) in EXPECTED.items():
            assert name in families, name
            assert families[name].type == kind, (name, families[name].type)
            for sample in families[name].samples:
                assert set(sample.labels) - {"le"} == labels, (name, sample.labels)
        values = {(x.name, tuple(sorted(x.labels.items()))): x.value for f in families.values() for x in f.samples}
        assert values[("kiosk_handovers_total", ())] == 1
        assert values[("kiosk_visits_total", (("outcome", "handed_over"),))] == 1
        assert values[("kiosk_journey_seconds_count", (("outcome", "handed_over"),))] == 1
        assert values[("kiosk_vault_cards", ())] == len(world.store.inventory())
        status, body = get(base + "/healthz")
        health = json.loads(body)
        # every simulated part is working: the kiosk says so, part by part (a degraded one would be named)
        states = {name: c["state"] for name, c in health["components"].items()}
        assert status == 200 and health["status"] == "ok", health
        assert states["vault"] == "ok" and set(states.values()) == {"ok"}, states
        for everything in (text, body):
            for r in world.gateway.residents:
                assert r.nik not in everything and r.nik[-4:] + "\n" not in everything
                assert r.name not in everything
        # the tamper door fails the vault: /healthz answers 503 and the gauge says why
        world.vault.open_door()
        status, body = get(base + "/healthz")
        assert status == 503 and json.loads(body)["components"]["vault"]["state"] == "failed"
        assert "kiosk_tamper_alarm 1.0" in get(base + "/metrics")[1]
    finally:
        ops.stop()


def test_heartbeats_reach_the_fleet_page_without_personal_data(world, clock) -> None:
    owner = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    pickup(world, clock, owner)
    world.sync.drain_once()  # delivers events, then refreshes manifest and leases, then the heartbeat
    (kiosk,) = [k for k in world.gateway.fleet() if k["kiosk"] == world.cfg.kiosk_id]
    summary = kiosk["summary"]
    assert summary["outcomes"] == {"handed_over": 1} and summary["components"]["gateway"] == "ok"
    assert summary["journal_head"]["seq"] == world.store.journal_head()[0]
    status, page = get(world.gateway.url + "/fleet")
    assert status == 200 and world.cfg.kiosk_id in page and "last heartbeat" in page
    for text in (page, json.dumps(summary)):
        for r in world.gateway.residents:
            assert r.nik not in text and r.name not in text


def test_a_part_down_is_said_to_residents_and_to_admins(world) -> None:
    assert world.kiosk.status().service_notice == ""
    world.card_reader.stop()
    assert "Booking and status work" in world.kiosk.status().service_notice
    world.card_reader.start()
    world.gateway.faults.down = True
    world.kiosk.store.journal("help_called", {}, outbox=True)
    world.sync.drain_once()
    assert world.kiosk.health.status("gateway").state.value == "degraded"
    assert world.kiosk.health.status("disk") is None  # nothing reports the disk but the probe
    world.kiosk.status_board.probe()
    disk = world.kiosk.health.status("disk")
    usage = shutil.disk_usage(world.cfg.data_dir)
    free = usage.free / usage.total
    expected = State.FAILED if free < 0.03 else State.DEGRADED if free < 0.10 else State.OK
    assert disk is not None and disk.state == expected and re.fullmatch(r"\d+% free", disk.reason), disk


def test_with_the_reader_down_a_card_in_the_vault_is_sent_to_the_counter(world) -> None:
    owner = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    world.card_reader.stop()
    lookup = world.kiosk.desk.look_up(owner.nik)
    assert lookup.status.value == "ready_elsewhere", "not released: the new card's tap could not be checked"
    world.card_reader.start()
    assert world.kiosk.desk.look_up(owner.nik).status.value == "ready_here"

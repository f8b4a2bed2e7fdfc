"""The gateway client against the real gateway on 127.0.0.1 (kiosk.sim.office), faults from the layer in
front of it."""

import datetime as dt
import os
import urllib.parse

import pytest

from kiosk.gateway.client import EventsAck, GatewayClient, GatewayRefused, GatewayUnavailable
from kiosk.sim.office import STATUSES, Office
from loket_gateway.demo import KUPANG_DISTRICTS


@pytest.fixture
def sim(tmp_path):
    s = Office(tmp_path / "gw.db", seed=5, today=dt.date(2026, 11, 23))
    s.start()
    yield s
    s.close()


@pytest.fixture
def client(sim):
    c = GatewayClient(sim.url, sim.kiosk_id, sim.api_key, timeout_s=2, retries=1, backoff_s=0.01)
    yield c
    c.close()


def _listening(port: int) -> set[str]:
    """The local addresses of the sockets listening on TCP `port`, as the kernel lists them (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_office_gateway_listens_on_loopback_only(sim):
    port = urllib.parse.urlsplit(sim.url).port
    assert sim.url.startswith("http://127.0.0.1:") and port
    # the bound socket, not the URL: 127.0.0.1 in /proc/net/tcp is 0100007F; 0.0.0.0 would be 00000000
    assert _listening(port) == {"0100007F"}


def test_seed_covers_every_kecamatan_in_every_state(sim):
    seen = {(r.district, r.status) for r in sim.residents}
    assert seen == {(d, s) for d in KUPANG_DISTRICTS for s in STATUSES}


def test_manifest_lists_cards_ready_at_this_kiosk(sim, client):
    cards = client.manifest()
    ready = {r.card_id for r in sim.residents if r.status == "ready_here"}
    assert {c.card_id for c in cards} == ready


def test_lookup_for_each_status(sim, client):
    for r in sim.residents[:12]:
        answer = client.lookup(r.nik)
        assert answer.status == r.status
    assert client.lookup("5371046508909999").status == "not_found"


def test_chip_resolves_to_nik_and_unknown_chip_is_none(sim, client):
    r = next(r for r in sim.residents if r.old_chip_uid)
    assert client.resolve_chip(r.old_chip_uid) == r.nik
    assert client.resolve_chip("04DEADBEEF0000") is None


def test_ticket_consumption_is_idempotent_per_kiosk_and_conflicts_elsewhere(sim, client):
    assert client.consume_ticket("0123456789abcdef")
    client.consume_ticket("0123456789abcdef")
    sim.add_kiosk("KIOSK-02", "DKP-KUPANG", "k2")
    other = GatewayClient(sim.url, "KIOSK-02", "k2")
    with pytest.raises(GatewayRefused) as exc:
        other.consume_ticket("0123456789abcdef")
    assert exc.value.code == "ticket_used_elsewhere"


def test_booking_takes_capacity_and_replays_idempotently(client):
    office = client.offices()[0].office_id
    slot = next(s for s in client.slots(office, dt.date(2026, 11, 24)) if s.remaining > 0)
    a = client.book("bk-1", "5371046508900001", office, slot.day, slot.time)
    b = client.book("bk-1", "5371046508900001", office, slot.day, slot.time)
    assert a == b
    after = next(s for s in client.slots(office, dt.date(2026, 11, 24)) if (s.day, s.time) == (slot.day, slot.time))
    assert after.remaining == slot.remaining - 1


def test_full_slot_is_refused_with_a_code(client):
    office = client.offices()[0].office_id
    slot = next(s for s in client.slots(office, dt.date(2026, 11, 24)) if s.remaining == 0)
    with pytest.raises(GatewayRefused) as exc:
        client.book("bk-2", "5371046508900001", office, slot.day, slot.time)
    assert exc.value.code == "slot_full"


def test_events_are_deduplicated_by_client_id(sim, client):
    events = [{"id": f"e{i}", "kind": "refused", "payload": {}} for i in range(3)]
    assert client.send_events(events).accepted == ("e0", "e1", "e2")
    again = client.send_events(events[1:])
    assert again == EventsAck(accepted=(), duplicates=("e1", "e2"))
    assert sim.event_counts() == {"refused": 3}


def test_wrong_key_is_refused(sim):
    bad = GatewayClient(sim.url, sim.kiosk_id, "wrong")
    with pytest.raises(GatewayRefused) as exc:
        bad.offices()
    assert exc.value.status == 401


def test_a_kiosk_cannot_read_another_kiosks_manifest(sim, client):
    # the client only ever asks for its own manifest: ask for another's over its session (the same auth)
    answer = client.session.get(f"{sim.url}/v1/kiosks/KIOSK-99/manifest", timeout=2)
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def test_down_gateway_is_unavailable(sim, client):
    sim.faults.down = True
    with pytest.raises(GatewayUnavailable):
        client.offices()


def test_intermittent_5xx_is_retried(sim, client):
    sim.faults.error_every = 2
    for _ in range(4):
        client.offices()  # every second request fails once and is retried
    # requests 2, 4 and 6 answered 500, each retried by the next: 7 requests for 4 answers
    assert sim.faults.served["5xx"] == 3 and sim.faults.requests_seen == 7


def test_slow_gateway_times_out(sim):
    sim.faults.delay_s = 1.0
    c = GatewayClient(sim.url, sim.kiosk_id, sim.api_key, timeout_s=0.3, retries=0)
    with pytest.raises(GatewayUnavailable):
        c.offices()


def test_stopped_gateway_is_unavailable(sim, client):
    sim.stop()
    with pytest.raises(GatewayUnavailable):
        client.offices()


def test_nik_never_travels_in_a_url(sim, client):
    r = sim.residents[0]
    client.lookup(r.nik)
    slot = next(s for s in client.slots("KEC-01", dt.date(2026, 11, 24)) if s.remaining > 0)
    client.book("bk-3", r.nik, "KEC-01", slot.day, slot.time)
    client.resolve_chip("04DEADBEEF0000")
    assert len(sim.access_log) >= 4
    assert all(r.nik not in line for line in sim.access_log)


def test_outbox_backs_off_with_jitter_while_down_and_delivers_once_after(sim, client, tmp_path):
    from kiosk.store import Store
    from kiosk.sync.worker import SyncWorker

    store = Store(tmp_path / "k.db")
    for n in range(120):
        store.journal("face_check", {"n": n}, outbox=True)
    worker = SyncWorker(store, client, batch=50, interval_s=2.0)
    sim.faults.down = True
    waits = []
    for _ in range(5):
        assert worker.drain_once() == 0
        waits.append(worker.next_wait())
    assert worker.link_up is False and worker.offline_since is not None
    # 2 s, then about 4, 8, 16, 32 s: each with up to 1 s of jitter, so kiosks do not return in step
    for wait, low in zip(waits, [2, 4, 8, 16, 32], strict=True):
        assert low <= wait <= low + 1.0
    sim.faults.down = False
    assert worker.drain_once() == 120
    assert worker.link_up is True and worker.offline_since is None and worker.next_wait() == 2.0
    assert sum(sim.event_counts().values()) == 120 and sim.events_redelivered() == 0


def test_a_ticket_used_at_two_kiosks_while_offline_is_a_conflict_not_a_second_use(sim):
    used = {"ticket_id": "00112233aabbccdd"}
    sim.gateway.events.accept("KIOSK-01", [{"id": "a1", "kind": "ticket_consumed", "payload": used}])
    sim.gateway.events.accept("KIOSK-01", [{"id": "a1", "kind": "ticket_consumed", "payload": used}])  # redelivered
    assert sim.conflicts() == []
    sim.gateway.events.accept("KIOSK-07", [{"id": "b1", "kind": "ticket_consumed", "payload": used}])
    assert sim.conflicts() == [("ticket_used_twice", "ticket 00112233aabbccdd also used at KIOSK-01")]


def test_manifest_poll_leases_and_heartbeat_run_at_most_once_a_minute(sim, client, tmp_path):
    from kiosk.store import Store
    from kiosk.sync.worker import SyncWorker

    worker = SyncWorker(Store(tmp_path / "k.db"), client, interval_s=2.0, hooks_every_s=60)
    calls = []
    worker.after_sync.append(lambda: calls.append(1))
    for _ in range(5):  # the worker wakes every 2 s; the gateway is asked far less often
        worker.drain_once()
    assert calls == [1]
    worker.hooks_every_s = 0
    worker.drain_once()
    assert calls == [1, 1]

"""The real gateway client against a hostile gateway on loopback (kiosk.sim.hostile): garbage, wrong
shapes and types, huge and compressed bodies, a slow drip, a hang and false acknowledgements. Only the
declared errors escape, each call ends by its deadline, memory stays bounded, the sync worker backs off."""

from __future__ import annotations

import gzip
import json
import random
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from kiosk.bench import fuzz_gateway
from kiosk.gateway.client import GatewayBadAnswer, GatewayClient, GatewayError, GatewayRefused, GatewayUnavailable
from kiosk.health import Health, State
from kiosk.sim.hostile import GOOD, HostileGateway, Reply, false_ack, gzip_bomb, wrong_body
from kiosk.store import Store
from kiosk.sync.worker import SyncWorker

DEADLINE_S = 1.0
# generous: the point is "ends near its deadline", not "is fast"; the drips below would take 30 s or more
LATE_S = DEADLINE_S + 2.0


@pytest.fixture
def hostile() -> Iterator[tuple[HostileGateway, list[Reply]]]:
    """A hostile server that answers each request with the next reply the test queued."""
    replies: list[Reply] = []
    server = HostileGateway(lambda op, sent: replies.pop(0) if replies else Reply(200, json.dumps(GOOD[op]).encode()))
    server.start()
    yield server, replies
    server.stop()


def client_of(server: HostileGateway) -> GatewayClient:
    return GatewayClient(server.url, "K1", "key", timeout_s=0.5, retries=0, deadline_s=DEADLINE_S)


def timed(call: object) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except BaseException as exc:
        return exc, time.monotonic() - t0
    return None, time.monotonic() - t0


BAD_LOOKUPS = [
    Reply(400, b"[1, 2]"),  # a 4xx whose body is a list (was AttributeError: data.get)
    Reply(404, b'"not found"'),
    Reply(409, b"7"),
    Reply(403, b"true"),
    Reply(200, b"[]"),
    Reply(200, b'{"office_name": "x"}'),  # no status
    Reply(200, b'{"status": "teleported"}'),  # not one of the contract's
    Reply(200, b'{"status": 5}'),
    Reply(200, b"{" * 10 + b"garbage"),
    Reply(200, b"[" * 100_000 + b"]" * 100_000),  # nested past the parser's recursion limit
    Reply(418, b'{"error": "teapot", "message": "m"}'),  # a status the contract does not list
    Reply(302, b"{}", (("Location", "http://127.0.0.1:9/"),)),  # redirects are not followed
    Reply(200, b"\x1f\x8b not gzip", (("Content-Encoding", "gzip"),)),
    Reply(200, b"{}", (("Content-Encoding", "br"),)),
]


@pytest.mark.parametrize("reply", BAD_LOOKUPS, ids=[f"{r.status}-{r.body[:12]!r}" for r in BAD_LOOKUPS])
def test_a_wrong_answer_is_a_bad_answer(hostile, reply):
    server, replies = hostile
    replies.append(reply)
    client = client_of(server)
    with pytest.raises(GatewayBadAnswer):
        client.lookup("5371041234560001")


def test_a_contract_refusal_is_refused_and_a_5xx_unavailable(hostile):
    server, replies = hostile
    client = client_of(server)
    replies.append(Reply(409, b'{"error": "ticket_used_elsewhere", "message": "used at K2"}'))
    with pytest.raises(GatewayRefused) as refused:
        client.consume_ticket("0123456789abcdef")
    assert refused.value.code == "ticket_used_elsewhere"
    replies.append(Reply(503, b"<html>down</html>"))
    with pytest.raises(GatewayUnavailable):
        client.offices()


@pytest.mark.parametrize(
    "operation,call",
    [
        ("getManifest", lambda c: c.manifest()),
        ("listOffices", lambda c: c.offices()),
        ("listSlots", lambda c: c.slots("O1", __import__("datetime").date(2026, 12, 3))),
        ("grantLeases", lambda c: c.leases(__import__("datetime").date(2026, 12, 3))),
        ("sendEvents", lambda c: c.send_events([{"id": "e1", "kind": "x", "payload": {}}])),
        ("book", lambda c: c.book("b1", "5371041234560001", "O1", "2026-12-03", "09:00")),
        ("resolveChip", lambda c: c.resolve_chip("04A1B2C3D4E5F6")),
    ],
)
def test_every_operation_turns_mutated_answers_into_declared_errors(hostile, operation, call):
    server, replies = hostile
    client = client_of(server)
    rng = random.Random(operation)
    for _ in range(60):
        replies.append(Reply(200, wrong_body(rng, operation)))
        exc, _took = timed(lambda: call(client))
        assert exc is None or isinstance(exc, GatewayError), repr(exc)


def test_a_bad_photo_in_the_manifest_is_a_bad_answer(hostile):
    server, replies = hostile
    manifest = json.loads(json.dumps(GOOD["getManifest"]))
    manifest["cards"][0]["photo"] = "not base64!"
    replies.append(Reply(200, json.dumps(manifest).encode()))
    with pytest.raises(GatewayBadAnswer, match="base64"):
        client_of(server).manifest()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, json.dumps(GOOD["listOffices"]).encode(), drip_s=0.5),  # a byte every 0.5 s: ~70 s in all
        Reply(hang_s=30.0),
    ],
    ids=["drip", "hang"],
)
def test_a_call_ends_by_its_deadline_whatever_the_server_does(hostile, reply):
    server, replies = hostile
    replies.append(reply)
    exc, took = timed(lambda: client_of(server).offices())
    assert isinstance(exc, GatewayUnavailable)
    assert took < LATE_S, f"{took:.1f} s for a call with a {DEADLINE_S} s deadline"


def test_retries_stay_inside_the_one_deadline(hostile):
    server, replies = hostile
    replies.extend([Reply(hang_s=30.0)] * 5)
    client = GatewayClient(server.url, "K1", "key", timeout_s=0.4, retries=4, backoff_s=0.01, deadline_s=DEADLINE_S)
    exc, took = timed(client.offices)
    assert isinstance(exc, GatewayUnavailable)
    assert took < LATE_S


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"", stream_bytes=200 << 20),  # 200 MiB, chunked, no length said
        Reply(200, b"x" * (2 << 20)),  # 2 MiB with its length said: refused before reading
        Reply(200, gzip_bomb(256 << 20), (("Content-Encoding", "gzip"),)),  # ~250 KiB inflating to 256 MiB
    ],
    ids=["stream", "declared", "gzip-bomb"],
)
def test_huge_and_compressed_bodies_are_cut_at_the_operations_bound(hostile, reply):
    server, replies = hostile
    replies.append(reply)
    client = GatewayClient(server.url, "K1", "key", timeout_s=5, retries=0, deadline_s=30)
    tracemalloc.start()
    try:
        with pytest.raises(GatewayBadAnswer, match="larger than"):
            client.lookup("5371041234560001")  # the contract bounds a lookup's answer at 16 KiB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB of Python memory while refusing the body"


def _worker(tmp_path, server: HostileGateway) -> tuple[SyncWorker, Store, Health]:
    store = Store(tmp_path / "k.db")
    for i in range(5):
        store.enqueue("refused", {"i": i})
    health = Health()
    return SyncWorker(store, client_of(server), interval_s=0.1, health=health), store, health


@pytest.mark.parametrize("seed", range(4))
def test_a_false_acknowledgement_stops_the_drain_and_backs_off(tmp_path, hostile, seed):
    server, replies = hostile
    rng = random.Random(seed)
    worker, store, health = _worker(tmp_path, server)
    pending = store.pending(100)
    sent = [i.event_id for i in pending]
    replies.extend(Reply(200, json.dumps(false_ack(rng, sent)).encode()) for _ in range(50))
    waits = []
    for _ in range(3):
        before = server.served
        assert worker.drain_once() == 0  # nothing counts as delivered on a false acknowledgement
        assert server.served - before == 1  # one request per drain, not a loop
        waits.append(worker.next_wait())
    assert store.pending_count() == 5 and worker.link_up is False
    assert waits[-1] > worker.interval_s and waits == sorted(waits)  # backing off, further each time
    status = health.snapshot()["gateway"]
    assert status.state == State.DEGRADED and "acknowledgements" in status.reason
    store.close()


def test_the_fuzz_bench_finds_no_undeclared_exception_and_no_late_call():
    r = fuzz_gateway.run(4.0, seed=7)
    assert r["calls"] > 20
    assert r["undeclared_exceptions"] == 0, r["undeclared_examples"]
    assert r["calls_past_deadline"] == 0, r["late_examples"]
    assert r["threads_left"] == 0


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>captive portal</html>"),
        Reply(200, json.dumps({"kiosk_id": "KUPANG-09", "office_id": 'X"\n[hardware]\nvault = "sim'}).encode()),
        Reply(200, b""),
        Reply(200, b'{"error": "x", "message": "y"}', drip_s=0.0, close=True),
    ],
    ids=["html", "toml-injection", "empty", "dropped"],
)
def test_provisioning_against_a_wrong_gateway_says_why_and_writes_nothing(tmp_path, hostile, reply, capsys):
    from kiosk.cli import main

    server, replies = hostile
    replies.append(reply)
    enrol = tmp_path / "boot" / "loket-enrol.toml"
    enrol.parent.mkdir()
    enrol.write_text(f'kiosk_id = "KUPANG-09"\ngateway_url = "{server.url}"\ntoken = "t-123"\n')
    config = tmp_path / "etc" / "kiosk.toml"
    assert main(["provision", "--enrol", str(enrol), "--config", str(config)]) == 1  # provisioning failed
    err = capsys.readouterr().err
    assert "Traceback" not in err and "gateway" in err and not config.exists()


def test_a_name_lookup_that_hangs_does_not_hold_the_call(monkeypatch):
    """getaddrinfo has no socket for the deadline's timer to shut: the caller stops waiting all the same."""
    import socket

    real = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        if host == "gateway.slow.example":
            time.sleep(6.0)  # a resolver whose server does not answer (resolv.conf: timeout 5, attempts 2)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    client = GatewayClient(
        "http://gateway.slow.example:9", "K1", "key", timeout_s=0.5, retries=0, deadline_s=DEADLINE_S
    )
    exc, took = timed(client.offices)
    assert isinstance(exc, GatewayUnavailable) and "deadline" in str(exc)
    assert took < LATE_S


def test_a_redirect_is_a_bad_answer_whatever_its_location_or_body(hostile):
    server, replies = hostile
    client = client_of(server)
    bomb = gzip_bomb(256 << 20)
    for location in ("/\xff", "http://[", "http://x:99999/"):
        replies.append(Reply(302, bomb, (("Location", location), ("Content-Encoding", "gzip"))))
        tracemalloc.start()
        try:
            exc, took = timed(client.offices)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert isinstance(exc, GatewayBadAnswer), repr(exc)
        assert took < LATE_S and peak < 4 << 20


def test_retry_after_does_not_hold_a_call_past_its_deadline(hostile):
    server, replies = hostile
    replies.extend([Reply(503, b"{}", (("Retry-After", "3600"),))] * 3)
    client = GatewayClient(server.url, "K1", "key", timeout_s=0.5, retries=2, backoff_s=0.01, deadline_s=DEADLINE_S)
    exc, took = timed(client.offices)
    assert isinstance(exc, GatewayUnavailable) and took < LATE_S


def test_cookies_from_the_gateway_are_never_sent_back(hostile):
    server, replies = hostile
    cookies = tuple(("Set-Cookie", f"c{i}={'x' * 4000}; Path=/") for i in range(90))
    replies.append(
        Reply(200, json.dumps(GOOD["listOffices"]).encode(), (("Content-Type", "application/json"), *cookies))
    )
    client = client_of(server)
    client.offices()
    assert [o.office_id for o in client.offices()] == ["O1"]  # the next call still works
    assert server.cookies == [] and not client.session.cookies


def test_proxy_settings_in_the_environment_do_not_reroute_the_gateway(hostile, monkeypatch):
    server, _ = hostile
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.255.255.1:9")  # a proxy that would black-hole every call
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert [o.office_id for o in client_of(server).offices()] == ["O1"]


@pytest.mark.parametrize("cut", ["no-trailer", "trailing-junk"])
def test_a_compressed_body_cut_short_or_with_junk_after_it_is_a_bad_answer(hostile, cut):
    server, replies = hostile
    body = gzip.compress(json.dumps(GOOD["listOffices"]).encode())
    body = body[:-8] if cut == "no-trailer" else body + b"junk"
    replies.append(Reply(200, body, (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))))
    with pytest.raises(GatewayBadAnswer):
        client_of(server).offices()


def test_an_answer_of_millions_of_empty_objects_is_refused_before_parsing(hostile):
    server, replies = hostile
    client = GatewayClient(server.url, "K1", "key", timeout_s=5, retries=0, deadline_s=20)
    # 9 MiB, under the manifest's size bound; parsed, 3 million dicts would take about 650 MiB
    manifest = {"kiosk_id": "K1", "office_id": "O1", "version": 1, "cards": [{}] * 3_000_000}
    replies.append(Reply(200, json.dumps(manifest, separators=(",", ":")).encode()))
    tracemalloc.start()
    try:
        with pytest.raises(GatewayBadAnswer, match="JSON objects"):
            client.manifest()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak / 2**20:.0f} MiB"

"""The gateway service as a real server (`loket-gateway serve`, gunicorn) and the kiosk's own client
against it: every answer checked by the client and by the server against openapi.yaml, every request
the contract refuses answered 400 (never a 500), paths and methods it lacks 404 and 405."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.gateway.client import GatewayClient, GatewayRefused
from kiosk.gateway.head import HeadSigner
from loket_gateway.app import GatewayApp
from loket_gateway.db import Database, migrate
from loket_gateway.gateway import Gateway
from tests.gw_kit import KEY, KIOSK, TODAY, seed, served

DAY = TODAY + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One seeded SQLite gateway served by two gunicorn workers for the module, and its residents."""
    folder = tmp_path_factory.mktemp("gw-http")
    url = f"sqlite:///{folder / 'gateway.db'}"
    gw = Gateway(Database(url), today=TODAY)
    migrate(gw.db)
    residents = seed(gw)
    signer = HeadSigner(KIOSK, Ed25519PrivateKey.generate())
    gw.anchors.register_key(KIOSK, signer.public_key)
    with served(url, folder / "serve.log") as base:
        yield base, gw, residents, signer
    gw.db.dispose()


@pytest.fixture
def client(server):
    c = GatewayClient(server[0], KIOSK, KEY, timeout_s=5, retries=0)
    yield c
    c.close()


def test_the_kiosks_client_runs_every_operation_against_the_real_server(server, client):
    _, gw, residents, signer = server
    ready = {r.card_id for r in residents if r.status == "ready_here"}
    assert {c.card_id for c in client.manifest()} == ready
    version, _, keys = client.manifest_since(None)
    assert keys is not None and {str(k): v for k, v in keys.items()} == gw.issuer.public_keys()
    assert client.manifest_since(version) == (version, None, None)
    for r in residents[:12]:
        assert client.lookup(r.nik).status == r.status
    chip = next(r for r in residents if r.old_chip_uid)
    assert client.resolve_chip(chip.old_chip_uid) == chip.nik and client.resolve_chip("04DEADBEEF0000") is None
    assert client.consume_ticket("0123456789abcdef")
    offices = client.offices()
    slots = client.slots(offices[1].office_id, DAY)
    free, full = next(s for s in slots if s.remaining), next(s for s in slots if not s.remaining)
    code = client.book("http-b1", residents[0].nik, offices[1].office_id, free.day, free.time)
    assert client.book("http-b1", residents[0].nik, offices[1].office_id, free.day, free.time) == code
    with pytest.raises(GatewayRefused) as exc:
        client.book("http-b2", residents[0].nik, offices[1].office_id, full.day, full.time)
    assert exc.value.code == "slot_full"
    assert client.send_events([{"id": "http-e1", "kind": "x", "payload": {}}]).accepted == ("http-e1",)
    assert client.heartbeat({"journal_head": signer.sign(3, "ab" * 32).to_json()}).verdict == "anchored"
    assert [a.seq for a in client.anchors()] == [3]
    assert client.leases(DAY, days=2)


def _post(base, path, body=None, *, raw=None, headers=None, method="POST"):
    h = {"X-Kiosk-Id": KIOSK, "Authorization": f"Bearer {KEY}", **(headers or {})}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    return requests.request(method, base + path, data=data, headers=h, timeout=5)


@pytest.mark.parametrize(
    ("path", "body", "raw", "where"),
    [
        ("/v1/lookup", {"nik": {"an": "object"}}, None, "nik"),
        ("/v1/lookup", {"nik": "12345"}, None, "nik"),
        ("/v1/events", None, None, "body: required"),
        ("/v1/events", {"events": [{"id": "", "kind": "x"}]}, None, "id"),
        (
            "/v1/bookings",
            {"booking_id": "", "nik": "5371046508900001", "office_id": "K", "day": "2026-11-24", "time": "08:00"},
            None,
            "booking_id",
        ),
        (
            "/v1/bookings",
            {"booking_id": "b", "nik": "5371046508900001", "office_id": "K", "day": "2026-13-45", "time": "08:00"},
            None,
            "day",
        ),
        ("/v1/enrol", {"token": "", "kiosk_id": "K-1"}, None, "token"),
        ("/v1/lookup", None, b"{not json", "not JSON"),
        ("/v1/lookup", None, b"[" * 100_000, "JSON"),
        ("/v1/tickets/NOT-A-TICKET/consume", {}, None, "ticket_id"),
    ],
)
def test_a_request_the_contract_refuses_is_400_naming_the_field_never_a_500(server, path, body, raw, where):
    answer = _post(server[0], path, body, raw=raw)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "bad_request" and where in answer.json()["message"]
    assert "5371046508900001" not in answer.text  # a refusal names the field, never echoes its value


@pytest.mark.parametrize("query", ["since_version=abc", "since_version=-1", "since_version=1&since_version=2"])
def test_a_bad_query_parameter_is_400(server, query):
    answer = _post(server[0], f"/v1/kiosks/{KIOSK}/manifest?{query}", method="GET")
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"


def test_a_body_beyond_the_bound_is_refused_without_being_read_whole(server):
    answer = _post(server[0], "/v1/events", raw=b" " * (5 * 1024 * 1024))
    assert answer.status_code == 400 and "larger than" in answer.json()["message"]


def test_paths_and_methods_outside_the_contract_are_404_and_405(server):
    base = server[0]
    assert _post(base, "/v1/nothing", {}).status_code == 404
    for method in ("TRACE", "DELETE", "PUT", "HEAD"):
        answer = _post(base, "/v1/lookup", method=method)
        assert answer.status_code == 405 and answer.headers["Allow"] == "POST", method
    assert _post(base, "/metrics", method="POST").status_code == 405


def test_a_wrong_key_is_401_and_another_kiosks_manifest_403(server):
    base = server[0]
    assert (
        _post(base, "/v1/lookup", {"nik": "5371046508900001"}, headers={"Authorization": "Bearer no"}).status_code
        == 401
    )
    answer = _post(base, "/v1/kiosks/KIOSK-99/manifest", method="GET")
    assert answer.status_code == 403 and answer.json()["error"] == "forbidden"


def test_metrics_count_requests_across_workers_and_read_the_fleet_from_the_database(server, client):
    for _ in range(6):
        client.offices()
    with urllib.request.urlopen(server[0] + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    counted = [line for line in text.splitlines() if line.startswith('gateway_requests_total{operation="listOffices"')]
    assert counted and float(counted[0].split()[-1]) >= 6
    assert "gateway_request_seconds_bucket" in text and "gateway_kiosks 1.0" in text
    with urllib.request.urlopen(server[0] + "/fleet", timeout=5) as answer:
        assert KIOSK in answer.read().decode()


def _call(app, method, path, body=b"", headers=None):
    """One request through the WSGI app in this process."""
    import io

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_KIOSK_ID": KIOSK,
        "HTTP_AUTHORIZATION": f"Bearer {KEY}",
        **(headers or {}),
    }
    seen: dict[str, str] = {}
    out = b"".join(app(environ, lambda status, hdrs: seen.update(status=status)))
    return int(seen["status"].split()[0]), json.loads(out)


def test_an_answer_outside_the_contract_is_never_sent(tmp_path):
    gw = Gateway(Database(f"sqlite:///{tmp_path / 'g.db'}"), today=TODAY)
    migrate(gw.db)
    seed(gw)

    def broken(kiosk, p, body):  # an answer the contract does not allow: an empty name, a bad district
        return {"offices": [{"office_id": "X", "name": "", "district": "bad"}]}

    gw.listOffices = broken  # type: ignore[method-assign]
    status, body = _call(GatewayApp(gw), "GET", "/v1/offices")
    assert (status, body["error"]) == (500, "internal")
    gw.db.dispose()


def test_behind_mutual_tls_the_app_wants_the_kiosks_own_certificate(tmp_path):
    gw = Gateway(Database(f"sqlite:///{tmp_path / 'g.db'}"), today=TODAY)
    migrate(gw.db)
    seed(gw)
    app = GatewayApp(gw, client_cert_required=True)
    assert _call(app, "GET", "/v1/offices")[1]["error"] == "client_certificate_required"
    assert (
        _call(app, "GET", "/v1/offices", headers={"loket.peer_cn": "KIOSK-02"})[1]["error"] == "certificate_other_kiosk"
    )
    assert _call(app, "GET", "/v1/offices", headers={"loket.peer_cn": KIOSK})[0] == 200
    gw.db.dispose()

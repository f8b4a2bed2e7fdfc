"""The gateway contract seen from the kiosk: what the client receives from the real gateway (kiosk.sim.office)
validates against the schemas in openapi.yaml, and each status is documented. (The gateway routes from the
spec itself: tests/test_gw_http.py.)"""

import datetime as dt
import json
import re
from importlib import resources

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.gateway.client import GatewayClient, GatewayRefused
from kiosk.gateway.head import HeadSigner
from kiosk.sim.office import Office

SPEC = yaml.safe_load(resources.files("kiosk.gateway").joinpath("openapi.yaml").read_text())


def template_to_regex(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"{[^}]+}", r"[^/]+", path) + "$")


def operation_for(method: str, path: str) -> tuple[str, dict]:
    for template, ops in SPEC["paths"].items():
        if template_to_regex(template).match(path) and method.lower() in ops:
            return template, ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in openapi.yaml")


def test_nik_is_never_a_path_or_query_parameter():
    for ops in SPEC["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                assert "nik" not in p.get("name", "").lower()


@pytest.fixture
def recorded(tmp_path):
    sim = Office(tmp_path / "gw.db", seed=4, today=dt.date(2026, 11, 23))
    sim.start()
    client = GatewayClient(sim.url, sim.kiosk_id, sim.api_key, retries=0)
    seen = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    yield sim, client, seen
    client.close()
    sim.close()


def test_every_answer_matches_its_documented_schema(recorded):
    sim, client, seen = recorded
    r = sim.residents[0]
    client.manifest()
    for resident in sim.residents[:8]:
        client.lookup(resident.nik)
    client.lookup("5371046508909999")
    client.resolve_chip(next(x.old_chip_uid for x in sim.residents if x.old_chip_uid))
    client.resolve_chip("04DEADBEEF0000")
    client.consume_ticket("0123456789abcdef")
    offices = client.offices()
    slots = client.slots(offices[0].office_id, dt.date(2026, 11, 24))
    free = next(s for s in slots if s.remaining > 0)
    full = next(s for s in slots if s.remaining == 0)
    client.book("b1", r.nik, offices[0].office_id, free.day, free.time)
    with pytest.raises(GatewayRefused):
        client.book("b2", r.nik, offices[0].office_id, full.day, full.time)
    with pytest.raises(GatewayRefused):
        client.slots("NOPE", dt.date(2026, 11, 24))
    client.send_events([{"id": "e1", "kind": "x", "payload": {}}])
    signer = HeadSigner(sim.kiosk_id, Ed25519PrivateKey.generate())
    sim.register_journal_key(sim.kiosk_id, signer.public_key)
    assert client.heartbeat({"journal_head": signer.sign(3, "ab" * 32).to_json()}).verdict == "anchored"
    since = {"seq": 3, "hash": "cd" * 32}
    assert client.heartbeat({"journal_head": signer.sign(3, "ab" * 32).to_json(), "journal_since": since}).verdict == (
        "forked"
    )
    assert [a.seq for a in client.anchors()] == [3]
    client.leases(dt.date(2026, 11, 24), days=2)
    # every answer's body passed the client's own check against the contract (a mismatch raises
    # GatewayBadAnswer above); here: each status is documented, and what the client sent is too
    assert len(seen) >= 19
    for resp in seen:
        _, op = operation_for(resp.request.method, resp.request.path_url.split("?")[0])
        documented = op["responses"].get(str(resp.status_code))
        assert documented, f"{resp.request.method} {resp.request.path_url} answered undocumented {resp.status_code}"
        if resp.request.body:  # and what the client sent matches the documented request
            body_schema = dict(op["requestBody"]["content"]["application/json"]["schema"])
            body_schema["components"] = SPEC["components"]
            jsonschema.validate(json.loads(resp.request.body), body_schema)


def test_every_write_documents_its_idempotency_key_and_its_errors():
    for template, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if method == "post":
                assert op.get("x-idempotency-key"), f"POST {template} does not say how a retry is safe"
            errors = {code for code in op["responses"] if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {template} documents no error"
            assert "401" in errors, f"{method.upper()} {template} does not document the refusal of a wrong key"

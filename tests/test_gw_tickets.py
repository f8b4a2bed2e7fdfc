"""Queue tickets signed by the gateway: key IDs and rotation (a new key is published with the manifest
before it signs, an old one retired after), the queue system's issuing endpoint, and
`loket-gateway ticket` printing the QR code, whose contents a kiosk verifies."""

from __future__ import annotations

import json
import time

import zxingcpp
from PIL import Image

from kiosk.identity.ticket import Service, Ticket, public_key_from_hex, verify_ticket
from loket_gateway.app import GatewayApp
from loket_gateway.cli import main
from loket_gateway.demo import KIOSK_OFFICE
from tests.gw_kit import KIOSK

pytest_plugins = ["tests.gw_fixtures"]
NIK = "5371045003900011"


def _verify(text: str, keys: dict[str, str], now: float) -> Ticket:
    ticket = verify_ticket(text, {int(k): public_key_from_hex(v) for k, v in keys.items()}, KIOSK_OFFICE, now)
    assert isinstance(ticket, Ticket), ticket
    return ticket


def test_a_rotated_key_reaches_kiosks_with_the_manifest_before_it_signs_and_the_old_one_retires(gateway):
    gw, _ = gateway
    now = time.time()
    first = gw.issuer.signing_key(now=now)[0]
    before = gw.residents.manifest(KIOSK)
    assert before["ticket_keys"] == gw.issuer.public_keys() and list(before["ticket_keys"]) == [str(first)]
    new = gw.issuer.rotate(3600, now=now)
    published = gw.residents.manifest(KIOSK)
    assert set(published["ticket_keys"]) == {str(first), str(new)}
    assert published["version"] != before["version"]  # a kiosk polling with the old version fetches the keys
    early = _verify(gw.issuer.issue(NIK, Service.PICKUP, KIOSK_OFFICE, now=now), published["ticket_keys"], now)
    assert early.key_id == first and early.matches_nik(NIK)
    later = now + 3601
    assert gw.issuer.signing_key(now=later)[0] == new
    try:
        gw.issuer.retire(new, now=later)
        raise AssertionError("the key that signs now was retired")
    except ValueError as exc:
        assert "signs tickets now" in str(exc)
    gw.issuer.retire(first, now=later)
    after = gw.residents.manifest(KIOSK)["ticket_keys"]
    assert list(after) == [str(new)]
    ticket = _verify(gw.issuer.issue(NIK, Service.PICKUP, KIOSK_OFFICE, now=later), after, later)
    assert ticket.key_id == new


def _call(app, body, headers):
    import io

    raw = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/queue/v1/tickets",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        **headers,
    }
    seen: dict[str, str] = {}
    out = b"".join(app(environ, lambda status, hdrs: seen.update(status=status)))
    return int(seen["status"].split()[0]), json.loads(out)


def test_the_queue_system_issues_tickets_with_its_own_key_and_nothing_else_does(gateway):
    gw, _ = gateway
    key = gw.issuer.add_queue_client("antrean-1")
    app = GatewayApp(gw)
    auth = {"HTTP_X_QUEUE_CLIENT": "antrean-1", "HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = {"nik": NIK, "service": "pickup", "office_id": KIOSK_OFFICE, "valid_s": 600}
    status, answer = _call(app, body, auth)
    assert status == 200, answer
    ticket = _verify(answer["ticket"], gw.issuer.public_keys(), time.time())
    assert (ticket.ticket_id, ticket.key_id, ticket.not_after) == (
        answer["ticket_id"],
        answer["key_id"],
        answer["not_after"],
    )
    assert NIK not in json.dumps(answer)
    assert _call(app, body, {**auth, "HTTP_AUTHORIZATION": "Bearer wrong"})[0] == 401
    assert _call(app, body, {"HTTP_X_KIOSK_ID": KIOSK, "HTTP_AUTHORIZATION": "Bearer demo-key"})[0] == 401
    for bad in ({**body, "service": "loan"}, {**body, "nik": "5371040003900011"}, {**body, "extra": 1}):
        status, answer = _call(app, bad, auth)
        assert (status, answer["error"]) == (400, "bad_request") and NIK not in answer["message"]
    assert _call(app, {**body, "office_id": "NOWHERE"}, auth)[0] == 404


def test_the_ticket_command_prints_a_qr_code_a_kiosk_reads_and_verifies(db_url, gateway, tmp_path, capsys):
    gw, _ = gateway
    png = tmp_path / "ticket.png"
    assert main(["ticket", "--db", db_url, "--nik", NIK, "--service", "pickup", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    text = next(line for line in out.splitlines() if line.startswith("LM1:"))
    assert "█" in out and NIK not in out and f"pickup at {KIOSK_OFFICE}" in out
    found = zxingcpp.read_barcodes(Image.open(png))
    assert [b.text for b in found] == [text]
    assert _verify(text, gw.issuer.public_keys(), time.time()).matches_nik(NIK)
    assert main(["ticket", "--db", db_url, "--nik", "12345", "--service", "pickup"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("loket-gateway: --nik: not 16 digits")


def test_ticket_keys_rotates_and_refuses_to_retire_the_signing_key_in_one_line(db_url, gateway, capsys):
    assert main(["ticket-keys", "--db", db_url, "--rotate", "--publish-hours", "0"]) == 0
    out = capsys.readouterr().out
    assert "key 2 published" in out and "key 2: signing" in out and "key 1: published" in out
    assert main(["ticket-keys", "--db", db_url, "--retire", "2"]) == 2
    assert "signs tickets now" in capsys.readouterr().err
    assert main(["ticket-keys", "--db", db_url, "--retire", "1"]) == 0
    assert "key 1: retired" in capsys.readouterr().out

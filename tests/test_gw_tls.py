"""Mutual TLS at the real server: `kiosk provision` enrols a new kiosk over TLS with no certificate yet
(the one-time token is the credential) and gets a certificate signed by the office's CA; every other
operation wants the kiosk's own certificate, its common name the kiosk's ID."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.gateway.client import GatewayClient, GatewayRefused, GatewayUnavailable
from loket_gateway.db import Database, migrate
from loket_gateway.demo import KIOSK_OFFICE
from loket_gateway.gateway import Gateway
from tests.gw_kit import KEY, KIOSK, TODAY, seed, served
from tests.pki_kit import issue, make_ca


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gw-tls")
    url = f"sqlite:///{folder / 'gateway.db'}"
    gw = Gateway(Database(url), today=TODAY)
    migrate(gw.db)
    seed(gw)
    ca = make_ca(folder / "pki")
    cert = issue(ca, folder / "pki", "gateway", server_names=("127.0.0.1",))
    tls = [
        "--tls-cert",
        str(cert.cert),
        "--tls-key",
        str(cert.key),
        "--client-ca",
        str(ca.cert),
        "--ca-key",
        str(ca.key),
        "--handshake-timeout",
        "1.5",
    ]
    with served(url, folder / "serve.log", *tls, ca=ca.cert) as base:
        yield base, gw, ca, folder
    gw.db.dispose()


def test_provision_enrols_over_tls_and_the_new_kiosk_works_with_its_certificate(tls_server, tmp_path: Path, capsys):
    base, gw, ca, _ = tls_server
    token = gw.fleet.issue_enrolment_token("KUPANG-03", KIOSK_OFFICE)
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "gateway-ca.crt").write_bytes(ca.cert.read_bytes())
    enrol = tmp_path / "boot" / "loket-enrol.toml"
    enrol.write_text(f'kiosk_id = "KUPANG-03"\ngateway_url = "{base}"\ntoken = "{token}"\nca_file = "gateway-ca.crt"\n')
    config = tmp_path / "etc" / "kiosk.toml"
    args = ["provision", "--enrol", str(enrol), "--config", str(config), "--data-dir", str(tmp_path / "data")]
    assert main([*args, "--hardware", "sim"]) == 0, capsys.readouterr().err
    cfg = load_config(config)
    assert cfg.ticket_keys == {int(k): v for k, v in gw.issuer.public_keys().items()}
    client = GatewayClient(
        cfg.gateway_url, cfg.kiosk_id, cfg.api_key, ca_file=cfg.gateway_ca_file, client_cert=cfg.gateway_client_cert
    )
    assert client.manifest() is not None
    client.close()
    assert main([*args, "--hardware", "sim"]) == 1  # the token is spent
    assert "refused (unknown or already used)" in capsys.readouterr().err


def test_without_a_certificate_or_with_another_kiosks_every_operation_is_refused(tls_server):
    base, _, ca, folder = tls_server
    bare = GatewayClient(base, KIOSK, KEY, ca_file=ca.cert, retries=0)
    with pytest.raises(GatewayRefused) as none:
        bare.offices()
    assert (none.value.status, none.value.code) == (401, "client_certificate_required")
    other = issue(ca, folder / "other", "KIOSK-77")
    stolen = GatewayClient(base, KIOSK, KEY, ca_file=ca.cert, client_cert=(other.cert, other.key), retries=0)
    with pytest.raises(GatewayRefused) as wrong:
        stolen.offices()
    assert wrong.value.code == "certificate_other_kiosk"
    own = issue(ca, folder / "own", KIOSK)
    good = GatewayClient(base, KIOSK, KEY, ca_file=ca.cert, client_cert=(own.cert, own.key), retries=0)
    assert good.offices()
    for c in (bare, stolen, good):
        c.close()


def test_a_certificate_from_another_ca_fails_the_handshake(tls_server, tmp_path: Path):
    base, _, ca, _ = tls_server
    foreign_ca = make_ca(tmp_path / "foreign")
    forged = issue(foreign_ca, tmp_path / "foreign", KIOSK)
    client = GatewayClient(base, KIOSK, KEY, ca_file=ca.cert, client_cert=(forged.cert, forged.key), retries=0)
    with pytest.raises(GatewayUnavailable):
        client.offices()
    client.close()


def test_a_client_that_starts_the_handshake_and_stalls_is_dropped_in_time(tls_server):
    """gunicorn defers a connection that sends nothing; one that sends the first bytes of a ClientHello
    and stops used to hold a worker thread in the handshake for ever (HandshakeDeadline: 1.5 s here)."""
    base, _, ca, folder = tls_server
    host, port = base.removeprefix("https://").split(":")
    silent = socket.create_connection((host, int(port)), timeout=10)
    silent.sendall(b"\x16\x03\x01")  # a TLS record header, then nothing
    started = time.monotonic()
    own = issue(ca, folder / "own2", KIOSK)
    meanwhile = GatewayClient(base, KIOSK, KEY, ca_file=ca.cert, client_cert=(own.cert, own.key), retries=0)
    assert meanwhile.offices()  # the silent one holds one thread, not the worker
    meanwhile.close()
    with contextlib.suppress(ConnectionResetError):  # closed by the server, not by our own 10 s timeout
        assert silent.recv(1) == b""
    assert time.monotonic() - started < 5
    silent.close()

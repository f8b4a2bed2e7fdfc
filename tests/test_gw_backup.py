"""Backups as docs/gateway-deployment.md makes them: pg_dump of a gateway with data, pg_restore into a fresh
database, and the kiosk's own client syncing against a server on the restored database: what it had
delivered is known there (duplicates, not applied again), what is new is applied, nothing else lost."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.gateway.client import GatewayClient
from kiosk.gateway.head import HeadSigner
from loket_gateway.db import Database, schema_state
from loket_gateway.gateway import Gateway
from tests.gw_kit import KEY, KIOSK, TODAY, seed, served

pytest_plugins = ["tests.gw_fixtures"]
DAY = TODAY + dt.timedelta(days=1)


def _events(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"bk-e{i}", "kind": "kiosk_started", "seq": i, "payload": {}} for i in range(start, start + n)]


def test_a_restored_dump_serves_the_kiosk_with_nothing_lost_and_nothing_applied_twice(pg, tmp_path):
    server, template = pg
    source = server.create_database(template)
    gw = Gateway(Database(server.url(source)), today=TODAY)
    residents = seed(gw)
    signer = HeadSigner(KIOSK, Ed25519PrivateKey.generate())
    gw.anchors.register_key(KIOSK, signer.public_key)
    with served(server.url(source), tmp_path / "before.log", workers=1) as base:
        client = GatewayClient(base, KIOSK, KEY, timeout_s=5, retries=0)
        assert client.send_events(_events(5)).accepted == tuple(f"bk-e{i}" for i in range(5))
        slot = next(s for s in client.slots("KEC-01", DAY) if s.remaining)
        code = client.book("bk-b1", residents[0].nik, "KEC-01", slot.day, slot.time)
        client.heartbeat({"journal_head": signer.sign(7, "cd" * 32).to_json()})
        manifest = {c.card_id for c in client.manifest()}
        client.close()
    gw.db.dispose()

    dump = tmp_path / "gateway.dump"
    server.dump(source, dump)
    restored = server.create_database()  # empty: no schema until pg_restore
    server.restore(dump, restored)
    db = Database(server.url(restored))
    current, head = schema_state(db)
    assert current == head
    db.dispose()

    with served(server.url(restored), tmp_path / "after.log", workers=1) as base:
        client = GatewayClient(base, KIOSK, KEY, timeout_s=5, retries=0)
        ack = client.send_events(_events(8))  # the outbox redelivers all it had, and three new ones
        assert ack.duplicates == tuple(f"bk-e{i}" for i in range(5))
        assert ack.accepted == ("bk-e5", "bk-e6", "bk-e7")
        assert client.book("bk-b1", residents[0].nik, "KEC-01", slot.day, slot.time) == code  # held, not rebooked
        assert [a.seq for a in client.anchors()] == [7]
        assert client.heartbeat({"journal_head": signer.sign(9, "ef" * 32).to_json()}).verdict == "anchored"
        assert {c.card_id for c in client.manifest()} == manifest
        client.close()
    after = Gateway(Database(server.url(restored)), today=TODAY)
    assert len(after.events.ids()) == 8 and after.events.redelivered() == 5
    after.db.dispose()

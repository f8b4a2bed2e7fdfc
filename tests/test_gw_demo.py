"""`loket-gateway seed --demo`: the demo town the kiosk's demo, `kiosk simulate` and tests run on
(kiosk.sim.office), drawn the same for a seed, loaded idempotently, with KIOSK-01, its key and the demo's
queue-ticket key."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from kiosk.sim.office import Office, town
from loket_gateway.cli import main
from loket_gateway.db import Database
from loket_gateway.demo import OFFICES, demo_ticket_key, demo_town
from loket_gateway.gateway import Gateway
from loket_gateway.schema import card_photos, residents, slots

pytest_plugins = ["tests.gw_fixtures"]
TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(("seed", "per_status"), [(1, 2), (5, 2), (9, 1)])
def test_the_demo_town_is_drawn_the_same_for_a_seed(seed, per_status):
    first, first_slots = demo_town(seed, TODAY, per_status)
    again, again_slots = demo_town(seed, TODAY, per_status)
    assert (first, first_slots) == (again, again_slots)
    assert demo_town(seed + 1, TODAY, per_status)[0] != first
    assert len({r.nik for r in first}) == len(first) == 6 * 6 * per_status
    assert {o for o, _, _, _ in first_slots} == {o for o, _, _ in OFFICES}


def test_the_kiosk_harness_runs_on_the_seeded_gateway(tmp_path):
    office = Office(tmp_path / "gateway.db", seed=5, today=TODAY)
    records = {r.nik: r for r in demo_town(5, TODAY)[0]}
    for r in office.residents:  # the kiosk's view of the town is the gateway's rows
        held = records[r.nik]
        ours = (r.name, r.status, r.card_id, r.old_chip_uid, r.new_chip_uid, r.office_id)
        assert ours == (held.name, held.status, held.card_id, held.old_chip_uid, held.new_chip_uid, held.office_id)
    assert office.ticket_public_key_hex == demo_ticket_key(5).public_key().public_bytes_raw().hex()
    office.close()


def _counts(url):
    db = Database(url)
    with db.read() as conn:
        found = [
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (residents, slots, card_photos)
        ]
    db.dispose()
    return found


def test_seed_demo_loads_the_town_once_however_often_it_runs(db_url, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (40, 50), "gray").save(buf, "JPEG")
    (photos / "C00001.jpg").write_bytes(buf.getvalue())
    args = ["seed", "--demo", "--db", db_url, "--today", TODAY.isoformat(), "--photos", str(photos)]
    assert main(args) == 0
    assert "kiosk KIOSK-01 with API key demo-key" in capsys.readouterr().out
    first = _counts(db_url)
    assert main(args) == 0 and _counts(db_url) == first and first[2] == 1
    gw = Gateway(Database(db_url), today=TODAY)
    assert gw.fleet.authenticate("KIOSK-01", "demo-key") == "KIOSK-01"
    assert gw.issuer.public_keys() == {"1": demo_ticket_key(1).public_key().public_bytes_raw().hex()}
    ready = {r.card_id for r in town(1, 2) if r.status == "ready_here"}
    assert {c["card_id"] for c in gw.residents.manifest("KIOSK-01")["cards"]} == ready
    gw.db.dispose()

"""`loket-gateway seed --demo`: the simulator's town (kiosk/sim/seed.py) drawn again by the gateway, draw for
draw the same, loaded idempotently, with KIOSK-01, its key and the simulator's queue-ticket key."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from kiosk.sim.gateway.issuer import TicketIssuer as SimIssuer
from kiosk.sim.seed import OFFICES, gateway_rows, seed_residents
from loket_gateway.cli import main
from loket_gateway.db import Database
from loket_gateway.demo import OFFICES as DEMO_OFFICES
from loket_gateway.demo import demo_town
from loket_gateway.gateway import Gateway
from loket_gateway.schema import card_photos, residents, slots

pytest_plugins = ["tests.gw_fixtures"]
TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(("seed", "per_status"), [(1, 2), (5, 2), (9, 1)])
def test_the_demo_town_is_the_simulators_draw_for_draw(seed, per_status):
    town = seed_residents(seed, per_status)
    sim_rows, sim_slots = gateway_rows(seed, TODAY, town)
    ours, our_slots = demo_town(seed, TODAY, per_status)
    assert DEMO_OFFICES == OFFICES
    assert [
        (
            r.nik,
            r.name,
            r.district,
            r.status,
            r.since.isoformat(),
            r.old_chip_uid,
            r.card_id,
            r.new_chip_uid,
            r.office_id,
        )
        for r in ours
    ] == [(r[0], *r[2:]) for r in sim_rows]
    assert [(o, d.isoformat(), t, c) for o, d, t, c in our_slots] == sim_slots


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
    assert gw.issuer.public_keys() == {"1": SimIssuer(1).public_key_hex}
    ready = {r.card_id for r in seed_residents(1, 2) if r.status == "ready_here"}
    assert {c["card_id"] for c in gw.residents.manifest("KIOSK-01")["cards"]} == ready
    gw.db.dispose()

"""`loket-gateway bench` in short: 20 kiosks for a few seconds against the real server (gunicorn, mutual
TLS) on a throwaway PostgreSQL. Correctness only (no event lost or stored twice, no slot overbooked, the
JSON line's shape), never timing."""

from __future__ import annotations

import json

import pytest

from loket_gateway.bench import KINDS
from loket_gateway.cli import main
from tests.pgserver import binaries

pytestmark = pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed")


def test_a_short_bench_loses_no_event_duplicates_none_and_overbooks_no_slot(capsys):
    args = ["bench", "--kiosks", "20", "--minutes", "2", "--minute-s", "2", "--workers", "2", "--seed", "3", "--json"]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    r = json.loads(out[0])
    assert r["kiosks"] == 20 and r["errors"] == []
    assert set(r["mix"]) == set(KINDS) and set(r["latency"]) == set(KINDS)
    assert r["mix"]["heartbeat"] == r["mix"]["events"] == 40  # one of each per kiosk per minute
    assert r["requests"] == sum(r["mix"].values())
    assert set(r["statuses"]) <= {"200", "409"}  # a full slot is a 409, never a 5xx
    assert r["events_sent"] == 20 * 2 * 6 and r["events_stored"] == r["events_sent"]
    assert r["events_lost"] == 0 and r["events_duplicated"] == 0
    assert r["bookings_lost"] == 0 and r["overbooked_slots"] == 0
    for figures in r["latency"].values():
        assert set(figures) == {"p50_ms", "p99_ms"}

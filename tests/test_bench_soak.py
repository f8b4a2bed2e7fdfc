"""`kiosk bench soak`: the short form CI runs (two simulated days, a few seconds), and proof that the
harness can fail: an event the gateway never received, and memory that grows each journey."""

from __future__ import annotations

import json
import os

from kiosk.bench import soak
from kiosk.cli import main
from kiosk.gateway.answers import EventsAck
from kiosk.gateway.client import GatewayClient
from kiosk.sim.journeys import Visitor


def _soak(capsys, *args: str) -> tuple[int, dict]:
    code = main(["bench", "soak", "--days", "2", "--per-day", "30", "--json", *args])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_two_simulated_days_with_faults_lose_and_duplicate_nothing(capsys):
    code, r = _soak(capsys)
    assert code == 0, r
    assert r["journeys"] == 60 and r["events_sent"] > 60
    assert r["events_lost"] == r["events_duplicated"] == r["journal_breaks"] == r["outbox_pending"] == 0
    assert sum(r["faults"].values()) > 0 and r["faults"]["outage"] > 0
    assert "operator" in r["outcomes"] and r["outcomes"].get("handed_over", 0) > 0
    assert len(r["rss_by_day_kib"]) == 2


def test_an_event_acknowledged_but_never_received_is_counted_lost(capsys, monkeypatch):
    real = GatewayClient.send_events
    dropped: list[str] = []

    def lossy(self, events):  # a gateway that says "accepted" for the first batch and keeps nothing
        if not dropped:
            dropped.extend(e["id"] for e in events)
            return EventsAck(tuple(dropped), ())
        return real(self, events)

    monkeypatch.setattr(GatewayClient, "send_events", lossy)
    code, r = _soak(capsys)
    assert code == 1
    assert r["events_lost"] == len(dropped) > 0


def test_memory_that_grows_every_journey_fails_the_slope(capsys, monkeypatch):
    kept: list[bytes] = []
    finish = Visitor.finish

    def leaky(self):
        kept.append(os.urandom(256 * 1024))  # 256 KiB a visit, 30 visits a day: 7.5 MiB a day
        finish(self)

    monkeypatch.setattr(Visitor, "finish", leaky)
    code, r = _soak(capsys, "--days", "3")
    assert code == 1
    assert r["rss_slope_kib_per_day"] > soak.SLOPE_GOAL_KIB

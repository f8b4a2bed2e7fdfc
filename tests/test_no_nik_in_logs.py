"""No NIK in any log line or URL: a day of scripted journeys at DEBUG, every record and every request
path the gateway saw, searched for every resident's NIK (before any masking filter)."""

from __future__ import annotations

import logging
import re

import pytest

from kiosk.sim import journeys as simulate
from kiosk.sim.world import World


def test_a_simulated_day_logs_no_nik_and_puts_none_in_a_url(caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    worlds: list[World] = []
    real_build = simulate.build_world

    def keep(*args, **kwargs):
        world = real_build(*args, **kwargs)
        worlds.append(world)
        return world

    monkeypatch.setattr(simulate, "build_world", keep)
    caplog.set_level(logging.DEBUG)
    summary = simulate.run_simulation(60, seed=3)
    assert summary["errors"] == 0
    (world,) = worlds
    niks = {r.nik for r in world.gateway.residents}
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) > 200, "the run did log"
    leaks = [line for line in lines if any(nik in line for nik in niks)]
    assert leaks == [], leaks[:3]
    paths = world.gateway.access_log
    assert paths, "the simulator saw requests"
    assert not [p for p in paths if re.search(r"\d{16}", p)]
    masked = [line for line in lines if re.search(r"\*{12}\d{4}", line)]
    assert masked, "NIKs show up masked where the journey mentions them"

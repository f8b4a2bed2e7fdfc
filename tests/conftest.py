"""Shared fixtures: a simulated kiosk world on a real SQLite file and a real loopback HTTP gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_USE_DEFAULTCONFIG", "1")

from kiosk.runner.effects import InlineExecutor
from kiosk.sim.journeys import SimClock
from kiosk.sim.world import World, build_world

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"
SHARED = Path(os.environ.get("KIOSK_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


def _missing_shared(path: Path) -> str:
    return f"external test data missing: {path} (clone the repository beside shared/, or set KIOSK_SHARED)"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The external test data is part of the suite: without it the run fails, it never skips quietly."""
    if not SHARED.joinpath("data").is_dir():
        raise pytest.UsageError(_missing_shared(SHARED / "data"))


def shared_file(*parts: str) -> Path:
    """A file of the external test data in ../shared/data (KIOSK_SHARED points elsewhere)."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.fail(_missing_shared(path))
    return path


START = 1_790_000_000.0  # a fixed moment (2026-09-21 UTC) so tests do not depend on the date


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def world(tmp_path: Path, clock: SimClock) -> Iterator[World]:
    """A kiosk with simulated hardware; effects run inline, time moves only when the test says."""
    w = build_world(tmp_path / "kiosk", seed=3, clock=clock, executor=InlineExecutor(), auto_take=True)
    yield w
    w.close()


@pytest.fixture(scope="session")
def ui_session(tmp_path_factory: pytest.TempPathFactory):
    """The kiosk app in the real Kivy window (one per test session: Kivy has one window), on a simulated
    world with real worker threads; see tests/uikit.py."""
    from tests.uikit import open_ui

    yield from open_ui(tmp_path_factory)


@pytest.fixture
def ui(ui_session):
    """The shared window, as each UI test must find it whatever ran before: idle, default text, the day the
    world was seeded for (tests/uikit.py fresh_start)."""
    from tests.uikit import fresh_start

    fresh_start(*ui_session)
    return ui_session

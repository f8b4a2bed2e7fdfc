"""Fixtures for the gateway service's tests (tests/test_gw_*.py load them with `pytest_plugins`): a
PostgreSQL server per session, a migrated database per test on either backend, a seeded Gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.sim.office import Resident
from loket_gateway.db import Database, migrate
from loket_gateway.gateway import Gateway
from tests.gw_kit import TODAY, seed
from tests.pgserver import PgServer


@pytest.fixture(scope="session")
def pg() -> Iterator[tuple[PgServer, str]]:
    """The session's PostgreSQL server and the name of a migrated template database."""
    server = PgServer().start()
    template = server.create_database()
    db = Database(server.url(template))
    migrate(db)
    db.dispose()
    yield server, template
    server.stop()


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of this backend for one test."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        db = Database(url)
        migrate(db)
        db.dispose()
        return url
    server, template = request.getfixturevalue("pg")
    return server.url(server.create_database(template))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path, request)


@pytest.fixture
def gateway(db_url: str) -> Iterator[tuple[Gateway, list[Resident]]]:
    """A seeded gateway on either backend, and its residents."""
    gw = Gateway(Database(db_url), today=TODAY)
    residents = seed(gw)
    yield gw, residents
    gw.db.dispose()

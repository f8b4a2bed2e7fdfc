"""Fifty kiosks racing through eight gateway worker processes on one PostgreSQL: the database alone keeps
events applied once, slots within capacity, leases never overdrawn and enrolment tokens single-use.

Every phase starts at a barrier, so the kiosks' requests meet; the same batch of events, the same token
and the same ticket are sent over different connections at once. The checks read the database after."""

from __future__ import annotations

import collections
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import func, select

from loket_gateway.db import Database
from loket_gateway.demo import KIOSK_OFFICE, OFFICES
from loket_gateway.gateway import Gateway
from loket_gateway.schema import bookings, enrolment_tokens, events, leases, slots
from tests.gw_kit import TODAY, served

pytest_plugins = ["tests.gw_fixtures"]
KIOSKS, WORKERS = 50, 8
DAY = TODAY + dt.timedelta(days=1)
TIMES = {"08:00": 7, "09:00": 13, "10:00": 29}  # 49 places for 50 kiosks' leases and 150 bookings
TICKETS = [f"{n:016x}" for n in range(1, 6)]


class Kiosk:
    """One racing kiosk: its credentials, its session, and what the gateway answered it."""

    def __init__(self, base: str, n: int, token: str) -> None:
        self.base, self.n, self.id, self.token = base, n, f"RACE-{n:02d}", token
        self.session = requests.Session()
        self.answers: list[tuple[str, int, Any]] = []

    def call(self, method: str, path: str, body: Any, as_kiosk: Kiosk | None = None) -> tuple[int, Any]:
        who = as_kiosk or self
        headers = {"X-Kiosk-Id": who.id, "Authorization": f"Bearer key-{who.n}"}
        answer = self.session.request(method, self.base + path, json=body, headers=headers, timeout=30)
        self.answers.append((path, answer.status_code, answer.json()))
        return answer.status_code, answer.json()


def batch(k: Kiosk) -> list[dict[str, Any]]:
    return [{"id": f"ev-{k.n}-{j}", "kind": "refused", "payload": {}} for j in range(10)]


def offline(k: Kiosk) -> list[dict[str, Any]]:
    """Two offline bookings on every slot: one more than each lease of one place allows."""
    found = []
    for t in TIMES:
        for j in range(2):
            booking = {"booking_id": f"off-{k.n}-{t}-{j}", "nik": "5371046508900001", "office_id": "KEC-01"}
            booking |= {"day": DAY.isoformat(), "time": t, "code": f"K{k.n}{t[:2]}{j}"}
            found.append({"id": f"ob-{k.n}-{t}-{j}", "kind": "booking_offline", "payload": booking})
    return found


def partner(k: Kiosk, fleet: list[Kiosk], round_no: int) -> Kiosk:
    """The kiosk whose token and events this one presents in a round: the same for three kiosks at once,
    and over three rounds every kiosk's."""
    return fleet[(k.n // 3 + 17 * round_no) % KIOSKS]


def race(k: Kiosk, fleet: list[Kiosk], barrier: threading.Barrier) -> None:
    """One kiosk's part: enrolment, leases with bookings, events redelivered, tickets; a barrier before each
    round, so that the same token, batch or ticket arrives over several connections at once."""
    for r in range(3):
        barrier.wait()
        o = partner(k, fleet, r)
        k.call("POST", "/v1/enrol", {"token": o.token, "kiosk_id": f"NEW-{o.n:02d}"})
    barrier.wait()
    k.call("POST", f"/v1/kiosks/{k.id}/leases", {"from": DAY.isoformat(), "days": 1, "per_slot": 1})
    for j, t in enumerate([*TIMES, "08:00"]):
        body = {"booking_id": f"bk-{k.n}-{j % 3}", "nik": "5371046508900001", "office_id": "KEC-01"}
        k.call("POST", "/v1/bookings", body | {"day": DAY.isoformat(), "time": t})
    for r in range(3):
        barrier.wait()
        o = partner(k, fleet, r)
        k.call("POST", "/v1/events", {"events": batch(o)}, as_kiosk=o)
        k.call("POST", "/v1/events", {"events": offline(o)}, as_kiosk=o)
    barrier.wait()
    for t in TICKETS[k.n % 5 :] + TICKETS[: k.n % 5]:
        k.call("POST", f"/v1/tickets/{t}/consume", {})


def _setup(url: str) -> tuple[Gateway, list[str]]:
    gw = Gateway(Database(url), today=TODAY)
    gw.office.load_offices(OFFICES)
    gw.office.load_slots(("KEC-01", DAY, t, c) for t, c in TIMES.items())
    tokens = []
    for n in range(KIOSKS):
        gw.fleet.add_kiosk(f"RACE-{n:02d}", KIOSK_OFFICE, f"key-{n}")
        tokens.append(gw.fleet.issue_enrolment_token(f"NEW-{n:02d}", KIOSK_OFFICE))
    return gw, tokens


def _answers(fleet: list[Kiosk], prefix: str) -> list[tuple[str, int, Any]]:
    return [a for k in fleet for a in k.answers if a[0].startswith(prefix)]


def test_fifty_kiosks_racing_eight_workers_leave_no_duplicate_overbooking_overdraw_or_double_spend(pg, tmp_path):
    server, template = pg
    url = server.url(server.create_database(template))
    gw, tokens = _setup(url)
    with served(url, tmp_path / "serve.log", "--threads", "4", workers=WORKERS) as base:
        fleet = [Kiosk(base, n, tokens[n]) for n in range(KIOSKS)]
        barrier = threading.Barrier(KIOSKS, timeout=120)
        with ThreadPoolExecutor(KIOSKS) as pool:
            for done in [pool.submit(race, k, fleet, barrier) for k in fleet]:
                done.result()
    statuses = collections.Counter(a[1] for k in fleet for a in k.answers)
    assert set(statuses) <= {200, 401, 409}, statuses  # no 500, no 503: every race was decided, none lost

    # enrolment: each token spent exactly once, every other presentation refused
    enrolled = collections.Counter(a[2]["kiosk_id"] for a in _answers(fleet, "/v1/enrol") if a[1] == 200)
    assert enrolled == {f"NEW-{n:02d}": 1 for n in range(KIOSKS)}
    # events: each applied once, the others counted as duplicates
    accepted = collections.Counter(e for a in _answers(fleet, "/v1/events") for e in a[2]["accepted"])
    sent = sum(len(a[2]["accepted"]) + len(a[2]["duplicates"]) for a in _answers(fleet, "/v1/events"))
    assert set(accepted.values()) == {1} and len(accepted) == KIOSKS * (10 + 2 * len(TIMES))
    # tickets: one owner each
    owners = {
        t: {k.id for k in fleet for a in k.answers if a[0] == f"/v1/tickets/{t}/consume" and a[1] == 200}
        for t in TICKETS
    }
    assert all(len(o) == 1 for o in owners.values()), owners
    # replayed bookings: the same code every time
    codes: dict[str, set[str]] = collections.defaultdict(set)
    for _, status, body in _answers(fleet, "/v1/bookings"):
        if status == 200:
            codes[body["booking_id"]].add(body["code"])
    assert all(len(c) == 1 for c in codes.values())

    with gw.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == len(accepted)
        assert conn.execute(select(func.sum(events.c.deliveries))).scalar() == sent
        assert conn.execute(select(func.count()).where(enrolment_tokens.c.spent.is_(None))).scalar() == 0
        for t, capacity in TIMES.items():
            booked = conn.execute(select(slots.c.booked).where(slots.c.time == t)).scalar_one()
            online = conn.execute(
                select(func.count()).where(bookings.c.time == t, bookings.c.booking_id.like("bk-%"))
            ).scalar_one()
            drawn = conn.execute(
                select(func.count()).where(bookings.c.time == t, bookings.c.booking_id.like("off-%"))
            ).scalar_one()
            granted, used = conn.execute(
                select(func.coalesce(func.sum(leases.c.granted), 0), func.coalesce(func.sum(leases.c.used), 0)).where(
                    leases.c.time == t
                )
            ).one()
            assert booked == online + granted <= capacity, (t, booked, online, granted)  # never overbooked
            assert booked == capacity  # and the race used every place
            assert drawn == used <= granted, (t, drawn, used, granted)  # never overdrawn
        overdrawn = conn.execute(select(func.count()).where(leases.c.used > leases.c.granted)).scalar()
        assert overdrawn == 0
    gw.db.dispose()

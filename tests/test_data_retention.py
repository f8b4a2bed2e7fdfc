"""Personal data is kept only while needed (issue 13, docs/data-protection.md): a card's NIK and template
leave the store, tables and file bytes, when the card leaves; delivered outbox events hold no whole NIK;
old delivered events and seen statuses are pruned; the journal holds masked NIKs only. On a real SQLite
file, through the real store and, where the journey is the point, the simulated kiosk."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.camera import HeldTicket, Nothing
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Service
from kiosk.store import Store
from kiosk.store.outbox import masked
from kiosk.store.retention import DELIVERED_EVENTS_KEPT_S, KNOWN_STATUS_KEPT_DAYS
from tests.test_offline import pickup

NIK = "5371046508900001"
OTHER_NIK = "5371011203850002"
WHOLE_NIK = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def cells_holding(db_path: Path, needle: str | bytes) -> list[str]:
    """Every table.column of the database with a value that contains `needle` (text or blob)."""
    found = []
    with closing(sqlite3.connect(db_path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for column in [r[1] for r in db.execute(f"PRAGMA table_info({table})")]:
                if isinstance(needle, bytes):
                    sql = f"SELECT COUNT(*) FROM {table} WHERE instr(CAST({column} AS BLOB), ?) > 0"
                else:
                    sql = f"SELECT COUNT(*) FROM {table} WHERE instr(CAST({column} AS TEXT), ?) > 0"
                if db.execute(sql, (needle,)).fetchone()[0]:
                    found.append(f"{table}.{column}")
    return found


def files_holding(db_path: Path, needle: bytes) -> list[str]:
    """The store's files (database, WAL, shared memory) whose raw bytes contain `needle`."""
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    return sorted(p.name for p in files if needle in p.read_bytes())


@pytest.fixture
def now() -> list[float]:
    return [1_790_000_000.0]


@pytest.fixture
def store(tmp_path: Path, now: list[float]):
    s = Store(tmp_path / "kiosk.db", clock=lambda: now[0])
    yield s
    s.close()


def released(store: Store, slot: int, card_id: str) -> None:
    store.finish_release(store.begin_release(slot, card_id), "taken")


# -- a card that leaves takes its NIK, chip UIDs and template with it ----------------------------------


def test_a_released_cards_nik_and_template_are_gone_from_every_table_and_the_file_bytes(store):
    store.load_card(1, "C1", NIK, "04AA11", old_chip_uid="0BB22")
    store.load_card(2, "C2", OTHER_NIK, "04CC33")
    template = b"\x8a\x13sealed-template-of-C1\xfe" * 4
    store.put_template("C1", template)
    assert cells_holding(store.path, NIK) == ["inventory.nik"], "the search finds a NIK where there is one"
    assert files_holding(store.path, NIK.encode()), "... and in the file"
    released(store, 1, "C1")
    assert cells_holding(store.path, NIK) == []
    assert cells_holding(store.path, "0BB22") == [] and cells_holding(store.path, "04AA11") == []
    assert cells_holding(store.path, template) == [] and store.template("C1") is None
    assert files_holding(store.path, NIK.encode()) == [], "no old copy in the WAL or in freed space"
    assert files_holding(store.path, template) == []
    assert files_holding(store.path, b"0BB22") == []
    # what the journal and reconciliation need stays: the card ID, the release and its outcome
    assert store.open_releases() == [] and store.verify_journal() == []
    assert [d["card"] for _, _, kind, d in store.journal_rows() if kind == "release_outcome"] == ["C1"]
    # the card still in the vault keeps its NIK (it is needed to hand that card over)
    assert store.card_for_nik(OTHER_NIK) is not None and cells_holding(store.path, OTHER_NIK) == ["inventory.nik"]


def test_an_unloaded_cards_nik_leaves_the_store_too(store):
    store.load_card(3, "C3", NIK, "04DD44")
    store.put_template("C3", b"\x01\x02sealed-C3\x03" * 4)
    store.unload_card(3, "expired", "Budi")
    assert cells_holding(store.path, NIK) == [] and store.template_count() == 0
    assert files_holding(store.path, NIK.encode()) == []


@pytest.mark.parametrize("outcome", ["not_taken", "jammed", "not_released"])
def test_a_card_that_did_not_leave_keeps_its_row(store, outcome):
    store.load_card(1, "C1", NIK, "04AA11")
    store.finish_release(store.begin_release(1, "C1"), outcome)
    assert store.card_for_nik(NIK) is not None


def test_a_pickup_through_the_kiosk_leaves_no_nik_of_the_resident_in_the_store(world, clock):
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    path = world.store.path
    assert "inventory.nik" in cells_holding(path, r.nik)
    pickup(world, clock, r)  # ticket, old card, face, the new card's tap, finish
    world.sync.drain_once()
    assert cells_holding(path, r.nik) == []
    assert files_holding(path, r.nik.encode()) == []
    assert cells_holding(path, r.old_chip_uid) == [] and cells_holding(path, r.new_chip_uid) == []
    handover = [d for _, _, kind, d in world.store.journal_rows() if kind == "handover"]
    assert [d["nik"] for d in handover] == [mask_nik(r.nik)], "the journal keeps the masked NIK"


# -- delivered outbox events hold no whole NIK --------------------------------------------------------


def book_offline(world, clock, r) -> None:
    world.gateway.faults.down = True
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.RECORDING, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Nothing())
    world.kiosk.dispatch(ev.Press(ev.TYPE_NIK))
    s = world.kiosk.dispatch(ev.NikRead(r.nik, "typed"))
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_OFFICE, s.offices[0].office_id))
    s = world.kiosk.dispatch(ev.Press(ev.CHOOSE_DAY, s.days[0]))
    world.kiosk.dispatch(ev.Press(ev.CHOOSE_TIME, s.times[0].time))
    s = world.kiosk.dispatch(ev.Press(ev.CONFIRM))
    assert s.step == Step.BOOKED and s.booking.code.startswith("L"), s
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.gateway.faults.down = False


def test_an_offline_bookings_nik_is_whole_until_delivered_then_masked(world, clock):
    world.kiosk.gateway.timeout = (0.2, 0.2)
    r = world.residents("never_recorded")[0]
    book_offline(world, clock, r)
    (pending,) = [i for i in world.store.pending() if i.kind == "booking_offline"]
    assert pending.payload["nik"] == r.nik, "the gateway needs the whole NIK to book"
    world.sync.drain_once()
    assert world.store.pending_count() == 0 and len(world.gateway.booking_codes()) == 1, "the gateway booked it"
    path = world.store.path
    assert cells_holding(path, r.nik) == []
    assert files_holding(path, r.nik.encode()) == []
    with closing(sqlite3.connect(path)) as db:
        (payload,) = db.execute("SELECT json_extract(payload, '$.nik') FROM outbox WHERE kind='booking_offline'")
        payloads = [row[0] for row in db.execute("SELECT payload FROM outbox WHERE delivered IS NOT NULL")]
    assert payload == (mask_nik(r.nik),)
    assert payloads and not any(WHOLE_NIK.search(p) for p in payloads), "no delivered event holds a whole NIK"


def test_the_stores_mask_is_the_journals(store):
    for text in (NIK, "1234", "12345", ""):
        assert masked(text) == mask_nik(text)


def test_a_redelivered_event_keeps_its_first_delivery_and_its_mask(store, now):
    event = store.enqueue("booking_offline", {"booking_id": "b1", "nik": NIK}, "b1")
    store.mark_delivered([event])
    first = now[0]
    now[0] += 3600
    store.mark_delivered([event])  # the gateway answered "duplicate"
    with closing(sqlite3.connect(store.path)) as db:
        row = db.execute("SELECT delivered, json_extract(payload, '$.nik') FROM outbox").fetchone()
    assert row == (first, mask_nik(NIK))


def test_a_store_from_before_issue_13_has_its_delivered_niks_masked_when_opened(tmp_path):
    path = tmp_path / "kiosk.db"
    old = Store(path)
    old.enqueue("booking_offline", {"booking_id": "b1", "nik": NIK}, "b1")
    waiting = old.enqueue("booking_offline", {"booking_id": "b2", "nik": OTHER_NIK}, "b2")
    with closing(sqlite3.connect(path, isolation_level=None)) as db:  # delivered by an older release
        db.execute("UPDATE outbox SET delivered=1 WHERE ordering_key='b1'")
    old.close()
    assert cells_holding(path, NIK) == ["outbox.payload"]
    store = Store(path)
    try:
        assert cells_holding(path, NIK) == [] and files_holding(path, NIK.encode()) == []
        (item,) = store.pending()
        assert item.event_id == waiting and item.payload["nik"] == OTHER_NIK, "an undelivered one is untouched"
    finally:
        store.close()


# -- pruning: delivered events after a week, seen statuses after a month ------------------------------


def test_delivered_events_are_pruned_after_the_window_and_seq_keeps_counting(store, now):
    ids = [store.enqueue("handover", {"card": f"C{i}"}) for i in range(3)]
    store.mark_delivered(ids[:2])
    now[0] += DELIVERED_EVENTS_KEPT_S - 60
    assert store.apply_retention(dt.date(2026, 9, 28)).events == 0, "inside the window: kept for diagnostics"
    store.mark_delivered(ids[2:])
    now[0] += 120
    pruned = store.apply_retention(dt.date(2026, 9, 28))
    assert pruned.events == 2 and store.outbox_ids() == {ids[2]}
    now[0] += DELIVERED_EVENTS_KEPT_S
    assert store.apply_retention(dt.date(2026, 10, 5)).events == 0, "the newest event stays: seq counts on from it"
    fresh = store.enqueue("handover", {"card": "C9"})
    (item,) = store.pending()
    assert item.event_id == fresh and item.seq == 4


def test_undelivered_events_are_never_pruned(store, now):
    ids = [store.enqueue("booking_offline", {"booking_id": f"b{i}", "nik": NIK}) for i in range(2)]
    now[0] += 10 * DELIVERED_EVENTS_KEPT_S
    assert store.apply_retention(dt.date(2026, 12, 1)).events == 0
    assert [i.event_id for i in store.pending()] == ids and store.pending()[0].payload["nik"] == NIK


def test_known_statuses_are_forgotten_after_a_month(store):
    store.remember_status("key-old", "printing", None, "2026-08-01")
    store.remember_status("key-new", "verification", None, "2026-09-10")
    today = dt.date(2026, 8, 1) + dt.timedelta(days=KNOWN_STATUS_KEPT_DAYS + 1)
    assert store.apply_retention(today).statuses == 1
    assert store.known_status("key-old") is None and store.known_status("key-new") is not None


# -- the journal holds masked NIKs only ---------------------------------------------------------------


def test_the_journal_of_pickups_refusals_and_bookings_holds_no_whole_nik(world, clock):
    world.kiosk.gateway.timeout = (0.2, 0.2)
    owner = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    other = world.residents("verification")[0]
    world.camera.show(HeldTicket(world.gateway.issue_ticket(other, Service.STATUS, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Nothing())
    s = world.kiosk.dispatch(ev.NikRead(owner.nik, "typed"))  # someone else's NIK on this ticket
    assert s.step == Step.REFUSED
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    clock.advance(60)
    book_offline(world, clock, world.residents("never_recorded")[0])
    world.sync.drain_once()
    rows = world.store.journal_rows()
    assert {"refused", "nik_accepted", "booked_offline"} <= {kind for _, _, kind, _ in rows}
    texts = [f"{kind} {data}" for _, _, kind, data in rows]
    assert not [t for t in texts if WHOLE_NIK.search(t)], "no whole NIK in any journal row"
    assert any(mask_nik(owner.nik) in t for t in texts if t.startswith("refused")), "the refusal keeps it masked"
    assert world.store.verify_journal() == [], "the chain is untouched by masking and pruning"


def test_the_upkeep_applies_retention_after_a_drain_that_reached_the_gateway(world, clock):
    assert world.kiosk.upkeep.apply_retention in world.sync.after_sync
    world.store.enqueue("handover", {"card": "C1"})
    world.store.enqueue("handover", {"card": "C2"})
    world.sync.drain_once()
    assert world.store.pending_count() == 0
    kept = world.store.outbox_ids()
    clock.advance(DELIVERED_EVENTS_KEPT_S + 60)
    pruned = world.kiosk.upkeep.apply_retention()
    assert pruned.events == len(kept) - 1 and len(world.store.outbox_ids()) == 1

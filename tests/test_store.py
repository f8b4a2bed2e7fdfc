"""The store on a real SQLite file: journal tamper detection, outbox, release intents, used tickets."""

import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from kiosk.cli import main
from kiosk.store import Store
from kiosk.store.journal import row_hash


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "kiosk.db")
    yield s
    s.close()


def fill(store, n=5):
    for i in range(n):
        store.journal("event", {"i": i})


def raw(store):
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("DROP TRIGGER journal_no_update")
    db.execute("DROP TRIGGER journal_no_delete")
    return db


def test_database_is_in_wal_mode(store):
    assert store.journal_mode() == "wal"
    with closing(sqlite3.connect(store.path)) as db:  # WAL is a property of the file, not of one connection
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_untouched_journal_verifies(store):
    fill(store)
    assert store.verify_journal() == []
    assert store.journal_head()[0] == 5


def test_journal_refuses_updates_and_deletes_through_sqlite(store):
    fill(store, 2)
    db = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE journal SET data='{}' WHERE seq=1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM journal WHERE seq=1")


def test_edited_row_is_detected(store):
    fill(store)
    raw(store).execute("""UPDATE journal SET data='{"i":99}' WHERE seq=3""")
    problems = store.verify_journal()
    assert [p.seq for p in problems] == [3]


def test_deleted_row_is_detected(store):
    fill(store)
    raw(store).execute("DELETE FROM journal WHERE seq=2")
    assert {p.seq for p in store.verify_journal()} == {3}


def test_row_with_a_changed_time_is_detected(store):
    fill(store)
    raw(store).execute("UPDATE journal SET ts=ts-3600 WHERE seq=3")  # backdated by an hour on the SD card
    assert [(p.seq, p.problem) for p in store.verify_journal()] == [(3, "row content does not match its hash")]


def test_row_rewritten_with_a_fresh_hash_breaks_the_next_link(store):
    fill(store)
    db = raw(store)
    prev, ts = db.execute("SELECT prev_hash, ts FROM journal WHERE seq=2").fetchone()
    data = '{"i":42}'
    db.execute("UPDATE journal SET data=?, hash=? WHERE seq=2", (data, row_hash(prev, 2, ts, "event", data)))
    assert [p.seq for p in store.verify_journal()] == [3]


def test_audit_verify_command_reports_tampering(store, capsys):
    fill(store)
    assert main(["audit", "verify", "--db", str(store.path)]) == 0
    assert "OK" in capsys.readouterr().out
    raw(store).execute("UPDATE journal SET kind='x' WHERE seq=4")
    assert main(["audit", "verify", "--db", str(store.path)]) == 1
    assert "row 4" in capsys.readouterr().out


def test_journal_survives_a_killed_process(tmp_path):
    path = tmp_path / "k.db"
    code = f"import os; from kiosk.store import Store; Store({str(path)!r}).journal('before_kill', {{}}); os._exit(9)"
    subprocess.run([sys.executable, "-c", code], check=False)
    s = Store(path)
    assert [r[2] for r in s.journal_rows()] == ["before_kill"] and s.verify_journal() == []
    s.close()


def test_outbox_is_ordered_and_delivered_once(store):
    ids = [store.enqueue("e", {"n": i}, ordering_key="C1") for i in range(3)]
    assert [i.event_id for i in store.pending()] == ids
    store.mark_delivered(ids[:2])
    assert [i.event_id for i in store.pending()] == ids[2:]
    assert store.pending_count() == 1


def test_journal_with_outbox_writes_both_in_one_transaction(store):
    store.journal("handover", {"card": "C1"}, outbox=True, ordering_key="C1")
    (item,) = store.pending()
    assert item.kind == "handover" and item.payload == {"card": "C1"} and item.ordering_key == "C1"


def test_ticket_is_used_once(store):
    assert store.consume_ticket("abc", {"ticket": "abc"}, "K1")
    assert not store.consume_ticket("abc", {"ticket": "abc"}, "K1")
    assert store.ticket_used("abc") and not store.ticket_used("def")


def test_release_is_intent_then_outcome_and_the_card_leaves_inventory(store):
    store.load_card(3, "C1", "5371046508900001", "04aa")
    rid = store.begin_release(3, "C1")
    assert [r.release_id for r in store.open_releases()] == [rid]
    with pytest.raises(RuntimeError):
        store.begin_release(3, "C1")  # never two releases of one slot
    store.finish_release(rid, "taken")
    assert store.open_releases() == [] and store.card_in_slot(3) is None
    kinds = [r[2] for r in store.journal_rows()]
    assert kinds == ["card_loaded", "release_intent", "release_outcome"]
    with pytest.raises(LookupError):
        store.finish_release(rid, "taken")


def test_release_of_a_card_not_in_the_slot_is_refused(store):
    store.load_card(3, "C1", "5371046508900001", "04aa")
    with pytest.raises(LookupError):
        store.begin_release(3, "C2")
    with pytest.raises(LookupError):
        store.begin_release(4, "C1")


def test_jam_takes_the_slot_out_of_service(store):
    store.load_card(3, "C1", "5371046508900001", "04aa")
    store.finish_release(store.begin_release(3, "C1"), "jammed")
    card = store.card_in_slot(3)
    assert card is not None and card.out_of_service


def test_a_transaction_commits_as_one_or_not_at_all(store):
    with store.transaction() as tx:
        tx.execute("INSERT INTO used_tickets(ticket_id, used) VALUES ('t1', ?)", (tx.now(),))
    with pytest.raises(ZeroDivisionError), store.transaction() as tx:
        tx.execute("INSERT INTO used_tickets(ticket_id, used) VALUES ('t2', ?)", (tx.now(),))
        _ = 1 / 0
    assert store.ticket_used("t1") and not store.ticket_used("t2")


def test_a_release_outcome_whose_outbox_write_fails_leaves_nothing_behind(store):
    store.load_card(3, "C1", "5371046508900001", "04aa")
    rid = store.begin_release(3, "C1")
    raw(store).execute("DROP TABLE outbox")  # the outcome's last write (its outbox event) will fail
    with pytest.raises(sqlite3.OperationalError):
        store.finish_release(rid, "taken")
    assert [r.release_id for r in store.open_releases()] == [rid], "the release is still open"
    assert store.card_in_slot(3) is not None, "the card is still recorded in its slot"
    assert [r[2] for r in store.journal_rows()] == ["card_loaded", "release_intent"]


def test_the_demo_binds_a_real_card_to_a_resident(store):
    from kiosk.sim.store_hooks import rebind_chip, rebind_old_chip

    store.load_card(3, "C1", "5371046508900001", "04aa", old_chip_uid="04bb")
    store.load_card(4, "C2", "5371046508900002", "04cc")
    rebind_old_chip(store, "5371046508900002", "04bb")
    assert store.nik_for_old_chip("04BB") == "5371046508900002", "the card is nobody else's old card"
    rebind_chip(store, "C2", "04dd")
    card = store.card_in_slot(4)
    assert card is not None and card.chip_uid == "04DD"
    assert store.journal_rows()[-1][2:] == ("card_chip_rebound", {"card": "C2"})
    assert store.verify_journal() == []


def test_a_ticket_is_spent_in_one_transaction_with_its_journal_entry_and_outbox_event(tmp_path):
    """issue 14: used-ticket row, `ticket_accepted` in the journal and the outbox, and `ticket_consumed`: all
    or nothing (an outbox insert that fails leaves no used ticket behind), and once only."""
    import sqlite3

    store = Store(tmp_path / "k.db")
    accepted = {"kiosk": "K1", "ticket": "t1", "service": "pickup", "claim": "offline"}
    assert store.consume_ticket("t1", accepted, "K1")
    kinds = [k for _, _, k, _ in store.journal_rows()]
    assert store.ticket_used("t1") and kinds.count("ticket_accepted") == 1
    assert sorted(i.kind for i in store.pending(10)) == ["ticket_accepted", "ticket_consumed"]
    assert not store.consume_ticket("t1", accepted, "K1")  # a second time writes nothing
    assert len(store.pending(10)) == 2 and [k for _, _, k, _ in store.journal_rows()].count("ticket_accepted") == 1
    store.close()
    db = sqlite3.connect(tmp_path / "k.db")  # a fault in the last write of the transaction
    db.execute(
        "CREATE TRIGGER no_consumed BEFORE INSERT ON outbox WHEN NEW.kind = 'ticket_consumed' "
        "BEGIN SELECT RAISE(ABORT, 'disk fault'); END"
    )
    db.commit()
    db.close()
    store = Store(tmp_path / "k.db")
    with pytest.raises(sqlite3.DatabaseError):
        store.consume_ticket("t2", {**accepted, "ticket": "t2"}, "K1")
    assert not store.ticket_used("t2") and len(store.pending(10)) == 2
    assert [k for _, _, k, _ in store.journal_rows()].count("ticket_accepted") == 1
    store.close()

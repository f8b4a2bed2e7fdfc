"""The gateway service's operations, the same on SQLite and PostgreSQL (every test runs on both): the
simulator's semantics (tests/test_gateway.py, test_contract.py, test_journal_anchors.py), held by the
database's keys and constraints."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kiosk.gateway.head import HeadSigner
from kiosk.identity.ticket import Service, verify_ticket
from loket_gateway.db import Database, migrate, schema_state
from loket_gateway.demo import KIOSK_OFFICE
from loket_gateway.errors import ApiError
from loket_gateway.schema import metadata, slots
from tests.gw_kit import KIOSK, TODAY

pytest_plugins = ["tests.gw_fixtures"]
DAY = TODAY + dt.timedelta(days=1)


def test_migrations_build_exactly_the_tables_and_run_again_as_a_no_op(db_url):
    db = Database(db_url)
    migrate(db)  # the fixture migrated already: a second run changes nothing
    current, head = schema_state(db)
    assert current == head == "0003"
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    db.dispose()


def test_manifest_lists_the_cards_ready_at_this_kiosk_and_a_poll_without_change_is_cheap(gateway):
    gw, residents = gateway
    ready = sorted(r.card_id for r in residents if r.status == "ready_here")
    gw.office.set_photo(ready[0], b"\xff\xd8jpeg")
    answer = gw.residents.manifest(KIOSK)
    assert [c["card_id"] for c in answer["cards"]] == ready
    assert answer["cards"][0]["photo"] == base64.b64encode(b"\xff\xd8jpeg").decode()
    assert {c["valid_until"] for c in answer["cards"]} == {(TODAY + dt.timedelta(days=7)).isoformat()}
    again = gw.residents.manifest(KIOSK, answer["version"])
    assert again["unchanged"] is True and again["cards"] == []


def test_lookup_tells_each_status_and_a_card_waiting_at_another_office(gateway):
    gw, residents = gateway
    for r in residents[:12]:
        assert gw.residents.lookup(KIOSK, r.nik)["status"] == r.status
    gw.fleet.add_kiosk("KIOSK-KEC", "KEC-01", "k")
    here = next(r for r in residents if r.status == "ready_here")
    seen = gw.residents.lookup("KIOSK-KEC", here.nik)
    assert seen["status"] == "ready_elsewhere" and seen["office_id"] == KIOSK_OFFICE
    assert gw.residents.lookup(KIOSK, "5371046508909999") == {"status": "not_found"}


def test_chip_resolves_to_its_holder_and_an_unknown_chip_is_404(gateway):
    gw, residents = gateway
    r = next(r for r in residents if r.old_chip_uid)
    assert gw.residents.resolve_chip(r.old_chip_uid.lower()) == {"nik": r.nik}
    with pytest.raises(ApiError) as exc:
        gw.residents.resolve_chip("04DEADBEEF0000")
    assert exc.value.status == 404
    gw.office.bind_old_chip(residents[1].nik, r.old_chip_uid)  # the chip now belongs to someone else only
    assert gw.residents.resolve_chip(r.old_chip_uid) == {"nik": residents[1].nik}


def test_a_ticket_is_spent_once_idempotent_for_its_kiosk_and_refused_elsewhere(gateway):
    gw, _ = gateway
    assert gw.residents.consume_ticket(KIOSK, "0123456789abcdef")["first_use"]
    assert gw.residents.consume_ticket(KIOSK, "0123456789abcdef")["first_use"]
    with pytest.raises(ApiError) as exc:
        gw.residents.consume_ticket("KIOSK-02", "0123456789abcdef")
    assert (exc.value.status, exc.value.code) == (409, "ticket_used_elsewhere")


def _free_slot(gw, office="KEC-01", least=1):
    return next(s for s in gw.bookings.slots(office, DAY, 14)["slots"] if s["remaining"] >= least)


def test_booking_takes_one_place_replays_idempotently_and_a_full_slot_is_refused(gateway):
    gw, residents = gateway
    slot = _free_slot(gw)
    body = {
        "booking_id": "bk-1",
        "nik": residents[0].nik,
        "office_id": "KEC-01",
        "day": slot["day"],
        "time": slot["time"],
    }
    first = gw.bookings.book(body, KIOSK)
    assert gw.bookings.book(body, KIOSK) == first
    after = {(s["day"], s["time"]): s["remaining"] for s in gw.bookings.slots("KEC-01", DAY, 14)["slots"]}
    assert after[(slot["day"], slot["time"])] == slot["remaining"] - 1
    full = next(s for s in gw.bookings.slots("KEC-01", DAY, 14)["slots"] if s["remaining"] == 0)
    with pytest.raises(ApiError) as exc:
        gw.bookings.book(dict(body, booking_id="bk-2", day=full["day"], time=full["time"]))
    assert (exc.value.status, exc.value.code) == (409, "slot_full")


def test_the_database_itself_refuses_a_slot_beyond_its_capacity(gateway):
    gw, _ = gateway
    with pytest.raises(IntegrityError):
        gw.db.write(lambda conn: conn.execute(update(slots).values(booked=slots.c.capacity + 1)))


def test_leases_take_places_once_per_slot_and_offline_bookings_draw_on_them_never_beyond(gateway):
    gw, residents = gateway
    slot = _free_slot(gw, least=2)
    first = gw.bookings.grant_leases(KIOSK, DAY, 2, 2)
    assert gw.bookings.grant_leases(KIOSK, DAY, 2, 2) == first  # asked again: the same places, no more taken
    lease = next(
        x for x in first["leases"] if (x["office_id"], x["day"], x["time"]) == ("KEC-01", slot["day"], slot["time"])
    )
    assert lease["remaining"] == 2
    left = {(s["day"], s["time"]): s["remaining"] for s in gw.bookings.slots("KEC-01", DAY, 14)["slots"]}
    assert left[(slot["day"], slot["time"])] == slot["remaining"] - 2
    payload = {"nik": residents[0].nik, "office_id": "KEC-01", "day": slot["day"], "time": slot["time"]}
    batch = [
        {"id": f"off-{i}", "kind": "booking_offline", "payload": dict(payload, booking_id=f"ob-{i}", code=f"K{i}")}
        for i in range(3)
    ]
    ack = gw.events.accept(KIOSK, batch)
    assert ack["accepted"] == ["off-0", "off-1", "off-2"]
    assert [(c["id"], c["kind"]) for c in ack["conflicts"]] == [("off-2", "booking_beyond_lease")]
    assert gw.bookings.grant_leases(KIOSK, DAY, 2, 2)["leases"] != first["leases"]  # that slot's lease is spent


def test_an_offline_booking_of_an_id_booked_online_keeps_one_place_and_the_kiosks_code(gateway):
    gw, residents = gateway
    slot = _free_slot(gw)
    body = {
        "booking_id": "bk-9",
        "nik": residents[0].nik,
        "office_id": "KEC-01",
        "day": slot["day"],
        "time": slot["time"],
    }
    gw.bookings.book(body, KIOSK)
    event = {"id": "e-9", "kind": "booking_offline", "payload": dict(body, code="KIOSKCODE")}
    assert gw.events.accept(KIOSK, [event])["conflicts"] == []
    assert gw.bookings.book(body)["code"] == "KIOSKCODE"


def test_events_are_applied_once_however_often_delivered(gateway):
    gw, residents = gateway
    card = next(r for r in residents if r.status == "ready_here")
    events = [{"id": "h1", "kind": "handover", "payload": {"card": card.card_id}}]
    events += [{"id": f"e{i}", "kind": "refused", "payload": {}} for i in range(3)]
    assert gw.events.accept(KIOSK, events)["accepted"] == ["h1", "e0", "e1", "e2"]
    again = gw.events.accept(KIOSK, events[1:] + events[1:2])
    assert again == {"accepted": [], "duplicates": ["e0", "e1", "e2", "e0"], "conflicts": []}
    assert gw.events.counts() == {"handover": 1, "refused": 3} and gw.events.redelivered() == 4
    assert gw.residents.lookup(KIOSK, card.nik)["status"] == "collected"
    assert card.card_id not in {c["card_id"] for c in gw.residents.manifest(KIOSK)["cards"]}


def test_a_ticket_used_at_two_kiosks_while_offline_is_a_conflict_told_again_on_redelivery(gateway):
    gw, _ = gateway
    used = {"ticket_id": "00112233aabbccdd"}
    gw.events.accept(KIOSK, [{"id": "a1", "kind": "ticket_consumed", "payload": used}])
    gw.events.accept(KIOSK, [{"id": "a1", "kind": "ticket_consumed", "payload": used}])
    assert gw.events.conflicts() == []
    first = gw.events.accept("KIOSK-07", [{"id": "b1", "kind": "ticket_consumed", "payload": used}])
    repeat = gw.events.accept("KIOSK-07", [{"id": "b1", "kind": "ticket_consumed", "payload": used}])
    assert (
        first["conflicts"]
        == repeat["conflicts"]
        == [{"id": "b1", "kind": "ticket_used_twice", "detail": "ticket 00112233aabbccdd also used at KIOSK-01"}]
    )


def test_an_event_whose_payload_cannot_have_its_effect_is_kept_with_a_conflict(gateway):
    gw, _ = gateway
    bad = [
        {"id": "p1", "kind": "booking_offline", "payload": {"booking_id": "x", "nik": "12", "day": "soon"}},
        {"id": "p2", "kind": "ticket_consumed", "payload": {"ticket_id": {"not": "text"}}},
    ]
    ack = gw.events.accept(KIOSK, bad)
    assert ack["accepted"] == ["p1", "p2"] and [c["kind"] for c in ack["conflicts"]] == ["payload_invalid"] * 2


def test_an_enrolment_token_is_single_use_and_bound_to_its_kiosk(gateway):
    gw, _ = gateway
    token = gw.fleet.issue_enrolment_token("KUPANG-03", KIOSK_OFFICE)
    with pytest.raises(ApiError) as other:
        gw.fleet.enrol({"token": token, "kiosk_id": "KUPANG-04"})
    assert (other.value.status, other.value.code) == (403, "token_other_kiosk")
    journal = HeadSigner("KUPANG-03", Ed25519PrivateKey.generate())
    answer = gw.fleet.enrol({"token": token, "kiosk_id": "KUPANG-03", "journal_key": journal.public_key})
    assert answer["office_id"] == KIOSK_OFFICE and gw.fleet.authenticate("KUPANG-03", answer["api_key"])
    with pytest.raises(ApiError) as again:
        gw.fleet.enrol({"token": token, "kiosk_id": "KUPANG-03"})
    assert (again.value.status, again.value.code) == (401, "token_invalid")
    head = journal.sign(1, "ab" * 32).to_json()
    assert gw.fleet.heartbeat("KUPANG-03", {"journal_head": head})["verdict"] == "anchored"


def test_tickets_signed_here_verify_with_the_keys_enrolment_hands_out(gateway):
    gw, residents = gateway
    token = gw.fleet.issue_enrolment_token("KUPANG-05", KIOSK_OFFICE)
    keys = gw.fleet.enrol({"token": token, "kiosk_id": "KUPANG-05"})["ticket_keys"]
    text = gw.issuer.issue(residents[0].nik, Service.PICKUP, KIOSK_OFFICE, now=1_790_000_000)
    public = {int(k): Ed25519PrivateKey.generate().public_key() for k in keys}  # wrong keys: refused
    assert not hasattr(verify_ticket(text, public, KIOSK_OFFICE, 1_790_000_100), "matches_nik")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    real = {int(k): Ed25519PublicKey.from_public_bytes(bytes.fromhex(v)) for k, v in keys.items()}
    ticket = verify_ticket(text, real, KIOSK_OFFICE, 1_790_000_100)
    assert ticket.matches_nik(residents[0].nik)  # type: ignore[union-attr]


def test_journal_heads_are_anchored_and_a_regressed_forked_or_foreign_head_raises_its_alarm(gateway):
    gw, _ = gateway
    signer = HeadSigner(KIOSK, Ed25519PrivateKey.generate())
    assert gw.fleet.heartbeat(KIOSK, {"journal_head": signer.sign(5, "aa" * 32).to_json()})["verdict"] == "no_key"
    gw.anchors.register_key(KIOSK, signer.public_key)

    def beat(seq, digest, **kw):
        return gw.fleet.heartbeat(KIOSK, {"journal_head": signer.sign(seq, digest).to_json(), **kw})

    assert beat(5, "aa" * 32) == {"ok": True, "verdict": "anchored", "anchor": {"seq": 5, "hash": "aa" * 32}}
    assert beat(5, "aa" * 32)["verdict"] == "unchanged"
    assert beat(9, "bb" * 32)["verdict"] == "anchored"
    assert beat(7, "cc" * 32)["verdict"] == "regressed"
    assert beat(9, "dd" * 32)["verdict"] == "forked"
    assert beat(10, "ee" * 32, journal_since={"seq": 9, "hash": "ff" * 32})["verdict"] == "forked"
    foreign = HeadSigner(KIOSK, Ed25519PrivateKey.generate()).sign(11, "11" * 32).to_json()
    assert gw.fleet.heartbeat(KIOSK, {"journal_head": foreign})["verdict"] == "bad_signature"
    kinds = [a.kind for a in gw.anchors.alarms(KIOSK)]
    assert sorted(kinds) == ["bad_signature", "forked", "forked", "no_key", "regressed"]
    page = gw.anchors.anchors(KIOSK, after=0, limit=1)
    assert [a["seq"] for a in page["anchors"]] == [5] and page["more"] is True
    assert [a["seq"] for a in gw.anchors.anchors(KIOSK, after=5)["anchors"]] == [9]

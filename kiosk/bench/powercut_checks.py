"""The checks after a `kiosk bench powercut` run (kiosk.bench.powercut): the physical world's file, the
kiosk's store and the gateway's database read once the last life has exited, each check a count whose
goal is 0:

- released_twice: card IDs the world's log shows dispensed more than once, or with more than one
  release outcome `taken` in the kiosk's journal.
- gone_unrecorded: card IDs the world's log shows dispensed with neither a release outcome `taken` (seen,
  or reconciled at start) in the journal nor a `handover`, in the journal or received by the gateway.
- open_intents: release and load intents without an outcome after the last life's reconciliation.
- seats_off_the_books: slots whose seat holds another card than the kiosk's inventory says (a card in the
  vault that the kiosk does not know of, or a card it lists that is not there).
- bookings_lost: booking codes the kiosk journaled (`booked`: the resident was shown the code) that the
  gateway does not hold once the outbox is delivered.
- bookings_duplicated: codes the gateway holds twice, codes the kiosk journaled twice, slots booked over
  capacity, leases used over their grant, slots with more bookings than places taken.
- tickets_without_event: used tickets (kiosk `used_tickets`) without their `ticket_accepted` journal row
  or without their `ticket_consumed` event (in the outbox or received by the gateway).
- journal_breaks: problems Store.verify_journal finds in the hash chain.
- crashes: lives that ended on their own (an exception, a hang) instead of being killed.

Also reported, not goals: bookings the gateway made whose answer never reached the kiosk (killed while the
request was out: the gateway holds a place for a resident who saw no code; a cancel is not in the contract),
events still pending, kills by phase and kind, the visits walked, releases, reconciliations, loads.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.bench.powercut_child import WORLD_FILE
from kiosk.bench.powercut_vault import WorldState
from kiosk.sim.office import Office
from kiosk.store import Store

GOALS = (
    "released_twice",
    "gone_unrecorded",
    "open_intents",
    "seats_off_the_books",
    "bookings_lost",
    "bookings_duplicated",
    "tickets_without_event",
    "journal_breaks",
    "crashes",
)


@dataclass
class Death:
    """How a life ended."""

    last: str  # the last crossing it reported
    kind: str  # "at" a crossing, "between" crossings, "exit" (the last life), "crash", "hang"
    exitcode: int | None
    start_ms: float | None  # power-up to serving
    planned: str = ""  # the phase the plan aimed at
    seconds: float = 0.0  # how long it lived


@dataclass
class KioskRecord:
    """What the kiosk's store holds once the last life has exited."""

    rows: list[tuple[int, float, str, dict[str, Any]]]  # the journal
    breaks: int  # problems in the journal's hash chain
    open_intents: int
    books: dict[int, str]  # slot -> card ID, as the kiosk's inventory says
    used: list[str]  # used ticket IDs
    outbox: list[tuple[str, dict[str, Any]]]  # every event, delivered or not
    pending: int  # events not yet delivered

    @classmethod
    def read(cls, path: Path) -> KioskRecord:
        store = Store(path)
        try:
            rows = store.journal_rows()
            breaks = len(store.verify_journal())
            open_intents = len(store.open_releases()) + len(store.open_loads())
            books = {c.slot: c.card_id for c in store.inventory()}
            with store.transaction() as tx:  # what the store has no reader for (the last life has exited)
                used = [r[0] for r in tx.execute("SELECT ticket_id FROM used_tickets")]
                outbox = [(k, json.loads(p)) for k, p in tx.execute("SELECT kind, payload FROM outbox")]
            pending = store.pending_count()
        finally:
            store.close()
        return cls(rows, breaks, open_intents, books, used, outbox, pending)

    def journaled(self, kind: str) -> list[dict[str, Any]]:
        return [d for _, _, k, d in self.rows if k == kind]


def card_counts(
    state: WorldState, kiosk: KioskRecord, received: list[tuple[str, dict[str, Any]]]
) -> tuple[Counter[str], Counter[str], int, int, int]:
    """The cards: dispensed (by the world's log) and taken (by the journal) per card ID, then how many
    were released twice, gone unrecorded, and the seats off the books."""
    dispensed = Counter(card for card, _slot, _holder in state.dispensed)
    taken = Counter(d["card"] for d in kiosk.journaled("release_outcome") if d["outcome"] == "taken")
    handed = {d["card"] for d in kiosk.journaled("handover")} | {p.get("card") for k, p in received if k == "handover"}
    twice = {c for c, n in dispensed.items() if n > 1} | {c for c, n in taken.items() if n > 1}
    unrecorded = {c for c in dispensed if c not in taken and c not in handed}
    off_books = sum(1 for slot, card in state.slots.items() if kiosk.books.get(slot) != card)
    return dispensed, taken, len(twice), len(unrecorded), off_books


def booking_counts(kiosk: KioskRecord, gateway: Office) -> tuple[Counter[str], Counter[str], int]:
    """The bookings: codes the kiosk journaled, codes the gateway holds, and how many are duplicated."""
    g = gateway
    kiosk_codes = Counter(d["code"] for d in kiosk.journaled("booked"))
    gateway_codes = Counter(r[0] for r in g.query("SELECT code FROM bookings"))
    over = g.query("SELECT COUNT(*) FROM slots WHERE booked > capacity")[0][0]
    over += g.query("SELECT COUNT(*) FROM leases WHERE used > granted")[0][0]
    over += g.query(
        "SELECT COUNT(*) FROM slots s WHERE (SELECT COUNT(*) FROM bookings b "
        "WHERE b.office_id=s.office_id AND b.day=s.day AND b.time=s.time) > s.booked"
    )[0][0]
    duplicated = sum(n - 1 for n in gateway_codes.values()) + sum(n - 1 for n in kiosk_codes.values()) + int(over)
    return kiosk_codes, gateway_codes, duplicated


def tickets_without_event(kiosk: KioskRecord, received: list[tuple[str, dict[str, Any]]]) -> int:
    """Used tickets without their `ticket_accepted` row or their `ticket_consumed` event."""
    accepted = {d.get("ticket") for d in kiosk.journaled("ticket_accepted")}
    consumed = {p.get("ticket_id") for k, p in kiosk.outbox + received if k == "ticket_consumed"}
    return sum(1 for t in kiosk.used if t not in accepted or t not in consumed)


def check(
    base: Path,
    gateway: Office,
    deaths: list[Death],
    visits: Counter[str],
    kills: int,
    seed: int,
    wall: float,
    made: int,
) -> dict[str, Any]:
    """The counts (module docstring), from the world's file, the kiosk's store and the gateway's database."""
    state = WorldState.load(base / WORLD_FILE)
    kiosk = KioskRecord.read(base / "kiosk.db")
    received = [(k, json.loads(p)) for k, p in gateway.query("SELECT kind, payload FROM events")]
    dispensed, taken, twice, unrecorded, off_books = card_counts(state, kiosk, received)
    kiosk_codes, gateway_codes, duplicated = booking_counts(kiosk, gateway)
    killed = [d for d in deaths if d.kind in ("at", "between")]
    starts = [d.start_ms for d in deaths if d.start_ms is not None]
    return {
        "kills": len(killed),
        "seed": seed,
        "wall_seconds": round(wall, 1),
        "released_twice": twice,
        "gone_unrecorded": unrecorded,
        "open_intents": kiosk.open_intents,
        "seats_off_the_books": off_books,
        "bookings_lost": sum(1 for c in kiosk_codes if c not in gateway_codes),
        "bookings_duplicated": duplicated,
        "tickets_without_event": tickets_without_event(kiosk, received),
        "journal_breaks": kiosk.breaks,
        "crashes": sum(1 for d in deaths if d.kind in ("crash", "hang")),
        "kills_by_phase": dict(Counter(d.last.split(".")[0] for d in killed).most_common()),
        "kills_at_crossing": sum(1 for d in killed if d.kind == "at"),
        "kills_between": sum(1 for d in killed if d.kind == "between"),
        "start_ms_median": round(statistics.median(starts), 1) if starts else None,
        "visits": dict(visits.most_common()),
        "cards_dispensed": sum(dispensed.values()),
        "releases_taken": sum(taken.values()),
        "reconciled": sum(
            1 for k in ("release_outcome", "card_loaded", "load_outcome") for d in kiosk.journaled(k) if d.get("audit")
        ),
        "cards_loaded": len(kiosk.journaled("card_loaded")),
        "cards_made_by_office": made,
        "bookings_journaled": sum(kiosk_codes.values()),
        "bookings_unanswered": sum(1 for c in gateway_codes if c not in kiosk_codes),
        "tickets_used": len(kiosk.used),
        "events_pending": kiosk.pending,
        "journal_rows": len(kiosk.rows),
    }


def held(r: dict[str, Any]) -> bool:
    """Whether every count is 0."""
    return all(r[goal] == 0 for goal in GOALS)

"""Journal anchors: every signed journal head a kiosk sent with its heartbeat, kept, and the alarms raised
when a head does not continue the ones before it (the contract's heartbeat describes the verdicts).

The signed message is the contract's (`loket-journal-head/v1`, kiosk ID, sequence number, row hash, one
per line), checked with the journal key the kiosk sent at enrolment. A kiosk's heads are checked one at a
time: the transaction locks the kiosk's journal key row first (SELECT ... FOR UPDATE on PostgreSQL, the
writer lock on SQLite), so two heartbeats racing cannot both judge against the same old anchors.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select

from kiosk.gateway.contract import head_signed_by
from loket_gateway.db import Database
from loket_gateway.schema import anchor_alarms, anchors, journal_keys

ALARMS = ("regressed", "forked", "bad_signature", "no_key")
PAGE = 5000  # anchors per answer of GET .../anchors (the contract's maxItems)


@dataclass(frozen=True)
class Alarm:
    """A head that did not continue the kiosk's anchored journal."""

    kiosk_id: str
    kind: str
    seq: int
    detail: str
    at: float


class AnchorBook:
    """The anchors and alarms of every kiosk."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register_key(self, kiosk_id: str, public_key: str, conn: Connection | None = None) -> None:
        """The kiosk's journal public key (hex), from its enrolment (inside `conn`'s transaction if given)."""
        insert = self.db.insert(journal_keys).values(kiosk_id=kiosk_id, public_key=public_key)
        statement = insert.on_conflict_do_update(index_elements=["kiosk_id"], set_={"public_key": public_key})
        if conn is not None:
            conn.execute(statement)
        else:
            self.db.write(lambda c: c.execute(statement))

    def check(self, conn: Connection, kiosk_id: str, head: dict[str, Any], since: Any = None) -> dict[str, Any]:
        """Judge and keep a heartbeat's head (inside the caller's write transaction); the verdict and the
        newest anchor held for the kiosk."""
        verdict, detail = self._verdict(conn, kiosk_id, head, since)
        now = time.time()
        if verdict == "anchored":
            row = {"kiosk_id": kiosk_id, "seq": head["seq"], "hash": head["hash"], "signature": head["signature"]}
            conn.execute(anchors.insert().values({**row, "at": now}))
        elif verdict in ALARMS:
            row = {"kiosk_id": kiosk_id, "kind": verdict, "seq": head["seq"], "detail": detail, "at": now}
            conn.execute(self.db.insert(anchor_alarms).values(row).on_conflict_do_nothing())
        a = anchors.c
        newest = conn.execute(
            select(a.seq, a.hash).where(a.kiosk_id == kiosk_id).order_by(a.seq.desc()).limit(1)
        ).first()
        answer: dict[str, Any] = {"verdict": verdict}
        if newest is not None:
            answer["anchor"] = {"seq": newest[0], "hash": newest[1]}
        return answer

    def _verdict(self, conn: Connection, kiosk_id: str, head: dict[str, Any], since: Any) -> tuple[str, str]:
        k, a = journal_keys.c, anchors.c
        key = conn.execute(select(k.public_key).where(k.kiosk_id == kiosk_id).with_for_update()).scalar()
        if key is None:
            return "no_key", "no journal key was registered for this kiosk at enrolment"
        if not head_signed_by(key, kiosk_id, head["seq"], head["hash"], head["signature"]):
            return "bad_signature", json.dumps({x: head[x] for x in ("seq", "hash", "signature")})
        seq, digest = head["seq"], head["hash"]
        held = conn.execute(select(a.hash).where(and_(a.kiosk_id == kiosk_id, a.seq == seq))).scalar()
        if held is not None and held != digest:
            return "forked", f"row {seq} was anchored as {held[:16]}, now {digest[:16]}"
        top = conn.execute(select(func.max(a.seq)).where(a.kiosk_id == kiosk_id)).scalar()
        if top is not None and seq < top:
            return "regressed", f"head at row {seq}, but row {top} was anchored"
        if isinstance(since, dict):  # the contract's HeadRef: the kiosk's hash of the last anchored row
            mine = conn.execute(select(a.hash).where(and_(a.kiosk_id == kiosk_id, a.seq == since["seq"]))).scalar()
            if mine is not None and mine != since["hash"]:
                return (
                    "forked",
                    f"row {since['seq']} was anchored as {mine[:16]}, the kiosk now has {since['hash'][:16]}",
                )
        return ("unchanged", "") if held is not None else ("anchored", "")

    def anchors(self, kiosk_id: str, after: int = 0, limit: int = PAGE) -> dict[str, Any]:
        """One page of a kiosk's anchors, oldest first, from sequence number `after` (exclusive)."""
        a = anchors.c
        limit = min(limit, PAGE)
        query = (
            select(a.seq, a.hash, a.signature, a.at)
            .where(and_(a.kiosk_id == kiosk_id, a.seq > after))
            .order_by(a.seq)
            .limit(limit + 1)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        page = rows[:limit]
        return {
            "anchors": [{"seq": r[0], "hash": r[1], "signature": r[2], "at": r[3]} for r in page],
            "more": len(rows) > len(page),
        }

    def alarms(self, kiosk_id: str | None = None) -> list[Alarm]:
        """Every alarm raised (for one kiosk, or all), oldest first."""
        c = anchor_alarms.c
        query = select(c.kiosk_id, c.kind, c.seq, c.detail, c.at).order_by(c.at)
        if kiosk_id:
            query = query.where(c.kiosk_id == kiosk_id)
        with self.db.read() as conn:
            return [Alarm(*r) for r in conn.execute(query)]

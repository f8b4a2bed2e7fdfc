"""Journal anchors: every signed journal head a kiosk sent with its heartbeat, kept, and the alarms raised
when a head does not continue the ones before it.

A head is checked against the kiosk's journal key (registered at enrolment) and against the heads already
held for that kiosk:

- `anchored`: a new head, stored; `unchanged`: one already held (no rows since);
- `regressed`: a sequence number below the highest held (rows deleted, or an old copy restored);
- `forked`: a held sequence number with another hash, or a `since` (the kiosk's hash of the row the
  gateway last anchored) that differs from the anchor: history before the head was rewritten;
- `bad_signature`, `no_key`: the head is not this kiosk's word.

Every alarm is kept (once per kiosk, kind and sequence number), shown on the fleet page and counted in
/metrics (`gateway_journal_anchor_alarms_total`); a regressed, forked or unsigned head is never stored, so
the anchors stay the kiosk's first word on each row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from kiosk.gateway.head import SignedHead
from kiosk.sim.gateway.store import GatewayStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_keys (kiosk_id TEXT PRIMARY KEY, public_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (
    kiosk_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (kiosk_id, seq));
CREATE TABLE IF NOT EXISTS anchor_alarms (
    kiosk_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, detail TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (kiosk_id, kind, seq));
"""
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

    def __init__(self, store: GatewayStore) -> None:
        self.store = store
        store.db.executescript(SCHEMA)

    def register_key(self, kiosk_id: str, public_key: str) -> None:
        """The kiosk's journal public key (hex), from its enrolment."""
        self.store.write("INSERT OR REPLACE INTO journal_keys VALUES (?,?)", (kiosk_id, public_key))

    def check(self, kiosk_id: str, head_body: object, since: object = None) -> dict[str, Any]:
        """Check and keep a heartbeat's head; the verdict and the newest anchor held for the kiosk."""
        head = SignedHead.from_json(kiosk_id, head_body)  # ValueError: the caller answers 400
        with self.store.transaction() as db:
            verdict, detail = self._verdict(db, head, since)
            now = time.time()
            if verdict == "anchored":
                db.execute(
                    "INSERT INTO anchors VALUES (?,?,?,?,?)", (kiosk_id, head.seq, head.hash, head.signature, now)
                )
            elif verdict in ALARMS:
                db.execute(
                    "INSERT OR IGNORE INTO anchor_alarms VALUES (?,?,?,?,?)", (kiosk_id, verdict, head.seq, detail, now)
                )
            newest = db.execute(
                "SELECT seq, hash FROM anchors WHERE kiosk_id=? ORDER BY seq DESC LIMIT 1", (kiosk_id,)
            ).fetchone()
        answer: dict[str, Any] = {"verdict": verdict}
        if newest is not None:
            answer["anchor"] = {"seq": newest[0], "hash": newest[1]}
        return answer

    def _verdict(self, db: Any, head: SignedHead, since: object) -> tuple[str, str]:
        key = db.execute("SELECT public_key FROM journal_keys WHERE kiosk_id=?", (head.kiosk_id,)).fetchone()
        if key is None:
            return "no_key", "no journal key was registered for this kiosk at enrolment"
        if not head.verify(key[0]):
            return "bad_signature", json.dumps(head.to_json())
        held = db.execute("SELECT hash FROM anchors WHERE kiosk_id=? AND seq=?", (head.kiosk_id, head.seq)).fetchone()
        if held is not None and held[0] != head.hash:
            return "forked", f"row {head.seq} was anchored as {held[0][:16]}, now {head.hash[:16]}"
        top = db.execute("SELECT MAX(seq) FROM anchors WHERE kiosk_id=?", (head.kiosk_id,)).fetchone()[0]
        if top is not None and head.seq < top:
            return "regressed", f"head at row {head.seq}, but row {top} was anchored"
        fork = self._since_differs(db, head.kiosk_id, since)
        if fork:
            return "forked", fork
        return ("unchanged", "") if held is not None else ("anchored", "")

    @staticmethod
    def _since_differs(db: Any, kiosk_id: str, since: object) -> str:
        """Why the kiosk's hash of an anchored row is not the anchor's ("" when it is, or cannot be said)."""
        if not isinstance(since, dict):
            return ""
        seq, digest = since.get("seq"), since.get("hash")
        if not isinstance(seq, int) or not isinstance(digest, str):
            return ""
        held = db.execute("SELECT hash FROM anchors WHERE kiosk_id=? AND seq=?", (kiosk_id, seq)).fetchone()
        if held is None or held[0] == digest:
            return ""
        return f"row {seq} was anchored as {held[0][:16]}, the kiosk now has {digest[:16]}"

    def anchors(self, kiosk_id: str, after: int = 0, limit: int = PAGE) -> dict[str, Any]:
        """One page of a kiosk's anchors, oldest first, from sequence number `after` (exclusive)."""
        rows = self.store.rows(
            "SELECT seq, hash, signature, at FROM anchors WHERE kiosk_id=? AND seq>? ORDER BY seq LIMIT ?",
            (kiosk_id, after, min(limit, PAGE) + 1),
        )
        page = rows[: min(limit, PAGE)]
        return {
            "anchors": [{"seq": r[0], "hash": r[1], "signature": r[2], "at": r[3]} for r in page],
            "more": len(rows) > len(page),
        }

    def alarms(self, kiosk_id: str | None = None) -> list[Alarm]:
        """Every alarm raised (for one kiosk, or all), oldest first."""
        where, params = ("WHERE kiosk_id=?", (kiosk_id,)) if kiosk_id else ("", ())
        rows = self.store.rows(f"SELECT kiosk_id, kind, seq, detail, at FROM anchor_alarms {where} ORDER BY at", params)
        return [Alarm(*r) for r in rows]

    def metrics(self) -> str:
        """Prometheus text: alarms by kiosk and kind, and each kiosk's highest anchored row."""
        lines = [
            "# HELP gateway_journal_anchor_alarms_total Journal heads that went backwards, forked or were not signed.",
            "# TYPE gateway_journal_anchor_alarms_total counter",
        ]
        for kiosk_id, kind, n in self.store.rows(
            "SELECT kiosk_id, kind, COUNT(*) FROM anchor_alarms GROUP BY kiosk_id, kind ORDER BY kiosk_id, kind"
        ):
            lines.append(f'gateway_journal_anchor_alarms_total{{kiosk="{kiosk_id}",kind="{kind}"}} {n}')
        lines += [
            "# HELP gateway_journal_anchored_seq The newest journal row anchored per kiosk.",
            "# TYPE gateway_journal_anchored_seq gauge",
        ]
        for kiosk_id, seq in self.store.rows("SELECT kiosk_id, MAX(seq) FROM anchors GROUP BY kiosk_id ORDER BY 1"):
            lines.append(f'gateway_journal_anchored_seq{{kiosk="{kiosk_id}"}} {seq}')
        return "\n".join(lines) + "\n"

"""`kiosk audit verify`: the journal checked on its own (the hash chain) and against the heads the gateway
anchored (each signed by this kiosk's journal key when it was sent).

The chain alone catches a row edited, inserted or deleted by someone who did not recompute the hashes. The
anchors catch the rest: a journal rewritten and rehashed no longer matches a head the gateway holds, and a
truncated one lacks rows the gateway saw. The gateway keeps one head per heartbeat, so a rewrite is placed
between the last anchor that still matches and the first that does not (docs/threat-model.md says what an
attacker holding the SD card can still do between two anchors).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from kiosk.gateway.answers import Anchor
from kiosk.gateway.head import SignedHead
from kiosk.store import AuditProblem, Store

MAX_ANCHOR_FILE_BYTES = 256 * 1024 * 1024  # an export of a few years of heartbeats


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_anchors(
    store: Store, anchors: Iterable[Anchor], kiosk_id: str, public_key: str | None = None
) -> list[AuditProblem]:
    """The journal against the gateway's anchors: the first anchored row that differs (with the window the
    rewrite lies in), the first row missing, and anchors this kiosk's key did not sign (`public_key`)."""
    problems: list[AuditProblem] = []
    head_seq, _ = store.journal_head()
    matched, differing, missing = 0, 0, 0
    first_missing: Anchor | None = None
    for a in sorted(anchors, key=lambda a: a.seq):
        if public_key is not None and not SignedHead(kiosk_id, a.seq, a.hash, a.signature).verify(public_key):
            problems.append(AuditProblem(a.seq, "the gateway's anchor of this row is not signed by this kiosk's key"))
            continue
        if a.seq == 0:
            continue
        held = store.journal_row_hash(a.seq)
        if held is None:
            missing += 1
            first_missing = first_missing or a
            continue
        if held == a.hash:
            if not differing:
                matched = a.seq
            continue
        differing += 1
        if differing == 1:
            problems.append(
                AuditProblem(
                    a.seq,
                    f"differs from the head anchored at the gateway on {_when(a.at)}: the journal was rewritten "
                    f"after row {matched} (the last row that matches an anchor)",
                )
            )
    if differing > 1:
        problems.append(AuditProblem(matched + 1, f"{differing - 1} later anchor(s) differ too"))
    if first_missing is not None:
        problems.append(
            AuditProblem(
                head_seq + 1 if first_missing.seq > head_seq else first_missing.seq,
                f"missing: the gateway anchored row {first_missing.seq} on {_when(first_missing.at)}, "
                f"the journal has {head_seq} rows ({missing} anchor(s) beyond what is here)",
            )
        )
    return sorted(problems, key=lambda p: p.seq)


def read_anchor_file(path: Path) -> list[Anchor]:
    """Anchors exported from the gateway (the JSON of GET /v1/kiosks/{id}/anchors, pages concatenated in
    one `anchors` list); ValueError saying what does not fit."""
    if path.stat().st_size > MAX_ANCHOR_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_ANCHOR_FILE_BYTES} bytes")
    try:
        data = json.loads(path.read_bytes())
        return [Anchor(int(a["seq"]), str(a["hash"]), str(a["signature"]), float(a["at"])) for a in data["anchors"]]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ValueError(f"{path}: not an anchor export ({exc.__class__.__name__}: {exc})") from None

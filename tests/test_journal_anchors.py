"""The journal as evidence against someone holding the SD card: heads signed with the kiosk's journal key
ride on heartbeats and are anchored at the gateway; a journal rewritten and rehashed, or truncated, fails
`kiosk audit verify` against those anchors, and a head that regresses or forks raises the gateway's alarm.

The attacker here has what a thief of the SD card has: write access to kiosk.db (triggers dropped, rows
deleted or changed, the chain recomputed) and the journal key itself."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from kiosk.cli import main
from kiosk.gateway.head import HeadSigner
from kiosk.ops.audit import check_anchors
from kiosk.sim.world import World
from kiosk.store.journal import GENESIS, row_hash


def _rows(world: World, n: int, kind: str = "release_outcome") -> None:
    for i in range(n):
        world.store.journal(kind, {"release": f"r{i}", "slot": 1 + i % 5, "outcome": "taken"})


def _anchor_now(world: World) -> str:
    assert world.kiosk.upkeep.heartbeat()
    return world.kiosk.upkeep.journal_verdict


def _anchored(world: World, batches: int = 4, rows: int = 10) -> int:
    """Journal `batches` of rows with a heartbeat after each; returns the journal's head row."""
    for _ in range(batches):
        _rows(world, rows)
        assert _anchor_now(world) == "anchored"
    return world.store.journal_head()[0]


def _attacker(world: World) -> sqlite3.Connection:
    db = sqlite3.connect(world.cfg.db_path)
    db.executescript("DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete;")
    return db


def _rehash_from(db: sqlite3.Connection, first: int) -> None:
    """Recompute every row's hash from `first` on, as an attacker who knows the (keyless) chain would."""
    prev_row = db.execute("SELECT hash FROM journal WHERE seq=?", (first - 1,)).fetchone()
    prev = prev_row[0] if prev_row else GENESIS
    for seq, ts, kind, data in db.execute(
        "SELECT seq, ts, kind, data FROM journal WHERE seq>=? ORDER BY seq", (first,)
    ).fetchall():
        digest = row_hash(prev, seq, ts, kind, data)
        db.execute("UPDATE journal SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, seq))
        prev = digest
    db.commit()


def _config(world: World, tmp_path: Path) -> Path:
    """The kiosk.toml of the simulated kiosk, as `kiosk provision` would have written it."""
    (tmp_path / "api-key").write_text(world.cfg.api_key + "\n")
    (tmp_path / "api-key").chmod(0o600)
    keys = ", ".join(f'"{k}" = "{v}"' for k, v in world.cfg.ticket_keys.items())
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "{world.cfg.kiosk_id}"\noffice = "{world.cfg.office}"\ndata_dir = "{world.cfg.data_dir}"\n'
        f'journal_key_file = "{world.cfg.journal_key_path}"\n'
        f'[gateway]\nurl = "{world.cfg.gateway_url}"\napi_key_file = "{tmp_path / "api-key"}"\n'
        f"[tickets]\nkeys = {{ {keys} }}\n"
        '[hardware]\ncamera = "sim"\nreader = "sim"\nvault = "sim"\nprinter = "sim"\n'
    )
    return path


def _verify(world: World, tmp_path: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", str(world.cfg.db_path), "--config", str(_config(world, tmp_path)), *extra])
    return code, capsys.readouterr().out


def test_an_honest_journal_verifies_against_its_anchors(world, tmp_path, capsys):
    head = _anchored(world)
    assert head > 0 and len(world.client.anchors()) == 4
    code, out = _verify(world, tmp_path, capsys)
    assert code == 0, out
    assert "against 4 anchor(s)" in out and "OK" in out


def test_the_journal_key_is_the_kiosks_and_the_gateway_holds_its_public_half(world):
    key = world.cfg.journal_key_path
    assert key.stat().st_mode & 0o777 == 0o600
    signer = HeadSigner.from_file(world.cfg.kiosk_id, key)
    assert world.gateway.journal_key(world.cfg.kiosk_id) == signer.public_key


def test_a_rewritten_and_rehashed_journal_is_caught_at_the_first_anchor_that_differs(world, tmp_path, capsys):
    _anchored(world, batches=4, rows=10)
    anchors = [a.seq for a in world.client.anchors()]
    db = _attacker(world)
    victim = anchors[1] - 3  # a release between the first and second anchors
    row = db.execute("SELECT data FROM journal WHERE seq=?", (victim,)).fetchone()
    db.execute("UPDATE journal SET data=? WHERE seq=?", (row[0].replace('"taken"', '"not_taken"'), victim))
    _rehash_from(db, victim)
    db.close()
    assert world.store.verify_journal() == []  # the chain alone is fooled: it has no key
    code, out = _verify(world, tmp_path, capsys)
    assert code == 1
    assert f"row {anchors[1]}: differs from the head anchored" in out
    assert f"rewritten after row {anchors[0]}" in out  # the window the change lies in
    assert "2 later anchor(s) differ too" in out


def test_a_truncated_journal_is_caught_naming_the_first_missing_row(world, tmp_path, capsys):
    _anchored(world, batches=3, rows=10)
    top = world.client.anchors()[-1].seq
    db = _attacker(world)
    db.execute("DELETE FROM journal WHERE seq > ?", (top - 8,))
    db.commit()
    db.close()
    assert world.store.verify_journal() == []
    code, out = _verify(world, tmp_path, capsys)
    assert code == 1
    assert f"row {top - 7}: missing: the gateway anchored row {top}" in out


def test_the_audit_reads_an_exported_anchor_file_and_refuses_anchors_not_signed_by_the_kiosk(world, tmp_path, capsys):
    _anchored(world, batches=2)
    export = {"anchors": [a.__dict__ for a in world.client.anchors()]}
    forged = dict(export["anchors"][0], signature="00" * 64)
    (tmp_path / "anchors.json").write_text(json.dumps({"anchors": [forged, export["anchors"][1]]}))
    code, out = _verify(world, tmp_path, capsys, "--anchors", str(tmp_path / "anchors.json"))
    assert code == 1
    assert f"row {forged['seq']}: the gateway's anchor of this row is not signed by this kiosk's key" in out
    (tmp_path / "broken.json").write_text("{")
    code, _ = _verify(world, tmp_path, capsys, "--anchors", str(tmp_path / "broken.json"))
    assert code == 2  # cannot be checked: said, not crashed


def test_a_head_that_goes_backwards_raises_the_gateways_alarm_and_is_not_anchored(world):
    head = _anchored(world, batches=2)
    db = _attacker(world)
    db.execute("DELETE FROM journal WHERE seq > ?", (head - 5,))
    db.commit()
    db.close()
    assert _anchor_now(world) == "regressed"
    alarms = world.gateway.anchor_alarms(world.cfg.kiosk_id)
    assert [(a.kind, a.seq) for a in alarms] == [("regressed", head - 5)]
    assert world.client.anchors()[-1].seq == head  # the kiosk's first word on row `head` stays


def test_history_rewritten_under_the_last_anchor_is_seen_at_the_next_heartbeat(world):
    head = _anchored(world, batches=2)
    db = _attacker(world)
    db.execute("UPDATE journal SET data='{}' WHERE seq=?", (head - 2,))
    _rehash_from(db, head - 2)
    db.close()
    _rows(world, 3)  # the attacker's kiosk carries on: its head moves past the anchor
    assert _anchor_now(world) == "forked"  # its own hash of the anchored row no longer matches
    assert [a.kind for a in world.gateway.anchor_alarms()] == ["forked"]


def test_a_forked_head_and_a_foreign_signature_raise_alarms_counted_in_metrics(world):
    head = _anchored(world, batches=1)
    signer = HeadSigner.from_file(world.cfg.kiosk_id, world.cfg.journal_key_path)
    fork = world.client.heartbeat({"journal_head": signer.sign(head, "ab" * 32).to_json()})
    assert fork.verdict == "forked" and fork.anchor is not None and fork.anchor.seq == head
    stranger = HeadSigner(world.cfg.kiosk_id, Ed25519PrivateKey.generate())
    assert world.client.heartbeat({"journal_head": stranger.sign(head + 1, "cd" * 32).to_json()}).verdict == (
        "bad_signature"
    )
    with urllib.request.urlopen(world.gateway.url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    kiosk = world.cfg.kiosk_id
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("gateway_journal_anchor_alarms_total", (("kind", "forked"), ("kiosk", kiosk)))] == 1
    assert samples[("gateway_journal_anchor_alarms_total", (("kind", "bad_signature"), ("kiosk", kiosk)))] == 1
    assert samples[("gateway_journal_anchored_seq", (("kiosk", kiosk),))] == head
    assert "journal forked at row" in world.gateway.fleet_page()
    if shutil.which("promtool"):  # the exposition is what Prometheus accepts
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr


def test_check_anchors_passes_an_empty_journal_with_no_anchors(world):
    assert check_anchors(world.store, [], world.cfg.kiosk_id) == []

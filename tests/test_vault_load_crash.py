"""Operator loading survives a power cut (found by `kiosk bench powercut`): the load intent, with the card's
record, is committed before the slot opens, and a restart settles it from the seat sensor. Before, a kill
between the seat confirming the card and its record left a card in the vault the kiosk knew nothing of:
never released, its slot alarmed for an 'unexpected card' for good."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.gateway.client import GatewayUnavailable, ManifestCard
from kiosk.hardware.indicators import SimIndicators
from kiosk.hardware.vault import SimVault
from kiosk.health import Health
from kiosk.runner.vaultdesk import VaultDesk
from kiosk.store import Store

CARD = ManifestCard("C-0007", "5371010101900007", "04AA000000000007", "537101", "2026-01-01")


class OneCardGateway:
    """The manifest of one card (the only gateway call loading makes)."""

    def __init__(self, card: ManifestCard = CARD) -> None:
        self.card = card

    def manifest(self) -> list[ManifestCard]:
        return [self.card]


def desk_on(vault: SimVault, store: Store) -> VaultDesk:
    gateway = OneCardGateway()
    return VaultDesk(vault, store, gateway, SimIndicators(), Health(), release_timeout_s=0.3, load_timeout_s=0.3)  # type: ignore[arg-type]


def _load_then_die(db: str, checkpoint: str) -> None:
    """Child process: the operator loads CARD (seated as soon as the slot opens); killed at `checkpoint`."""
    store = Store(db)
    vault = SimVault(4, auto=True)  # an opened empty slot gets the card at once
    desk = desk_on(vault, store)

    def die(name: str) -> None:
        if name == checkpoint:
            os.kill(os.getpid(), signal.SIGKILL)

    desk.checkpoint = die
    desk.load(CARD.chip_uid, "Petugas")
    os._exit(3)  # the checkpoint was never reached


@pytest.mark.parametrize(
    ("checkpoint", "seated"),
    [("load_intent_written", False), ("load_vault_done", True), ("load_outcome_written", True)],
)
def test_a_load_cut_short_is_settled_from_the_seat_at_restart(tmp_path: Path, checkpoint: str, seated: bool) -> None:
    db = tmp_path / "kiosk.db"
    child = multiprocessing.get_context("fork").Process(target=_load_then_die, args=(str(db), checkpoint))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL, f"the child was meant to die at {checkpoint}"

    store = Store(db)
    vault = SimVault(4)  # the restarted kiosk: the card is in slot 1 if it went in before the power went
    if seated:
        vault.put(1)
    outcome_known = checkpoint == "load_outcome_written"
    assert len(store.open_loads()) == (0 if outcome_known else 1)
    settled = desk_on(vault, store).reconcile()

    assert store.open_loads() == []
    assert [(r.kind, r.outcome) for r in settled] == (
        [] if outcome_known else [("load", "inserted" if seated else "not_inserted")]
    )
    card = store.card_in_slot(1)
    assert (card is not None and card.card_id == CARD.card_id and card.nik == CARD.nik) == seated, "books = seats"
    kinds = [kind for _, _, kind, _ in store.journal_rows()]
    assert kinds == ["load_intent", "card_loaded" if seated else "load_outcome"]
    closing = store.journal_rows()[-1][3]
    assert closing["audit"] is not outcome_known, "a load nobody saw end is flagged for audit"
    assert [i.kind for i in store.pending()] == (["card_loaded"] if seated else [])
    # the intent kept the card's record only until its outcome: no NIK left in the loads table
    assert not store.verify_journal()
    store.close()
    with sqlite3.connect(db) as raw:
        assert all(CARD.nik not in str(row) for row in raw.execute("SELECT * FROM loads"))


def test_loading_writes_intent_then_outcome(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    desk = desk_on(SimVault(4, auto=True), store)
    note = desk.load(CARD.chip_uid, "Petugas")
    assert note.ok and store.card_in_slot(1) is not None
    assert [kind for _, _, kind, _ in store.journal_rows()] == ["load_intent", "card_loaded"]
    store.close()


class Templates:
    """Face templates that record which cards were enrolled from which photo."""

    enrol = object()  # a real kiosk's: templates are computed

    def __init__(self) -> None:
        self.added: list[tuple[str, bytes]] = []

    def add_from_photo(self, card_id: str, photo: bytes) -> bool:
        self.added.append((card_id, photo))
        return True


class NoGateway:
    """The link is down."""

    def manifest(self) -> list[ManifestCard]:
        raise GatewayUnavailable("link down")


@pytest.mark.parametrize("online", [True, False])
def test_a_reconciled_load_gets_its_face_template_or_says_it_has_none(tmp_path: Path, online: bool) -> None:
    store = Store(tmp_path / "kiosk.db")
    store.begin_load(1, CARD.card_id, CARD.nik, CARD.chip_uid, "Petugas")  # then the power went
    vault = SimVault(4)
    vault.put(1)
    templates = Templates()
    gateway = OneCardGateway(replace(CARD, photo=b"photo")) if online else NoGateway()
    desk = VaultDesk(vault, store, gateway, SimIndicators(), Health(), release_timeout_s=0.3, templates=templates)  # type: ignore[arg-type]
    assert [r.outcome for r in desk.reconcile()] == ["inserted"]
    kinds = [kind for _, _, kind, _ in store.journal_rows()]
    if online:
        assert templates.added == [(CARD.card_id, b"photo")] and "template_missing" not in kinds
    else:
        assert templates.added == [] and kinds[-1] == "template_missing"
    store.close()

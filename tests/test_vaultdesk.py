"""The vault's books on a real SQLite file: release intent and outcome, crashes between every pair of steps
(a real SIGKILL), tamper, slot faults, and operator loading and unloading against the real gateway."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from kiosk.flow import events as ev
from kiosk.flow.model import CardStatus, Step
from kiosk.gateway.client import GatewayClient
from kiosk.hardware.gpio import GpioVault
from kiosk.hardware.indicators import Light, SimIndicators
from kiosk.hardware.vault import SimVault
from kiosk.health import Health, State
from kiosk.runner.vaultdesk import STOPPED, TAMPER, VaultDesk, slot_alarm
from kiosk.store import Store
from tests.test_vault import PINS

SLOT, CARD, NIK, CHIP = 2, "C-0002", "5371010101900002", "04AA000000000002"


def desk_on(vault: SimVault | GpioVault, store: Store, **kw: object) -> VaultDesk:
    gateway = GatewayClient("http://127.0.0.1:9", "K-TEST", "key", timeout_s=0.2)  # nothing listens: no manifest
    return VaultDesk(vault, store, gateway, SimIndicators(), Health(), release_timeout_s=0.3, **kw)  # type: ignore[arg-type]


def one_card(tmp_path: Path, auto: bool = False) -> tuple[Store, SimVault]:
    """A store with one card on record in SLOT, and a simulated vault with that card seated."""
    store = Store(tmp_path / "k.db")
    store.load_card(SLOT, CARD, NIK, CHIP)
    vault = SimVault(4, auto=auto)
    vault.put(SLOT)
    return store, vault


def kinds(store: Store) -> list[str]:
    return [kind for _, _, kind, _ in store.journal_rows()]


# -- crash between every pair of steps -----------------------------------------------------------

# The release's steps, in order, each followed by a named checkpoint:
#   intent committed -> intent_written -> gate energised -> gate_opened -> seat clears -> seat_cleared
#   -> gate released -> gate_shut -> (desk) vault_done -> outcome committed -> outcome_written
CHECKPOINTS = ["intent_written", "gate_opened", "seat_cleared", "gate_shut", "vault_done", "outcome_written"]


def _release_then_die(db: str, checkpoint: str, resident_takes: bool) -> None:
    """Child process: release the card and be killed (SIGKILL, no cleanup) at `checkpoint`."""
    store = Store(db)
    vault = SimVault(4, auto=resident_takes)
    vault.put(SLOT)
    desk = desk_on(vault, store)

    def die(name: str) -> None:
        if name == checkpoint:
            os.kill(os.getpid(), signal.SIGKILL)

    vault.checkpoint = die
    desk.checkpoint = die
    desk.release(SLOT, CARD)
    os._exit(3)  # the checkpoint was never reached


CASES = [
    (cp, takes)
    for cp in CHECKPOINTS
    for takes in (True, False)
    if not (cp == "seat_cleared" and not takes)  # an untaken card never clears its seat
]


def _crash_and_restart(
    tmp_path: Path, checkpoint: str, resident_takes: bool, door_open: bool
) -> tuple[Store, GpioVault, VaultDesk, list]:
    """Kill a releasing kiosk at `checkpoint`, restart it on GPIO with the door as given, reconcile."""
    db = tmp_path / "kiosk.db"
    store = Store(db)
    store.load_card(SLOT, CARD, NIK, CHIP)
    store.close()

    child = multiprocessing.get_context("fork").Process(
        target=_release_then_die, args=(str(db), checkpoint, resident_takes)
    )
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL, f"the child was meant to die at {checkpoint}"

    # the physical world after the crash: the card left only if the resident took it once the gate opened
    card_gone = resident_takes and checkpoint != "intent_written"
    factory = MockFactory()
    vault = GpioVault(PINS, factory)  # a restarted kiosk: gates are driven shut first
    assert all(factory.pin(s.gate).state == 0 for s in PINS.slots)
    # the door switch closes to ground while the door is shut (set after the input's pull-up is applied)
    door = factory.pin(PINS.door)
    door.drive_high() if door_open else door.drive_low()
    assert vault.door_open() is door_open
    if not card_gone:
        factory.pin(PINS.slots[SLOT - 1].seat).drive_low()
    assert vault.card_present(SLOT) is not card_gone

    store = Store(db)
    outcome_known = checkpoint == "outcome_written"
    assert len(store.open_releases()) == (0 if outcome_known else 1)
    desk = desk_on(vault, store)
    return store, vault, desk, desk.reconcile()


@pytest.mark.parametrize(("checkpoint", "resident_takes"), CASES)
def test_reconciliation_after_a_crash_between_steps(tmp_path: Path, checkpoint: str, resident_takes: bool) -> None:
    """The normal restart: door shut. The books are settled from the seats and no alarm is raised."""
    store, vault, desk, settled = _crash_and_restart(tmp_path, checkpoint, resident_takes, door_open=False)
    card_gone = resident_takes and checkpoint != "intent_written"
    outcome_known = checkpoint == "outcome_written"
    assert store.open_releases() == []
    assert not store.verify_journal()
    outcomes = [d for _, _, k, d in store.journal_rows() if k == "release_outcome"]
    assert len(outcomes) == 1, "exactly one outcome per intent"
    outbox = [i for i in store.pending() if i.kind == "release_outcome"]
    assert len(outbox) == 1
    if outcome_known:
        assert settled == []
        assert outcomes[0]["outcome"] == ("taken" if card_gone else "not_taken")
        assert outcomes[0]["audit"] is False
    else:
        (r,) = settled
        assert r.outcome == ("taken" if card_gone else "not_released")
        assert outcomes[0]["audit"] is True, "a release nobody saw end is flagged for audit"
    # the inventory follows the card: gone means gone, still seated means still releasable
    assert (store.card_in_slot(SLOT) is None) == card_gone
    # a normal restart raises no tamper alarm: the kiosk serves again at once
    assert TAMPER not in store.alarms() and not desk.releases_stopped()
    assert "tamper" not in kinds(store)
    vault.close()
    store.close()


def test_reconciliation_with_the_door_open_settles_the_books_and_raises_tamper(tmp_path: Path) -> None:
    store, vault, desk, settled = _crash_and_restart(tmp_path, "gate_opened", True, door_open=True)
    assert [r.outcome for r in settled] == ["taken"]
    assert store.open_releases() == [] and not store.verify_journal()
    assert TAMPER in store.alarms() and desk.releases_stopped()
    vault.close()
    store.close()


# -- resident releases through the desk -----------------------------------------------------------


def test_release_journals_intent_then_outcome(tmp_path: Path) -> None:
    store, vault = one_card(tmp_path, auto=True)
    desk = desk_on(vault, store)
    assert desk.release(SLOT, CARD) == "taken"
    assert kinds(store)[-2:] == ["release_intent", "release_outcome"]
    assert store.card_in_slot(SLOT) is None


def test_jam_takes_the_slot_out_of_service_and_the_rest_keep_serving(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.load_card(1, "C-1", NIK, CHIP)
    store.load_card(SLOT, CARD, "5371010101900003", "04AA000000000003")
    vault = SimVault(4, auto=True)
    vault.put(1)
    vault.put(SLOT)
    vault.jam(1)
    health = Health()
    gateway = GatewayClient("http://127.0.0.1:9", "K", "k", timeout_s=0.2)
    ind = SimIndicators()
    desk = VaultDesk(vault, store, gateway, ind, health, release_timeout_s=0.3)
    assert desk.release(1, "C-1") == "jammed"
    assert store.card_in_slot(1) is not None and store.card_in_slot(1).out_of_service  # type: ignore[union-attr]
    assert slot_alarm(1) in store.alarms()
    assert "alarm_raised" in kinds(store)
    assert health.status("vault").state == State.DEGRADED  # type: ignore[union-attr]
    assert "beep:2" in ind.history
    assert desk.release(SLOT, CARD) == "taken", "the other slots keep serving"
    assert desk.free_slot() == SLOT, "slot 1 has an alarm, so the emptied slot 2 is offered for loading"


def test_sensor_fault_is_recorded_and_the_slot_taken_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.load_card(SLOT, CARD, NIK, CHIP)
    vault = SimVault(4)  # the seat reads empty although the store says a card is there
    desk = desk_on(vault, store)
    assert desk.release(SLOT, CARD) == "sensor_fault"
    assert vault.opened == []
    assert store.card_in_slot(SLOT).out_of_service  # type: ignore[union-attr]


def test_tamper_outside_operator_mode_stops_releases_until_staff_clears_it(tmp_path: Path) -> None:
    store, vault = one_card(tmp_path, auto=True)
    ind = SimIndicators()
    health = Health()
    gateway = GatewayClient("http://127.0.0.1:9", "K", "k", timeout_s=0.2)
    desk = VaultDesk(vault, store, gateway, ind, health, release_timeout_s=0.3)
    vault.open_door()
    assert TAMPER in store.alarms()
    assert ind.light == Light.OUT_OF_SERVICE and "beep:5" in ind.history
    assert health.status("vault").state == State.FAILED  # type: ignore[union-attr]
    vault.open_door(False)
    assert desk.release(SLOT, CARD) == STOPPED, "a closed door does not end the alarm by itself"
    assert vault.opened == [] and store.open_releases() == []
    # a restart does not forget it either
    desk2 = desk_on(vault, Store(tmp_path / "k.db"))
    assert desk2.releases_stopped()
    vault.open_door()
    assert desk.clear_alarms("Petugas").msgid == "Close the service door first."
    vault.open_door(False)
    note = desk.clear_alarms("Petugas")
    assert note.ok and dict(note.fields) == {"n": "1"}
    assert desk.release(SLOT, CARD) == "taken"
    journal = kinds(store)
    assert journal.index("alarm_raised") < journal.index("alarm_cleared") < journal.index("release_outcome")


def test_door_in_operator_mode_is_journaled_not_an_alarm(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    vault = SimVault(4)
    desk = desk_on(vault, store)
    desk.maintenance = True
    vault.open_door()
    vault.open_door(False)
    assert store.alarms() == {}
    assert kinds(store) == ["door_opened", "door_closed"]


def test_door_opened_mid_release_aborts_and_raises_the_alarm(tmp_path: Path) -> None:
    store, vault = one_card(tmp_path)
    desk = desk_on(vault, store)
    vault.checkpoint = lambda name: vault.open_door() if name == "gate_opened" else None
    assert desk.release(SLOT, CARD) == "aborted"
    assert store.card_in_slot(SLOT) is not None, "the card never left: it stays releasable once cleared"
    assert TAMPER in store.alarms()


def test_door_opened_and_card_gone_is_recorded_as_taken_for_audit(tmp_path: Path) -> None:
    store, vault = one_card(tmp_path)
    desk = desk_on(vault, store)

    def grab_and_open(name: str) -> None:
        if name == "gate_opened":
            vault.take(SLOT)
            vault.open_door()

    vault.checkpoint = grab_and_open
    assert desk.release(SLOT, CARD) == "taken"
    (outcome,) = [d for _, _, k, d in store.journal_rows() if k == "release_outcome"]
    assert outcome["audit"] is True and store.card_in_slot(SLOT) is None


# -- through the kiosk: lookup, operator loading and unloading ----------------------------------


def operator_mode(world) -> None:
    from kiosk.sim.world import DEMO_OPERATOR_PIN, DEMO_OPERATOR_UID

    world.reader.insert(DEMO_OPERATOR_UID)
    world.kiosk.pump()
    world.reader.remove()
    world.kiosk.dispatch(ev.PinEntered(DEMO_OPERATOR_PIN))
    assert world.kiosk.session.step == Step.OPERATOR


def test_a_card_in_a_faulty_slot_sends_the_resident_to_the_counter(world) -> None:
    card = world.store.inventory()[0]
    world.vault.jam(card.slot)
    world.kiosk.vault.release_timeout_s = 0.2
    assert world.kiosk.vault.release(card.slot, card.card_id) == "jammed"
    lookup = world.kiosk.desk.look_up(card.nik)
    assert lookup.status == CardStatus.READY_ELSEWHERE


def test_operator_unloads_expired_cards_and_loads_them_back(world, clock) -> None:
    inventory = world.store.inventory()
    world.vault.auto = True
    operator_mode(world)
    world.kiosk.dispatch(ev.Press(ev.UNLOAD))
    assert world.kiosk.session.operator_note.msgid == "No cards are due to be taken out."
    clock.advance(31 * 86400)
    world.kiosk.dispatch(ev.Press(ev.UNLOAD))
    note = world.kiosk.session.operator_note
    first = inventory[0]
    assert note.ok and dict(note.fields) == {
        "card": first.card_id,
        "slot": str(first.slot),
        "n": str(len(inventory) - 1),
    }
    assert world.store.card_in_slot(first.slot) is None and not world.vault.present[first.slot]
    unloaded = [d for _, _, k, d in world.store.journal_rows() if k == "card_unloaded"]
    assert unloaded == [{"slot": first.slot, "card": first.card_id, "reason": "expired", "operator": "Petugas Demo"}]

    # loading: the operator taps the card; it goes back into the lowest free slot
    world.kiosk.dispatch(ev.Press(ev.LOAD))
    assert world.kiosk.session.operator_note.msgid == "Tap a finished card on the reader."
    world.reader.insert(first.chip_uid)
    world.kiosk.pump()
    world.reader.remove()
    note = world.kiosk.session.operator_note
    assert note.msgid == "Card {card} is in slot {slot}." and dict(note.fields)["slot"] == str(first.slot)
    loaded = world.store.card_in_slot(first.slot)
    assert loaded is not None and loaded.card_id == first.card_id and loaded.nik == first.nik
    # a card already in the vault, and a card that is not on the manifest, are refused
    world.reader.insert(inventory[1].chip_uid)
    world.kiosk.pump()
    world.reader.remove()
    assert world.kiosk.session.operator_note.msgid == "Card {card} is already in the vault."
    world.reader.insert("04FFFFFFFFFFFF")
    world.kiosk.pump()
    assert world.kiosk.session.operator_note.msgid == "This card is not on this kiosk's list. Keep it at the counter."
    assert not world.store.verify_journal()


def test_loading_skips_a_slot_whose_sensor_lies(world) -> None:
    world.vault.auto = True
    first = world.store.inventory()[0]
    world.store.unload_card(first.slot, "test", "Petugas")
    world.vault.present[first.slot] = False
    world.vault.stick(first.slot, True)  # the empty slot's sensor says 'card'
    operator_mode(world)
    world.kiosk.dispatch(ev.Press(ev.LOAD))
    world.reader.insert(first.chip_uid)
    world.kiosk.pump()
    note = world.kiosk.session.operator_note
    assert note.ok and dict(note.fields)["slot"] != str(first.slot)
    assert slot_alarm(first.slot) in world.store.alarms()


def test_kiosk_reconciles_before_serving(world, tmp_path: Path) -> None:
    from kiosk.runner import Kiosk, Parts

    card = world.store.inventory()[0]
    world.store.begin_release(card.slot, card.card_id)  # then the power went
    vault = SimVault(world.cfg.hardware.vault_slots)
    p = world.kiosk.parts
    core = Kiosk(
        world.cfg, world.store, world.client, Parts(p.camera, p.reader, vault, p.printer, p.indicators, p.face)
    )
    try:
        assert [(r.slot, r.outcome) for r in core.reconciled] == [(card.slot, "taken")]
        assert world.store.open_releases() == []
    finally:
        core.close()

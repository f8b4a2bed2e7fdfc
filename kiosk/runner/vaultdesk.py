"""The vault's books: every motion of a slot is written down before and after it happens.

Release: the intent is committed; the gate opens; the seat sensor says whether the card left; the outcome
is committed. A crash between any two steps leaves an intent without an outcome, which `reconcile()`
settles from the seat sensor before the first resident is served: a card still seated was not released;
a card gone was released, and the row is flagged for audit because nobody saw it leave.

Tamper: the service door opening outside operator mode raises the "tamper" alarm, which stops releases
until staff clears it. A jam or a lying sensor raises a "slot:N" alarm and takes that slot out of service;
the other slots keep serving.

Loading and unloading are operator work: the card is checked against the manifest, a free slot opens,
the seat sensor confirms the card went in (or out), and the store journals it. A load is written as a
release is: the intent (with the card's record) before the slot opens, the outcome after the seat spoke;
`reconcile()` settles an open load from the seat too (a card seated went on the books, flagged for audit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.flow.model import OperatorNote
from kiosk.flow.rules import VaultFacts, release_hold
from kiosk.gateway.client import GatewayClient, GatewayRefused, GatewayUnavailable, ManifestCard
from kiosk.hardware.indicators import Indicators, Light
from kiosk.hardware.vault import LoadResult, ReleaseResult, Vault
from kiosk.health import Health, State
from kiosk.i18n import N_
from kiosk.identity.nik import mask_nik
from kiosk.identity.templates import Templates
from kiosk.store import Store
from kiosk.store.db import InventoryCard

log = logging.getLogger(__name__)

TAMPER = "tamper"
STOPPED = "stopped"  # release outcome when the tamper alarm holds the vault shut
Progress = Callable[[str, dict[str, Any]], None]


def slot_alarm(slot: int) -> str:
    return f"slot:{slot}"


def _note(msgid: str, fields: dict[str, Any] | None = None, ok: bool = True) -> OperatorNote:
    return OperatorNote.of(msgid, ok=ok, **(fields or {}))


@dataclass(frozen=True)
class Reconciled:
    """An intent found open at start and how it was settled."""

    intent_id: str
    slot: int
    card_id: str
    outcome: str
    kind: str = "release"  # "release", or "load" (staff putting a card in)


class VaultDesk:
    """Release, reconciliation, tamper, loading and unloading over a Vault and the Store."""

    def __init__(
        self,
        vault: Vault,
        store: Store,
        gateway: GatewayClient,
        indicators: Indicators,
        health: Health,
        *,
        release_timeout_s: float,
        load_timeout_s: float = 60.0,
        unload_after_days: float = 30.0,
        templates: Templates | None = None,
        clock: Callable[[], float] = time.time,
        today: Callable[[], str] | None = None,
    ) -> None:
        self.vault = vault
        self.store = store
        self.gateway = gateway
        self.indicators = indicators
        self.health = health
        self.release_timeout_s = release_timeout_s
        self.load_timeout_s = load_timeout_s
        self.unload_after_s = unload_after_days * 86400
        self.clock = clock
        self.today = today or (lambda: time.strftime("%Y-%m-%d", time.gmtime(self.clock())))  # ISO, kiosk-local
        self.templates = templates
        self.maintenance = False  # operator mode: the door may open
        self.checkpoint: Callable[[str], None] = lambda name: None  # fault-injection seam for tests
        self._lock = threading.Lock()
        vault.on_door(self.door_changed)

    # -- start-up ------------------------------------------------------------------------------

    def reconcile(self) -> list[Reconciled]:
        """Settle every release intent that has no outcome, from the seat sensors. Run before serving."""
        settled: list[Reconciled] = []
        for intent in self.store.open_releases():
            present = self.vault.card_present(intent.slot)
            outcome = "not_released" if present else "taken"
            self.store.finish_release(intent.release_id, outcome, audit=True)
            log.warning(
                "release %s of slot %s found open at start: card %s, recorded %s (flagged for audit)",
                intent.release_id,
                intent.slot,
                "still seated" if present else "gone",
                outcome,
            )
            settled.append(Reconciled(intent.release_id, intent.slot, intent.card_id, outcome))
        for load in self.store.open_loads():
            present = self.vault.card_present(load.slot)
            outcome = LoadResult.INSERTED.value if present else LoadResult.NOT_INSERTED.value
            self.store.finish_load(load.load_id, outcome, audit=True)
            log.warning(
                "load %s of slot %s found open at start: %s, recorded %s (flagged for audit)",
                load.load_id,
                load.slot,
                "a card is seated" if present else "the seat is empty",
                outcome,
            )
            settled.append(Reconciled(load.load_id, load.slot, load.card_id, outcome, kind="load"))
        self._enrol_reconciled([r.card_id for r in settled if r.kind == "load" and r.outcome == "inserted"])
        if self.vault.door_open() and not self.maintenance:
            self._tamper("door open at start")
        self._show_state()
        return settled

    # -- resident release ----------------------------------------------------------------------

    def releases_stopped(self) -> bool:
        return TAMPER in self.store.alarms()

    def facts(self, card: InventoryCard | None, today: str) -> VaultFacts:
        """What the flow's release rule needs to know about `card` (None: not in this vault) right now."""
        reader = self.health.status("reader")
        return VaultFacts(
            in_vault=card is not None,
            valid_until=card.valid_until if card else None,
            today=today,
            releases_stopped=self.releases_stopped(),
            reader_down=reader is not None and reader.state == State.FAILED,
            out_of_service=card is not None and card.out_of_service,
        )

    def release(self, slot: int, card_id: str) -> str:
        """Release `card_id` from `slot` with intent and outcome journaled; returns the outcome. The flow's
        release rule is asked again here, under the motion lock, since a part may have failed (or the door
        opened) since the lookup; a card it holds back stays shut in with the outcome "stopped"."""
        with self._lock:
            card = next((c for c in self.store.inventory() if c.slot == slot and c.card_id == card_id), None)
            hold = release_hold(self.facts(card, self.today())) if card is not None else None
            if hold is not None:
                log.error("release of slot %s refused: %s", slot, hold.value)
                return STOPPED
            try:
                release_id = self.store.begin_release(slot, card_id)
            except (LookupError, RuntimeError) as exc:
                log.error("release of slot %s refused by the store: %s", slot, exc)
                return "fault"
            self.checkpoint("intent_written")
            try:
                result = self.vault.release(slot, self.release_timeout_s)
            except Exception:
                log.exception("vault failed releasing slot %s", slot)
                result = ReleaseResult.JAMMED
            self.checkpoint("vault_done")
            outcome, audit = result.value, False
            if result == ReleaseResult.ABORTED and not self.vault.card_present(slot):
                outcome, audit = "taken", True  # the door opened and the card is gone: nobody saw who took it
            self.store.finish_release(release_id, outcome, audit=audit)
            self.checkpoint("outcome_written")
            if result in (ReleaseResult.JAMMED, ReleaseResult.SENSOR_FAULT):
                self._slot_fault(slot, result.value)
            return outcome

    # -- door ----------------------------------------------------------------------------------

    def door_changed(self, is_open: bool) -> None:
        """The tamper switch moved (any thread)."""
        if self.maintenance:
            self.store.journal("door_opened" if is_open else "door_closed", {}, outbox=True)
            return
        if is_open:
            self._tamper("door opened outside operator mode")

    def _tamper(self, why: str) -> None:
        if self.store.raise_alarm(TAMPER, {"why": why}):
            log.error("tamper alarm: %s; releases stopped until staff clears it", why)
        self.health.report("vault", State.FAILED, "tamper: " + why)
        self.indicators.show(Light.OUT_OF_SERVICE)
        self.indicators.beep(5)

    def _slot_fault(self, slot: int, what: str) -> None:
        card = self.store.card_in_slot(slot)
        self.store.raise_alarm(slot_alarm(slot), {"slot": slot, "fault": what, "card": card.card_id if card else None})
        self.health.report("vault", State.DEGRADED, f"slot {slot} {what}; out of service")
        self.health.error("vault")
        log.error("slot %s %s: out of service until staff clears it", slot, what)
        self.indicators.beep(2)

    def _show_state(self) -> None:
        alarms = self.store.alarms()
        if TAMPER in alarms:
            self.indicators.show(Light.OUT_OF_SERVICE)
            self.health.report("vault", State.FAILED, "tamper alarm raised")
        elif alarms:
            self.health.report("vault", State.DEGRADED, f"{len(alarms)} slot(s) out of service")
        else:
            self.health.report("vault", State.OK)

    def clear_alarms(self, operator: str) -> OperatorNote:
        """Staff clears every alarm (the door must be shut)."""
        if self.vault.door_open():
            return _note(N_("Close the service door first."), ok=False)
        alarms = self.store.alarms()
        for name in alarms:
            self.store.clear_alarm(name, operator)
        self._show_state()
        return _note(N_("Alarms cleared: {n}."), {"n": len(alarms)})

    # -- loading -------------------------------------------------------------------------------

    def free_slot(self, exclude: set[int] | None = None) -> int | None:
        """The lowest slot with no card on record, no alarm and an empty seat; a seat that sees a card
        nobody recorded raises that slot's alarm."""
        held = {c.slot for c in self.store.inventory()}
        alarms = self.store.alarms()
        for slot in range(1, self.vault.slot_count + 1):
            if slot in held or slot_alarm(slot) in alarms or (exclude and slot in exclude):
                continue
            if not self.vault.card_present(slot):
                return slot
            # empty on record but the seat sees a card: an unrecorded card, or a lying sensor
            self._slot_fault(slot, "unexpected_card")
        return None

    def load(self, chip_uid: str, operator: str, progress: Progress | None = None) -> OperatorNote:
        """A finished card was tapped in operator mode: check it, open a free slot, confirm it went in."""
        with self._lock:
            if self.releases_stopped():
                return _note(N_("Clear the tamper alarm first."), ok=False)
            try:
                manifest = {c.chip_uid.upper(): c for c in self.gateway.manifest()}
            except (GatewayUnavailable, GatewayRefused) as exc:
                log.warning("manifest unavailable for loading: %s", exc)
                return _note(N_("The card list cannot be fetched now. Try again later."), ok=False)
            card = manifest.get(chip_uid.upper())
            if card is None:
                return _note(N_("This card is not on this kiosk's list. Keep it at the counter."), ok=False)
            if any(c.card_id == card.card_id for c in self.store.inventory()):
                return _note(N_("Card {card} is already in the vault."), {"card": card.card_id}, ok=False)
            tried: set[int] = set()
            while (slot := self.free_slot(tried)) is not None:
                if progress:
                    progress(N_("Put card {card} into slot {slot}."), {"card": card.card_id, "slot": slot})
                result = self._load_into(slot, card, operator)
                if result == LoadResult.INSERTED:
                    log.info("card %s (NIK %s) loaded into slot %s", card.card_id, mask_nik(card.nik), slot)
                    fields = {"card": card.card_id, "slot": slot}
                    if not self.enrol(card):
                        return _note(
                            N_("Card {card} is in slot {slot}, but its photo gives no face to check against."),
                            fields,
                            ok=False,
                        )
                    return _note(N_("Card {card} is in slot {slot}."), fields)
                if result == LoadResult.SENSOR_FAULT:
                    self._slot_fault(slot, "sensor_fault")
                    tried.add(slot)
                    continue
                return _note(N_("Slot {slot} saw no card. Tap the card again."), {"slot": slot}, ok=False)
            return _note(N_("The vault is full."), ok=False)

    def _load_into(self, slot: int, card: ManifestCard, operator: str) -> LoadResult:
        """Intent (with the card's record), the slot opened for the card, outcome: the card is on the books
        with the outcome "inserted", and a crash in between is settled by `reconcile()`."""
        load_id = self.store.begin_load(
            slot, card.card_id, card.nik, card.chip_uid, operator, card.old_chip_uid, card.valid_until
        )
        self.checkpoint("load_intent_written")
        try:
            result = self.vault.accept(slot, self.load_timeout_s)
        except Exception:
            log.exception("vault failed loading slot %s", slot)
            result = LoadResult.SENSOR_FAULT  # the slot is taken out; a card seated there raises its alarm
        self.checkpoint("load_vault_done")
        self.store.finish_load(load_id, result.value)
        self.checkpoint("load_outcome_written")
        return result

    def _enrol_reconciled(self, card_ids: list[str]) -> None:
        """Face templates for cards a reconciled load put on the books, from the manifest's photos; a card
        whose photo cannot be had now is journaled `template_missing`, as at loading."""
        if not card_ids or self.templates is None or self.templates.enrol is None:
            return
        try:
            manifest = {c.card_id: c for c in self.gateway.manifest()}
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.warning("manifest unavailable for the templates of reconciled loads: %s", exc)
            manifest = {}
        for card_id in card_ids:
            card = manifest.get(card_id)
            if card is None:
                self.store.journal("template_missing", {"card": card_id}, outbox=True)
            else:
                self.enrol(card)

    def enrol(self, card: ManifestCard) -> bool:
        """Compute the card's face template from its recording photo; False (journaled) if there is none."""
        if self.templates is None or self.templates.enrol is None:
            return True  # this kiosk checks faces without templates (simulated)
        if card.photo and self.templates.add_from_photo(card.card_id, card.photo):
            return True
        self.store.journal("template_missing", {"card": card.card_id}, outbox=True)
        return False

    # -- unloading -----------------------------------------------------------------------------

    def due_for_unload(self) -> list[tuple[InventoryCard, str]]:
        """Cards staff should take out, with why: out of service, uncollected too long, off the manifest."""
        manifest: set[str] | None
        try:
            manifest = {c.card_id for c in self.gateway.manifest()}
        except (GatewayUnavailable, GatewayRefused):
            manifest = None
        now = self.clock()
        due = []
        for card in self.store.inventory():
            if card.out_of_service:
                due.append((card, "out_of_service"))
            elif now - card.loaded >= self.unload_after_s:
                due.append((card, "expired"))
            elif manifest is not None and card.card_id not in manifest:
                due.append((card, "withdrawn"))
        return due

    def unload_next(self, operator: str, progress: Progress | None = None) -> OperatorNote:
        """Open the next slot due for unloading and record the card once the seat is empty."""
        with self._lock:
            due = self.due_for_unload()
            if not due:
                return _note(N_("No cards are due to be taken out."))
            card, reason = due[0]
            if progress:
                progress(N_("Take card {card} out of slot {slot}."), {"card": card.card_id, "slot": card.slot})
            result = self.vault.release(card.slot, self.load_timeout_s)
            if result == ReleaseResult.ABORTED:
                return _note(N_("Close the service door first."), ok=False)
            if result != ReleaseResult.TAKEN:
                log.warning("unloading slot %s: %s", card.slot, result.value)
                return _note(N_("Slot {slot} did not give up its card. Check the slot."), {"slot": card.slot}, ok=False)
            self.store.unload_card(card.slot, reason, operator)
            self._show_state()
            return _note(
                N_("Card {card} is out of slot {slot}. Cards still due: {n}."),
                {"card": card.card_id, "slot": card.slot, "n": len(due) - 1},
            )

"""One read-only status snapshot of the kiosk, for every reader: the heartbeat, /metrics, /healthz,
`kiosk selftest` and the operator screen read it instead of reaching into the parts. Also the probes of
parts that report nothing by themselves (data disk, clock synchronisation, printer).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.hardware.printer import Printer, PrinterState
from kiosk.health import Health, State, Status
from kiosk.i18n import N_
from kiosk.runner.loop import Counters
from kiosk.runner.vaultdesk import VaultDesk, slot_alarm
from kiosk.store import InventoryCard, Store
from kiosk.sync.worker import SyncWorker


@dataclass(frozen=True)
class SlotFacts:
    """One vault slot as staff see it: the card it holds (the card id's last 4 characters, never a NIK),
    when that card is due to come out uncollected (epoch seconds), and whether the slot has an alarm."""

    slot: int
    card: str = ""  # "" when the slot holds no card
    due: float | None = None
    alarm: bool = False


@dataclass(frozen=True)
class StatusSnapshot:
    """The kiosk at one moment: states and counts, never personal data."""

    kiosk_id: str
    components: dict[str, Status]
    outbox_pending: int
    vault_cards: int
    vault_slots: int
    alarms: tuple[str, ...]
    releases_stopped: bool
    link_up: bool | None
    offline_since: float | None
    printer: PrinterState
    outcomes: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)  # the gateway's reports, by kind
    journal_seq: int = 0
    journal_head: str = ""
    slots: tuple[SlotFacts, ...] = ()  # every slot of the vault, in slot order (operator mode's grid)

    @property
    def overall(self) -> State:
        states = [s.state for s in self.components.values()]
        return State.FAILED if State.FAILED in states else State.DEGRADED if State.DEGRADED in states else State.OK

    def state_of(self, component: str) -> Status | None:
        return self.components.get(component)

    def failed(self, component: str) -> bool:
        status = self.components.get(component)
        return status is not None and status.state == State.FAILED

    @property
    def service_notice(self) -> str:
        """What residents should know before they start, when a part is down (a msgid, or "")."""
        if self.failed("camera"):
            return N_("This kiosk cannot serve right now. Please go to the counter.")
        if self.releases_stopped or self.failed("reader"):
            return N_("No card pickup here now. Booking and status work.")
        return ""

    def heartbeat(self) -> dict[str, Any]:
        """What the heartbeat tells the gateway."""
        return {
            "kiosk": self.kiosk_id,
            "components": {n: s.state.value for n, s in sorted(self.components.items())},
            "outbox_pending": self.outbox_pending,
            "vault_cards": self.vault_cards,
            "alarms": sorted(self.alarms),
            "outcomes": dict(self.outcomes),
        }


def clock_synchronised() -> bool | None:
    """systemd-timesyncd's view of the clock (None where timedatectl cannot say)."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return value == "yes" if out.returncode == 0 and value in ("yes", "no") else None


class StatusBoard:
    """Builds snapshots from the parts that own each fact, and probes the quiet parts."""

    def __init__(
        self,
        kiosk_id: str,
        store: Store,
        health: Health,
        vault: VaultDesk,
        printer: Printer,
        counters: Counters,
        data_dir: Path,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.store, self.health, self.vault, self.printer = store, health, vault, printer
        self.counters = counters
        self.data_dir = data_dir
        self.sync: SyncWorker | None = None  # the outbox worker, once attached
        self.printer_state = PrinterState.OK  # as last probed (probing talks to the printer: not on the UI thread)
        self.clock_synchronised: Callable[[], bool | None] = clock_synchronised

    def snapshot(self) -> StatusSnapshot:
        seq, head = self.store.journal_head()
        alarms = tuple(self.store.alarms())
        inventory = self.store.inventory()
        return StatusSnapshot(
            kiosk_id=self.kiosk_id,
            components=self.health.snapshot(),
            outbox_pending=self.store.pending_count(),
            vault_cards=len(inventory),
            vault_slots=self.vault.vault.slot_count,
            alarms=alarms,
            releases_stopped=self.vault.releases_stopped(),
            link_up=self.sync.link_up if self.sync else None,
            offline_since=self.sync.offline_since if self.sync else None,
            printer=self.printer_state,
            outcomes=dict(self.counters.outcomes),
            refusals=dict(self.counters.refusals),
            errors=self.counters.errors,
            conflicts=dict(self.counters.conflicts),
            journal_seq=seq,
            journal_head=head,
            slots=self.slot_facts(inventory, alarms),
        )

    def slot_facts(self, inventory: list[InventoryCard], alarms: tuple[str, ...]) -> tuple[SlotFacts, ...]:
        """Every slot with its card, due date and alarm. The due date is the vault desk's uncollected-card
        rule (VaultDesk.due_for_unload: loaded `unload_after_s` ago), read from the desk's own setting."""
        cards = {c.slot: c for c in inventory}
        return tuple(
            SlotFacts(
                slot=n,
                card=card.card_id[-4:] if card else "",
                due=card.loaded + self.vault.unload_after_s if card else None,
                alarm=slot_alarm(n) in alarms,
            )
            for n in range(1, self.vault.vault.slot_count + 1)
            for card in (cards.get(n),)
        )

    def probe_printer(self) -> PrinterState:
        """Ask the printer how it is, and keep the health model told."""
        state = self.printer.state()
        health = {PrinterState.OK: State.OK, PrinterState.PAPER_OUT: State.DEGRADED}.get(state, State.FAILED)
        self.health.report("printer", health, "" if state == PrinterState.OK else state.value)
        self.printer_state = state
        return state

    def probe(self) -> None:
        """Parts that report nothing by themselves: the data disk, the clock's synchronisation, the printer."""
        self.probe_printer()
        usage = shutil.disk_usage(self.data_dir)
        free = usage.free / usage.total
        state = State.FAILED if free < 0.03 else State.DEGRADED if free < 0.10 else State.OK
        self.health.report("disk", state, f"{100 * free:.0f}% free")
        synced = self.clock_synchronised()
        if synced is not None:
            self.health.report(
                "clock", State.OK if synced else State.DEGRADED, "" if synced else "NTP not synchronised"
            )

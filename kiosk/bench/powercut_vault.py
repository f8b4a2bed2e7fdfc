"""The physical world of `kiosk bench powercut`: a simulated vault whose cards outlive the kiosk process.

A real vault's cards stay where they are when the computer dies: a card seated in a slot stays seated, a
card a resident pulled out stays out. Here that state lives in one JSON file beside the kiosk's data, not
in the kiosk: every physical card (its card ID, chip UID and holder, a seeded resident's index; no NIK) and
where it is (the operator's tray, the operator's hand at an open slot, a slot's seat), each gate, and the
log of physical dispenses (which card left which slot, in order). The file is replaced atomically at every
physical change (a temp file written and fsynced, `os.replace`, the folder fsynced), so a SIGKILL at any
instant leaves the world before or after that change, never half of it. A kiosk started on the file finds
its gates shut (a gate's solenoid lets go when the power does) and its seats as they were.

`WorldState` is the file; `PowercutVault` is a SimVault over it, served by a scripted resident (who takes
the card a gate presents, unless told not to) and operator (who seats the card in their hand when an empty
slot opens). `on_change` names each physical change after it is on disk: the harness's phase crossings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.hardware.vault import SimVault
from kiosk.store.secret_files import sync_folder


@dataclass(frozen=True)
class PhysicalCard:
    """A finished card as a hand holds it: its ID, its chip and whose it is (a seeded resident's index)."""

    card_id: str
    chip_uid: str
    holder: int


@dataclass
class WorldState:
    """Where every card is, each gate, and every physical dispense so far; one file, replaced whole."""

    path: Path
    slots: dict[int, str | None]  # slot -> the card ID seated there (None: an empty seat)
    gates: dict[int, bool]  # slot -> gate open
    cards: dict[str, PhysicalCard]  # every card still in the kiosk's care: in the tray, a hand or a seat
    tray: list[str] = field(default_factory=list)  # cards waiting with the operator to be loaded
    hand: str | None = None  # the card in the operator's hand (being loaded)
    dispensed: list[tuple[str, int, int]] = field(default_factory=list)  # (card ID, slot, holder) in order
    now: float = 0.0  # the world's clock (simulated seconds), so a restarted kiosk's clock goes on from it

    @classmethod
    def create(cls, path: Path, slot_count: int) -> WorldState:
        """A new world: an empty vault with its gates shut, nothing in the tray (saved at once)."""
        state = cls(path, dict.fromkeys(range(1, slot_count + 1)), dict.fromkeys(range(1, slot_count + 1), False), {})
        state.save()
        return state

    @classmethod
    def load(cls, path: Path) -> WorldState:
        raw = json.loads(path.read_text())
        return cls(
            path,
            {int(k): v for k, v in raw["slots"].items()},
            {int(k): bool(v) for k, v in raw["gates"].items()},
            {c["card_id"]: PhysicalCard(c["card_id"], c["chip_uid"], c["holder"]) for c in raw["cards"]},
            list(raw["tray"]),
            raw["hand"],
            [(c, int(s), int(h)) for c, s, h in raw["dispensed"]],
            float(raw["now"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "slots": {str(k): v for k, v in self.slots.items()},
            "gates": {str(k): v for k, v in self.gates.items()},
            "cards": [c.__dict__ for c in self.cards.values()],
            "tray": self.tray,
            "hand": self.hand,
            "dispensed": self.dispensed,
            "now": self.now,
        }

    def save(self) -> None:
        """Replace the file atomically: the world is the old one or the new one after any kill."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w") as f:
            json.dump(self.to_json(), f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        sync_folder(self.path.parent)

    # -- what the office and the harness read -----------------------------------------------------

    def seated(self) -> list[tuple[int, PhysicalCard]]:
        """(slot, card) of every seated card, by slot."""
        return [(slot, self.cards[card]) for slot, card in sorted(self.slots.items()) if card is not None]

    def holders_in_care(self) -> set[int]:
        """The residents with a card still in the kiosk's care (tray, hand or seat)."""
        return {c.holder for c in self.cards.values()}

    def add_to_tray(self, card: PhysicalCard) -> None:
        """A new finished card arrives with the operator (the office's import); not saved here."""
        self.cards[card.card_id] = card
        self.tray.append(card.card_id)


class PowercutVault(SimVault):
    """A SimVault whose seats, gates and dispenses are a `WorldState` file, saved at every change."""

    def __init__(self, path: Path, slot_count: int, on_change: Callable[[str], None] | None = None) -> None:
        super().__init__(slot_count, auto=False)
        self.state = WorldState.load(path) if path.exists() else WorldState.create(path, slot_count)
        self.on_change = on_change or (lambda name: None)
        self.resident_takes = True  # the resident pulls the card a gate presents (False: they walked off)
        self.taken: PhysicalCard | None = None  # the card last pulled out, in the resident's hand
        self.moving_kind = "release"  # what the open gate is for: "release" or "loading"
        for slot, card in self.state.slots.items():
            self.present[slot] = card is not None
        if any(self.state.gates.values()):  # power came back: every solenoid let go when it went
            self.state.gates = dict.fromkeys(self.state.gates, False)
            self.state.save()

    def _change(self, name: str) -> None:
        self.state.save()
        self.on_change(name)

    def _gate(self, slot: int, open_: bool) -> None:
        if self.gates[slot] == open_:
            return
        seated = self.state.slots[slot]
        if open_:  # a gate opens on a seated card to release it, on an empty seat to take one in
            self.moving_kind = "release" if seated is not None else "loading"
        self.gates[slot] = self.state.gates[slot] = open_
        self.history.append((slot, open_))
        self._change(f"{self.moving_kind}.gate_{'opened' if open_ else 'shut'}")
        if not open_:
            return
        if seated is not None and self.resident_takes:
            self._dispense(slot, seated)
        elif seated is None and self.state.hand is not None:
            self._seat_card(slot, self.state.hand)

    def _dispense(self, slot: int, card_id: str) -> None:
        card = self.state.cards.pop(card_id)
        self.state.slots[slot] = None
        self.state.dispensed.append((card_id, slot, card.holder))
        self.present[slot] = False
        self.taken = card
        self._edge(slot)
        self._change("release.card_taken")

    def _seat_card(self, slot: int, card_id: str) -> None:
        self.state.slots[slot] = card_id
        self.state.hand = None
        self.present[slot] = True
        self._edge(slot)
        self._change("loading.card_seated")

    # -- the operator's hands ---------------------------------------------------------------------

    def pick_up(self) -> PhysicalCard | None:
        """The operator takes the next card from the tray into their hand (or still holds one)."""
        if self.state.hand is None and self.state.tray:
            self.state.hand = self.state.tray.pop(0)
            self._change("loading.picked_up")
        return self.state.cards[self.state.hand] if self.state.hand else None

    def put_down(self) -> None:
        """The operator puts the card in their hand back on the tray (it could not be loaded now)."""
        if self.state.hand is not None:
            self.state.tray.append(self.state.hand)
            self.state.hand = None
            self._change("loading.put_down")

    def card_in(self, slot: int) -> PhysicalCard | None:
        """The card physically seated in `slot`."""
        card = self.state.slots[slot]
        return self.state.cards[card] if card else None

    def tick(self, now: float) -> None:
        """Move the world's clock on (saved, so that a restarted kiosk's clock goes on from here)."""
        self.state.now = now
        self.state.save()

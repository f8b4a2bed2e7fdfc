"""One contract suite for the Vault port, run against the simulator and GpioVault on gpiozero MockFactory pins.

The rig plays the physical card: it waits for the gate to open and then moves the seat sensor the way a
card being pulled, stuck or pushed back would. Gate histories are asserted pin by pin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.hardware.gpio import GpioIndicators, GpioVault, PinMap, PinMapError, SlotPins
from kiosk.hardware.indicators import Light
from kiosk.hardware.vault import LoadResult, ReleaseResult, SimVault, SlotVault

SLOTS = 3
SETTLE = 0.05
TIMELINE: list[tuple[float, str, bool]] = []  # (monotonic, pin, state) of every GPIO change


class StampedPin(MockPin):
    """gpiozero's MockPin, also writing absolute change times to one timeline (to compare pins)."""

    def _change_state(self, value: bool) -> bool:
        changed = bool(super()._change_state(value))
        if changed:
            TIMELINE.append((time.monotonic(), str(self.info.name), bool(value)))
        return changed


PINS = PinMap(
    slots=(SlotPins("GPIO5", "GPIO6"), SlotPins("GPIO13", "GPIO19"), SlotPins("GPIO17", "GPIO27")),
    door="GPIO26",
    led="GPIO12",
    buzzer="GPIO16",
    settle_s=SETTLE,
)


class Rig:
    """The vault under test and the physical world around it."""

    vault: SlotVault

    def seat(self, slot: int, present: bool) -> None:
        """The seat sensor sees a card (or not)."""
        raise NotImplementedError

    def door(self, is_open: bool) -> None:
        raise NotImplementedError

    def gate_history(self, slot: int) -> list[bool]:
        raise NotImplementedError

    def gate_is_open(self, slot: int) -> bool:
        raise NotImplementedError

    def gate_intervals(self) -> list[tuple[float, float, int]]:
        """(opened, shut, slot) of every gate opening."""
        raise NotImplementedError

    def when_gate_opens(self, slot: int, then: Callable[[], None], wait_s: float = 3.0) -> threading.Thread:
        """In the background: once the gate of `slot` opens, do `then` (as a resident's hand would)."""

        def run() -> None:
            deadline = time.monotonic() + wait_s
            while not self.gate_is_open(slot) and time.monotonic() < deadline:
                time.sleep(0.005)
            if self.gate_is_open(slot):
                then()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t


class SimRig(Rig):
    def __init__(self) -> None:
        self.vault = self.sim = SimVault(SLOTS, settle_s=SETTLE)
        self.stamps: list[tuple[float, int, bool]] = []
        self.sim.gate_listeners.append(lambda slot, open_: self.stamps.append((time.monotonic(), slot, open_)))

    def seat(self, slot: int, present: bool) -> None:
        self.sim.set_seat(slot, present)

    def door(self, is_open: bool) -> None:
        self.sim.open_door(is_open)

    def gate_history(self, slot: int) -> list[bool]:
        return [False] + [on for s, on in self.sim.history if s == slot]

    def gate_is_open(self, slot: int) -> bool:
        return self.sim.gates[slot]

    def gate_intervals(self) -> list[tuple[float, float, int]]:
        return _intervals([(t, str(slot), on) for t, slot, on in self.stamps], {str(i): i for i in range(1, SLOTS + 1)})


class GpioRig(Rig):
    def __init__(self) -> None:
        TIMELINE.clear()
        self.factory = MockFactory(pin_class=StampedPin)
        self.door(False)  # the rig's door starts shut (the switch closes to ground)
        self.vault = self.gpio = GpioVault(PINS, self.factory)
        self.door(False)

    def pin(self, name: str) -> MockPin:
        return self.factory.pin(name)

    def seat(self, slot: int, present: bool) -> None:
        pin = self.pin(PINS.slots[slot - 1].seat)
        if present:
            pin.drive_low()  # the sensor pulls the line to ground when a card is seated
        else:
            pin.drive_high()

    def door(self, is_open: bool) -> None:
        pin = self.pin(PINS.door)
        if pin.function != "input":
            return
        if is_open:
            pin.drive_high()
        else:
            pin.drive_low()

    def gate_history(self, slot: int) -> list[bool]:
        return [bool(s.state) for s in self.pin(PINS.slots[slot - 1].gate).states]

    def gate_is_open(self, slot: int) -> bool:
        return bool(self.pin(PINS.slots[slot - 1].gate).state)

    def gate_intervals(self) -> list[tuple[float, float, int]]:
        return _intervals(TIMELINE, {s.gate: i for i, s in enumerate(PINS.slots, start=1)})


def _intervals(events: list[tuple[float, str, bool]], slot_of: dict[str, int]) -> list[tuple[float, float, int]]:
    opened: dict[str, float] = {}
    out = []
    for t, name, on in events:
        if name not in slot_of:
            continue
        if on:
            opened[name] = t
        elif name in opened:
            out.append((opened.pop(name), t, slot_of[name]))
    return out


@pytest.fixture(params=["sim", "gpio"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    r: Rig = SimRig() if request.param == "sim" else GpioRig()
    yield r
    r.vault.close()


# -- release ---------------------------------------------------------------------------------


def test_normal_release_opens_the_gate_once_and_shuts_it(rig: Rig) -> None:
    rig.seat(1, True)
    hand = rig.when_gate_opens(1, lambda: rig.seat(1, False))
    assert rig.vault.release(1, timeout=3) == ReleaseResult.TAKEN
    hand.join()
    assert rig.gate_history(1) == [False, True, False]
    assert rig.gate_history(2) == [False]
    assert not rig.vault.card_present(1)


def test_card_not_taken_is_secured_again(rig: Rig) -> None:
    rig.seat(2, True)
    assert rig.vault.release(2, timeout=0.3) == ReleaseResult.NOT_TAKEN
    assert rig.gate_history(2) == [False, True, False]
    assert rig.vault.card_present(2)


def test_card_that_moves_and_falls_back_is_a_jam(rig: Rig) -> None:
    rig.seat(1, True)

    def stuck_pull() -> None:
        rig.seat(1, False)  # the card leaves the seat...
        time.sleep(SETTLE / 5)
        rig.seat(1, True)  # ...and is back before it could be taken

    rig.when_gate_opens(1, stuck_pull)
    assert rig.vault.release(1, timeout=0.4) == ReleaseResult.JAMMED
    assert rig.gate_history(1) == [False, True, False]


def test_seat_sensor_stuck_empty_never_opens_the_gate(rig: Rig) -> None:
    # a card is on record in slot 3, but the sensor reads empty: opening would release blind
    rig.seat(3, False)
    assert rig.vault.release(3, timeout=1) == ReleaseResult.SENSOR_FAULT
    assert rig.gate_history(3) == [False]


def test_seat_sensor_stuck_full_reads_as_not_taken(rig: Rig) -> None:
    # the resident pulls the card but the sensor keeps reading 'present': the vault must not claim 'taken'
    rig.seat(1, True)
    rig.when_gate_opens(1, lambda: None)
    assert rig.vault.release(1, timeout=0.3) == ReleaseResult.NOT_TAKEN
    assert rig.gate_history(1) == [False, True, False]


def test_two_releases_at_once_are_serialised(rig: Rig) -> None:
    rig.seat(1, True)
    rig.seat(2, True)
    results: dict[int, ReleaseResult] = {}

    def pull_after_a_while(slot: int) -> Callable[[], None]:
        def pull() -> None:
            time.sleep(0.1)
            rig.seat(slot, False)

        return pull

    hands = [rig.when_gate_opens(s, pull_after_a_while(s), wait_s=5) for s in (1, 2)]
    workers = [threading.Thread(target=lambda s=s: results.__setitem__(s, rig.vault.release(s, 3))) for s in (1, 2)]
    for w in workers:
        w.start()
    for t in [*workers, *hands]:
        t.join(10)
    assert results == {1: ReleaseResult.TAKEN, 2: ReleaseResult.TAKEN}
    (_, a_shut, a_slot), (b_open, _, b_slot) = sorted(rig.gate_intervals())
    assert {a_slot, b_slot} == {1, 2}
    assert a_shut <= b_open, "two gates were open at the same time"


def test_door_opened_mid_release_shuts_the_gate_at_once(rig: Rig) -> None:
    rig.seat(1, True)
    rig.when_gate_opens(1, lambda: rig.door(True))
    assert rig.vault.release(1, timeout=5) == ReleaseResult.ABORTED
    assert rig.gate_history(1) == [False, True, False]
    assert rig.vault.card_present(1)


def test_door_open_before_release_keeps_the_gate_shut(rig: Rig) -> None:
    rig.seat(1, True)
    rig.door(True)
    assert rig.vault.door_open()
    assert rig.vault.release(1, timeout=1) == ReleaseResult.ABORTED
    assert rig.gate_history(1) == [False]


def test_door_listeners_hear_the_tamper_switch(rig: Rig) -> None:
    heard: list[bool] = []
    rig.vault.on_door(heard.append)
    rig.door(True)
    rig.door(False)
    assert heard == [True, False]


def test_a_hand_passing_the_sensor_is_not_a_taken_card(rig: Rig) -> None:
    # the seat reads empty for less than the settle time, then the card is back and stays
    rig.seat(2, True)

    def flicker() -> None:
        rig.seat(2, False)
        rig.seat(2, True)

    rig.when_gate_opens(2, flicker)
    # it moved and is back on its seat at the timeout: a jam to look at, never a card handed out
    assert rig.vault.release(2, timeout=0.3) == ReleaseResult.JAMMED


def test_unknown_slot_is_refused(rig: Rig) -> None:
    with pytest.raises(ValueError, match="no slot 9"):
        rig.vault.release(9, timeout=1)


# -- loading ---------------------------------------------------------------------------------


def test_loading_opens_an_empty_slot_until_a_card_is_seated(rig: Rig) -> None:
    rig.seat(2, False)
    rig.when_gate_opens(2, lambda: rig.seat(2, True))
    assert rig.vault.accept(2, timeout=3) == LoadResult.INSERTED
    assert rig.gate_history(2) == [False, True, False]
    assert rig.vault.card_present(2)


def test_loading_without_a_card_times_out_shut(rig: Rig) -> None:
    assert rig.vault.accept(1, timeout=0.2) == LoadResult.NOT_INSERTED
    assert rig.gate_history(1) == [False, True, False]


def test_loading_a_slot_whose_sensor_says_full_is_refused(rig: Rig) -> None:
    rig.seat(3, True)
    assert rig.vault.accept(3, timeout=1) == LoadResult.SENSOR_FAULT
    assert rig.gate_history(3) == [False]


# -- GPIO specifics ----------------------------------------------------------------------------


def test_gpio_gates_are_driven_shut_when_claimed() -> None:
    factory = MockFactory()
    vault = GpioVault(PINS, factory)
    try:
        assert all(factory.pin(s.gate).state == 0 for s in PINS.slots)
        assert all(factory.pin(s.gate).function == "output" for s in PINS.slots)
        assert factory.pin(PINS.slots[0].seat).pull == "up"
    finally:
        vault.close()


def test_gpio_active_low_gate_wiring_inverts_the_pin() -> None:
    factory = MockFactory()
    pins = PinMap(PINS.slots, PINS.door, PINS.led, PINS.buzzer, gate_active_high=False, settle_s=SETTLE)
    vault = GpioVault(pins, factory)
    try:
        assert factory.pin("GPIO5").state == 1  # shut = high on an active-low relay board
        factory.pin(PINS.door).drive_low()
        factory.pin("GPIO6").drive_low()
        assert vault.release(1, timeout=0.1) == ReleaseResult.NOT_TAKEN
        # before the claim the pin was an input (low); from then on: shut, open, shut
        assert [s.state for s in factory.pin("GPIO5").states] == [False, True, False, True]
    finally:
        vault.close()


def test_gpio_pin_map_is_checked_against_the_board_before_any_pin_is_claimed() -> None:
    factory = MockFactory()
    bad = PinMap(
        slots=(SlotPins("GPIO5", "BOARD29"), SlotPins("BOARD1", "GPIO40")),  # BOARD29 is GPIO5
        door="GPIO26",
        led="GPIO26",
        buzzer="GPIO16",
    )
    with pytest.raises(PinMapError) as err:
        GpioVault(bad, factory)
    text = "\n".join(err.value.problems)
    assert "gpio.slots[0].seat: 'BOARD29' (= GPIO5) is already used by gpio.slots[0].gate" in text
    assert "gpio.slots[1].gate: 'BOARD1' is not usable" in text
    assert "gpio.slots[1].seat: 'GPIO40' is not usable" in text
    assert "gpio.led: 'GPIO26' is already used by gpio.door" in text
    assert not factory.pins, "no pin may be claimed from a bad map"


def test_gpio_indicators_show_patterns_and_beep() -> None:
    factory = MockFactory()
    ind = GpioIndicators(PINS, factory)
    try:
        led = factory.pin(PINS.led)
        assert led.state == 1  # ready: steady on
        ind.show(Light.ATTENTION)
        deadline = time.monotonic() + 2
        while len(led.states) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(led.states) >= 4, "the LED should blink for attention"
        ind.beep(2)
        buzzer = factory.pin(PINS.buzzer)
        deadline = time.monotonic() + 2
        while [s.state for s in buzzer.states][:5] != [False, True, False, True, False] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [s.state for s in buzzer.states][:5] == [False, True, False, True, False]
    finally:
        ind.close()

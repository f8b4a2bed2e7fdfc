"""The vault and the indicators (status LED, buzzer, guide lights) on the board's GPIO header, with gpiozero.

On a Raspberry Pi gpiozero 2 drives the pins through lgpio; tests give a `MockFactory`. The pin map comes
from the `[gpio]` table of kiosk.toml (see docs/wiring.md) and is checked against the board before any pin
is claimed: every pin must be a GPIO of this board and used once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from gpiozero import LED, Buzzer, DigitalInputDevice, DigitalOutputDevice, Factory

from kiosk.flow.rules import Part
from kiosk.hardware.indicators import Light
from kiosk.hardware.vault import SlotVault


@dataclass(frozen=True)
class SlotPins:
    """One slot: the gate actuator (output) and the seat sensor (input)."""

    gate: str
    seat: str


@dataclass(frozen=True)
class PinMap:
    """Which header pin does what; names as gpiozero takes them ("GPIO17", "BOARD11", 17)."""

    slots: tuple[SlotPins, ...]
    door: str
    led: str
    buzzer: str
    seat_active_low: bool = True  # seat sensors pull the line to ground when a card is seated
    gate_active_high: bool = True  # a high pin switches the MOSFET on and opens the gate
    settle_s: float = 0.3  # an input must hold this long to count (debounce, a hand passing)
    # guide lights at the parts a resident handles; "" is a part without one
    reader_led: str = ""
    camera_led: str = ""
    printer_led: str = ""
    slot_leds: tuple[str, ...] = ()  # slot_leds[0] lights slot 1; "" or a short list: those slots have none

    def guides(self) -> dict[str, str]:
        """(config key, pin) of every wired guide light: gpio.reader_led, ..., gpio.slot_leds[i]."""
        pins = {
            "gpio.reader_led": self.reader_led,
            "gpio.camera_led": self.camera_led,
            "gpio.printer_led": self.printer_led,
        }
        pins.update((f"gpio.slot_leds[{i}]", pin) for i, pin in enumerate(self.slot_leds))
        return {key: pin for key, pin in pins.items() if pin}

    def keyed(self) -> list[tuple[str, str]]:
        """(config key, pin) for every pin, in config order."""
        pairs = [("gpio.door", self.door), ("gpio.led", self.led), ("gpio.buzzer", self.buzzer)]
        for i, slot in enumerate(self.slots):
            pairs += [(f"gpio.slots[{i}].gate", slot.gate), (f"gpio.slots[{i}].seat", slot.seat)]
        return pairs + list(self.guides().items())


def default_board() -> Any:
    """The 40-pin header shared by every Raspberry Pi since the B+ (for checking config off the kiosk)."""
    from gpiozero.pins.pi import PiBoardInfo

    return PiBoardInfo.from_revision(0xA02082)


def check_pins(pins: PinMap, board: Any) -> list[str]:
    """Problems with the pin map on `board` (a gpiozero BoardInfo), each naming its config key."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for key, name in pins.keyed():
        try:
            gpio = board.to_gpio(name)
        except ValueError as exc:  # PinInvalidPin is a ValueError
            problems.append(f'{key}: {name!r} is not usable ({exc}); use a GPIO name such as "GPIO17"')
            continue
        if gpio in seen:
            same = "" if str(name) == gpio else f" (= {gpio})"
            problems.append(f"{key}: {name!r}{same} is already used by {seen[gpio]}; give each part its own pin")
        else:
            seen[gpio] = key
    return problems


class PinMapError(ValueError):
    """The pin map does not fit this board; `problems` name the config keys."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("GPIO pin map invalid:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def _factory(factory: Factory | None) -> Factory:
    if factory is not None:
        return factory
    from gpiozero import Device

    Device.ensure_pin_factory()  # gpiozero's own choice: lgpio on a Pi; raises BadPinFactory elsewhere
    return Device.pin_factory


class GpioVault(SlotVault):
    """Slots wired to GPIO: a gate output and a seat input each, and the door's tamper switch.

    Every gate is driven shut the moment its pin is claimed, so a restart after a crash never leaves a
    slot open.
    """

    def __init__(self, pins: PinMap, factory: Factory | None = None) -> None:
        super().__init__(len(pins.slots), pins.settle_s)
        self.factory = _factory(factory)
        problems = check_pins(pins, self.factory.board_info)
        if problems:
            raise PinMapError(problems)
        self._gates: list[DigitalOutputDevice] = []
        self._seats: list[DigitalInputDevice] = []
        self._door_switch: DigitalInputDevice | None = None
        try:
            for slot in pins.slots:
                self._gates.append(
                    DigitalOutputDevice(
                        slot.gate, active_high=pins.gate_active_high, initial_value=False, pin_factory=self.factory
                    )
                )
            for number, slot in enumerate(pins.slots, start=1):
                seat = DigitalInputDevice(slot.seat, pull_up=pins.seat_active_low, pin_factory=self.factory)
                seat.when_activated = seat.when_deactivated = partial(self._edge, number)
                self._seats.append(seat)
            # the door switch closes (to ground) while the door is shut
            self._door_switch = DigitalInputDevice(pins.door, pull_up=True, pin_factory=self.factory)
            self._door_switch.when_deactivated = lambda: self._door_edge(True)
            self._door_switch.when_activated = lambda: self._door_edge(False)
        except Exception:
            self.close()
            raise

    def _gate(self, slot: int, open_: bool) -> None:
        device = self._gates[slot - 1]
        if open_:
            device.on()
        else:
            device.off()

    def _seat(self, slot: int) -> bool:
        return bool(self._seats[slot - 1].is_active)

    def _door(self) -> bool:
        return self._door_switch is None or not self._door_switch.is_active

    def close(self) -> None:
        for gate in self._gates:
            gate.off()
        for device in [*self._gates, *self._seats, self._door_switch]:
            if device is not None:
                device.close()
        self._gates, self._seats, self._door_switch = [], [], None


# LED patterns (on seconds, off seconds); None is steady on
PATTERNS: dict[Light, tuple[float, float] | None] = {
    Light.READY: None,
    Light.BUSY: (0.5, 0.5),
    Light.ATTENTION: (0.15, 0.15),
    Light.OUT_OF_SERVICE: (0.2, 1.8),
}


# a guide light blinks at the part to use, and the buzzer gives one short beep when it moves there
GUIDE_BLINK_S = (0.4, 0.4)
GUIDE_BEEP_S = 0.08


class GpioIndicators:
    """The status LED (steady when ready, blinking otherwise), the buzzer, and the guide lights wired at
    the reader, the camera, the printer and each vault slot (any of them may be absent)."""

    def __init__(self, pins: PinMap, factory: Factory | None = None) -> None:
        factory = _factory(factory)
        problems = check_pins(pins, factory.board_info)
        if problems:
            raise PinMapError(problems)
        self.led = LED(pins.led, pin_factory=factory)
        self.buzzer = Buzzer(pins.buzzer, pin_factory=factory)
        self.guides: dict[Part, LED] = {}
        self.slot_guides: dict[int, LED] = {}
        try:
            wired = {Part.READER: pins.reader_led, Part.CAMERA: pins.camera_led, Part.PRINTER: pins.printer_led}
            for part, pin in wired.items():
                if pin:
                    self.guides[part] = LED(pin, pin_factory=factory)
            for number, pin in enumerate(pins.slot_leds, start=1):
                if pin:
                    self.slot_guides[number] = LED(pin, pin_factory=factory)
        except Exception:
            self.close()
            raise
        self.light: Light | None = None
        self.pointed: tuple[Part | None, int | None] = (None, None)
        self.show(Light.READY)

    def show(self, light: Light) -> None:
        if light == self.light:
            return
        self.light = light
        pattern = PATTERNS[light]
        if pattern is None:
            self.led.on()
        else:
            self.led.blink(on_time=pattern[0], off_time=pattern[1], background=True)

    def beep(self, times: int = 1) -> None:
        self.buzzer.beep(on_time=0.15, off_time=0.1, n=times, background=True)

    def point(self, part: Part | None, slot: int | None = None) -> None:
        """Blink the guide light of `part` (of slot `slot` for the vault), every other one off; one short
        beep when the kiosk points somewhere new. A part without a guide light is pointed at by the beep."""
        if (part, slot) == self.pointed:
            return
        self.pointed = (part, slot)
        target = self._guide(part, slot)
        for led in [*self.guides.values(), *self.slot_guides.values()]:
            if led is not target:
                led.off()
        if target is not None:
            target.blink(on_time=GUIDE_BLINK_S[0], off_time=GUIDE_BLINK_S[1], background=True)
        if part is not None:
            self.buzzer.beep(on_time=GUIDE_BEEP_S, off_time=0.1, n=1, background=True)

    def _guide(self, part: Part | None, slot: int | None) -> LED | None:
        """The guide light of a part (of one slot for the vault), None where none is wired."""
        if part == Part.SLOT:
            return self.slot_guides.get(slot) if slot is not None else None
        return self.guides.get(part) if part is not None else None

    def close(self) -> None:
        for led in [*self.guides.values(), *self.slot_guides.values()]:
            led.close()
        self.led.close()
        self.buzzer.close()

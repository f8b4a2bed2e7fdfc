"""The buzzer and guide lights point at the part the resident is to use: the rule for each step, the
GPIO lights on gpiozero's MockFactory pins, the [gpio] keys that wire them, and a pickup walked end to end."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.config import ConfigError, load_config
from kiosk.flow.model import CardStatus, Lookup, Session, Step
from kiosk.flow.rules import Part, part_to_use
from kiosk.hardware import gpio
from kiosk.hardware.gpio import GpioIndicators, PinMap, PinMapError, SlotPins
from kiosk.hardware.indicators import SimIndicators
from kiosk.sim.journeys import SimClock, Visitor
from kiosk.sim.world import World
from tests.test_config import GOOD, write

# -- the rule ------------------------------------------------------------------------------------

LOOKED_UP = Lookup(CardStatus.READY_HERE, card_id="C-1", slot=7, new_chip_uid="04AA")

# the steps where the resident handles a part; at every other step the screen alone is used (typing the
# NIK, choosing an office, day or time, reading a refusal or a status, the busy screens, operator mode)
EXPECTED: dict[Step, tuple[Part | None, int | None]] = {
    Step.IDLE: (Part.CAMERA, None),  # show the queue ticket
    Step.CARD: (Part.READER, None),  # the old e-KTP on the reader
    Step.FACE: (Part.CAMERA, None),
    Step.RELEASE: (Part.SLOT, 7),  # the slot of the resident's card
    Step.TAP_NEW: (Part.READER, None),  # tap the new card
    Step.HANDED_OVER: (Part.PRINTER, None),  # the receipt
    Step.BOOKED: (Part.PRINTER, None),  # the booking slip
}


@pytest.mark.parametrize("step", list(Step))
def test_each_step_points_at_its_part(step):
    assert part_to_use(Session(step=step, lookup=LOOKED_UP)) == EXPECTED.get(step, (None, None))


def test_a_release_without_a_known_slot_points_at_the_vault_but_no_slot():
    assert part_to_use(Session(step=Step.RELEASE)) == (Part.SLOT, None)
    assert part_to_use(Session(step=Step.RELEASE, lookup=replace(LOOKED_UP, slot=None))) == (Part.SLOT, None)


def test_the_simulator_records_where_it_points():
    ind = SimIndicators()
    ind.point(Part.READER)
    ind.point(Part.SLOT, 7)
    ind.point(Part.SLOT, None)
    ind.point(None)
    assert ind.history == ["point:reader", "point:slot:7", "point:slot", "point:none"]


# -- the GPIO guide lights ------------------------------------------------------------------------

PINS = PinMap(
    slots=(SlotPins("GPIO5", "GPIO6"), SlotPins("GPIO13", "GPIO19"), SlotPins("GPIO17", "GPIO27")),
    door="GPIO26",
    led="GPIO12",
    buzzer="GPIO16",
    reader_led="GPIO4",
    camera_led="GPIO18",
    printer_led="",  # not wired
    slot_leds=("GPIO7", "GPIO8"),  # slot 3 has no light
)
GUIDES = ("GPIO4", "GPIO18", "GPIO7", "GPIO8")


def wait_until(done: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
    return done()


@pytest.fixture
def lights(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[GpioIndicators, MockFactory]]:
    monkeypatch.setattr(gpio, "GUIDE_BLINK_S", (0.02, 0.02))  # blink fast, so a test sees several edges
    factory = MockFactory()
    ind = GpioIndicators(PINS, factory)
    yield ind, factory
    ind.close()


def blinking(pin: MockPin) -> bool:
    """The pin went on and off at least twice since it was last cleared."""
    return wait_until(lambda: sum(1 for s in pin.states if s.state) >= 2)


def beeps(factory: MockFactory) -> int:
    """Beeps so far (a beep started while the last still sounds merges with it, as the ear hears it)."""
    time.sleep(0.25)  # a short beep is over by then
    return sum(1 for s in factory.pin(PINS.buzzer).states if s.state)


def clear(factory: MockFactory, *names: str) -> None:
    for name in names:
        factory.pin(name).clear_states()


def test_guide_lights_start_off(lights):
    _, factory = lights
    assert all(factory.pin(name).state == 0 for name in GUIDES)
    assert all(factory.pin(name).function == "output" for name in GUIDES)


def test_the_reader_light_blinks_with_one_short_beep(lights):
    ind, factory = lights
    ind.point(Part.READER)
    assert blinking(factory.pin("GPIO4"))
    assert beeps(factory) == 1
    assert all(factory.pin(name).state == 0 for name in GUIDES if name != "GPIO4")


def test_moving_on_switches_the_last_light_off_and_beeps_once_more(lights):
    ind, factory = lights
    ind.point(Part.READER)
    assert blinking(factory.pin("GPIO4")) and beeps(factory) == 1
    ind.point(Part.CAMERA)
    assert blinking(factory.pin("GPIO18"))
    assert factory.pin("GPIO4").state == 0
    clear(factory, "GPIO4")
    time.sleep(0.1)
    assert [s.state for s in factory.pin("GPIO4").states] == [False], "the reader light stays off"
    assert beeps(factory) == 2


def test_the_release_lights_the_slot_of_the_card(lights):
    ind, factory = lights
    ind.point(Part.SLOT, 2)
    assert blinking(factory.pin("GPIO8"))
    assert factory.pin("GPIO7").state == 0 and not any(s.state for s in factory.pin("GPIO7").states)


def test_pointing_again_at_the_same_part_neither_beeps_nor_restarts(lights):
    ind, factory = lights
    ind.point(Part.CAMERA)
    assert beeps(factory) == 1
    ind.point(Part.CAMERA)
    assert beeps(factory) == 1


@pytest.mark.parametrize(("part", "slot"), [(Part.PRINTER, None), (Part.SLOT, 3), (Part.SLOT, 9), (Part.SLOT, None)])
def test_a_part_without_a_light_turns_the_others_off_and_only_beeps(lights, part, slot):
    ind, factory = lights
    ind.point(Part.READER)
    assert blinking(factory.pin("GPIO4")) and beeps(factory) == 1
    ind.point(part, slot)
    clear(factory, *GUIDES)
    time.sleep(0.1)
    assert all([s.state for s in factory.pin(name).states] == [False] for name in GUIDES)
    assert beeps(factory) == 2


def test_nothing_to_point_at_is_dark_and_silent(lights):
    ind, factory = lights
    ind.point(Part.SLOT, 1)
    assert blinking(factory.pin("GPIO7"))
    ind.point(None)
    assert all(factory.pin(name).state == 0 for name in GUIDES)
    assert beeps(factory) == 1


def test_a_kiosk_without_guide_lights_still_beeps_at_each_new_part():
    factory = MockFactory()
    ind = GpioIndicators(PinMap(PINS.slots, PINS.door, PINS.led, PINS.buzzer), factory)
    try:
        ind.point(Part.READER)
        assert beeps(factory) == 1
        ind.point(Part.SLOT, 1)
        assert beeps(factory) == 2
        assert {info.name for info in factory.pins} == {PINS.led, PINS.buzzer}, "only the LED and buzzer are claimed"
    finally:
        ind.close()


def test_a_guide_light_on_a_used_pin_is_refused_before_any_pin_is_claimed():
    factory = MockFactory()
    bad = replace(PINS, camera_led="GPIO12", slot_leds=("GPIO7", "BOARD26"))  # BOARD26 is GPIO7
    with pytest.raises(PinMapError) as err:
        GpioIndicators(bad, factory)
    text = "\n".join(err.value.problems)
    assert "gpio.camera_led: 'GPIO12' is already used by gpio.led" in text
    assert "gpio.slot_leds[1]: 'BOARD26' (= GPIO7) is already used by gpio.slot_leds[0]" in text
    assert not factory.pins


# -- the [gpio] keys -------------------------------------------------------------------------------

GPIO = """
[gpio]
door = "GPIO26"
led = "GPIO12"
buzzer = "GPIO16"
slots = [
  { gate = "GPIO5", seat = "GPIO6" },
  { gate = "GPIO13", seat = "GPIO19" },
]
"""


def config_text(lines: str) -> str:
    return GOOD.replace('camera = "sim"', 'camera = "sim"\nindicators = "gpio"') + GPIO + lines


def test_guide_lights_are_optional(tmp_path):
    pins = load_config(write(tmp_path, config_text(""))).hardware.gpio
    assert pins is not None
    assert (pins.reader_led, pins.camera_led, pins.printer_led, pins.slot_leds) == ("", "", "", ())


def test_guide_lights_load_from_names_and_numbers(tmp_path):
    lines = 'reader_led = 4\ncamera_led = "GPIO18"\nprinter_led = ""\nslot_leds = ["", "BOARD26"]\n'
    pins = load_config(write(tmp_path, config_text(lines))).hardware.gpio
    assert pins is not None
    wired = (pins.reader_led, pins.camera_led, pins.printer_led, pins.slot_leds)
    assert wired == ("GPIO4", "GPIO18", "", ("", "BOARD26"))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("reader_led = 40", "gpio.reader_led: 'GPIO40' is not usable"),
        ("reader_led = -1", "gpio.reader_led: 'GPIO-1' is not usable"),
        ('camera_led = "GPIO12"', "gpio.camera_led: 'GPIO12' is already used by gpio.led"),
        ('printer_led = "GPIO5"', "gpio.printer_led: 'GPIO5' is already used by gpio.slots[0].gate"),
        ("printer_led = true", "gpio.printer_led: True is not a pin"),
        ('reader_led = 4\nslot_leds = ["GPIO4"]', "gpio.slot_leds[0]: 'GPIO4' is already used by gpio.reader_led"),
        ('slot_leds = ["GPIO7", "GPIO7"]', "gpio.slot_leds[1]: 'GPIO7' is already used by gpio.slot_leds[0]"),
        ('slot_leds = "GPIO7"', "gpio.slot_leds: 'GPIO7' must be a list of pins"),
        ('slot_leds = ["GPIO7", "", "GPIO8"]', "gpio.slot_leds: 3 lights for 2 slots"),
        ("slot_leds = [7, 2.5]", "gpio.slot_leds[1]: 2.5 is not a pin"),
    ],
)
def test_a_bad_guide_light_names_its_key(tmp_path, lines, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, config_text(lines)))
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


# -- the runner -------------------------------------------------------------------------------------


def points(world: World) -> list[str]:
    return [h for h in world.indicators.history if h.startswith("point:")]


def test_a_pickup_points_at_camera_reader_camera_slot_reader_printer(world: World, clock: SimClock):
    r = world.residents("ready_here")[0]
    assert r.old_chip_uid, "the journey below presents a chip"
    visitor = Visitor(world, clock, random.Random(1))
    slots: list[int | None] = []
    world.kiosk.listeners.append(lambda s: slots.append(s.lookup.slot) if s.step == Step.RELEASE and s.lookup else None)
    visitor.pickup(r)
    assert world.kiosk.session.step == Step.IDLE and world.kiosk.counters.outcomes == {"handed_over": 1}
    (slot, *_) = slots
    shown = points(world)
    assert [p for p in shown if p != "point:none"] == [
        "point:camera",  # idle: the ticket
        "point:reader",  # the old card
        "point:camera",  # the face
        f"point:slot:{slot}",
        "point:reader",  # the new card's tap
        "point:printer",  # the receipt
        "point:camera",  # idle again for the next resident
    ]
    assert all(a != b for a, b in itertools.pairwise(shown)), "each part is pointed at once, not on every change"


def test_a_refresh_does_not_point_again(world: World):
    before = points(world)
    world.kiosk.refresh()
    world.kiosk.pump()
    world.kiosk.tick()
    assert points(world) == before == ["point:camera"]


class BrokenLights(SimIndicators):
    def point(self, part: Part | None, slot: int | None = None) -> None:
        raise OSError("guide light driver gone")


def test_a_failing_guide_light_is_counted_and_the_visit_goes_on(world: World, clock: SimClock):
    world.kiosk.parts.indicators = BrokenLights()
    r = world.residents("ready_here")[0]
    Visitor(world, clock, random.Random(1)).pickup(r)
    assert world.kiosk.counters.outcomes == {"handed_over": 1}
    assert world.kiosk.counters.errors >= 1

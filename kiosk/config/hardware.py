"""Readers of the [hardware] table and of the [gpio] pin map it may need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.config.document import Document
from kiosk.config.model import CAMERAS, INDICATORS, PRINTER_QR, PRINTERS, READERS, VAULTS, HardwareConfig
from kiosk.hardware.atr import DEFAULT_ATR_LIST
from kiosk.hardware.gpio import PinMap, SlotPins, check_pins, default_board


def read_hardware(doc: Document) -> HardwareConfig:
    """[hardware]: which adapter drives each part (with the [gpio] pin map when a part is wired to the header)."""
    vault = doc.choice("hardware.vault", VAULTS, "sim")
    indicators = doc.choice("hardware.indicators", INDICATORS, "sim")
    wired = "gpio" in (vault, indicators)
    pins = read_pinmap(doc) if wired or doc.get("gpio") is not None else None  # checked even when not wired
    slots = doc.whole("hardware.vault_slots", 24, 1, 200)  # checked even when the pin map counts the slots
    printer, printer_device, printer_profile = _printer(doc)
    return HardwareConfig(
        camera=doc.choice("hardware.camera", CAMERAS, "sim"),
        camera_device=_camera_device(doc),
        reader=doc.choice("hardware.reader", READERS, "sim"),
        reader_name=str(doc.get("hardware.reader_name") or ""),
        atr_list=Path(doc.get("hardware.atr_list") or DEFAULT_ATR_LIST),
        vault=vault,
        vault_slots=len(pins.slots) if pins and vault == "gpio" else slots,
        vault_columns=doc.whole("hardware.vault_columns", 6, 1, 50),
        printer=printer,
        printer_device=printer_device,
        printer_qr=doc.choice("hardware.printer_qr", PRINTER_QR, "image"),
        printer_profile=printer_profile,
        release_timeout_s=doc.number("hardware.release_timeout_s", 45, 5, 300),
        load_timeout_s=doc.number("hardware.load_timeout_s", 60, 10, 600),
        unload_after_days=doc.number("hardware.unload_after_days", 30, 1, 365),
        indicators=indicators,
        gpio=pins if wired else None,
    )


def _camera_device(doc: Document) -> int | str:
    """hardware.camera_device: OpenCV's camera number (0-63) or a device path such as "/dev/video0"."""
    device = doc.get("hardware.camera_device")
    if device is None:
        return 0
    if isinstance(device, int) and not 0 <= device <= 63:
        doc.problem(f'hardware.camera_device: {device} must be a camera number from 0 to 63, or a path "/dev/video0"')
        return 0
    return device


def _printer(doc: Document) -> tuple[str, str, str]:
    """hardware.printer, printer_device and printer_profile, checked together."""
    printer = doc.choice("hardware.printer", PRINTERS, "sim")
    device = str(doc.get("hardware.printer_device") or "")
    if printer == "escpos" and not device:
        doc.problem(
            'hardware.printer_device: missing for the escpos printer; e.g. printer_device = "/dev/usb/lp0" '
            'or "tcp://10.0.0.5:9100"'
        )
    profile = str(doc.get("hardware.printer_profile") or "TM-T20II")
    if printer == "escpos" and (why := escpos_profile_problem(profile)):
        doc.problem(f"hardware.printer_profile: {why}")
    return printer, device, profile


def escpos_profile_problem(name: str) -> str:
    """Why a python-escpos profile cannot drive the kiosk's printer ("" if it can)."""
    from escpos.capabilities import CAPABILITIES

    profile = CAPABILITIES["profiles"].get(name)
    if profile is None:
        return f"{name!r} is not a python-escpos profile; 'python-escpos showcapabilities' lists them (e.g. TM-T20II)"
    features = profile.get("features", {})
    if not (features.get("paperFullCut") or features.get("paperPartCut")):
        return f"{name!r} has no cutter, and a kiosk slip must be cut off; pick the profile of a printer with one"
    if profile.get("media", {}).get("width", {}).get("pixels") in (None, "Unknown"):
        return f"{name!r} does not say its paper width; pick a profile that does (e.g. TM-T20II)"
    return ""


def read_pinmap(doc: Document) -> PinMap | None:
    """The [gpio] table (see docs/wiring.md), checked against the standard 40-pin header."""
    table = doc.get("gpio")
    if not isinstance(table, dict):
        doc.problem("gpio: missing; hardware.vault or hardware.indicators is gpio, so add a [gpio] pin map")
        return None
    before = doc.notes
    door, led, buzzer = (_pin(doc, table, key) for key in ("door", "led", "buzzer"))
    slots = _slots(doc, table.get("slots"))
    seat_active_low = _flag(doc, table, "seat_active_low", True)
    gate_active_high = _flag(doc, table, "gate_active_high", True)
    settle = table.get("settle_s", 0.3)
    if isinstance(settle, bool) or not isinstance(settle, int | float) or not 0.02 <= settle <= 5:
        doc.problem(f"gpio.settle_s: {settle!r} must be a number of seconds from 0.02 to 5")
        settle = 0.3
    reader_led, camera_led, printer_led = (_guide_pin(doc, table.get(key), f"gpio.{key}") for key in GUIDE_KEYS)
    slot_leds = _slot_leds(doc, table.get("slot_leds", []), len(slots))
    if doc.notes > before:
        return None
    pins = PinMap(
        tuple(slots),
        door,
        led,
        buzzer,
        seat_active_low,
        gate_active_high,
        float(settle),
        reader_led,
        camera_led,
        printer_led,
        slot_leds,
    )
    doc.problems.extend(check_pins(pins, default_board()))
    return pins


def _pin(doc: Document, table: dict[str, Any], key: str) -> str:
    """One named pin: "GPIO26", or the bare number 26."""
    value = table.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"GPIO{value}"
    if not isinstance(value, str) or not value.strip():
        doc.problem(f'gpio.{key}: missing; name the pin, e.g. {key} = "GPIO26"')
        return ""
    return value.strip()


def _slots(doc: Document, raw: Any) -> list[SlotPins]:
    """gpio.slots: one gate and one seat pin per vault slot."""
    slots: list[SlotPins] = []
    if not isinstance(raw, list) or not raw:
        doc.problem('gpio.slots: missing; one entry per slot, e.g. slots = [{ gate = "GPIO5", seat = "GPIO6" }]')
        return slots
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str | int) for k in ("gate", "seat")):
            doc.problem(f'gpio.slots[{i}]: needs gate and seat pins, e.g. {{ gate = "GPIO5", seat = "GPIO6" }}')
            continue
        gate, seat = (f"GPIO{v}" if isinstance(v, int) else v for v in (entry["gate"], entry["seat"]))
        slots.append(SlotPins(gate, seat))
    return slots


GUIDE_KEYS = ("reader_led", "camera_led", "printer_led")  # optional guide lights at the parts


def _guide_pin(doc: Document, value: Any, key: str) -> str:
    """An optional guide light's pin: "GPIO7", the bare number 7, or ""/absent when none is wired."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"GPIO{value}"
    if isinstance(value, str):
        return value.strip()
    doc.problem(f'{key}: {value!r} is not a pin; name it, e.g. "GPIO7", or leave it "" when there is no light')
    return ""


def _slot_leds(doc: Document, raw: Any, slots: int) -> tuple[str, ...]:
    """gpio.slot_leds: the guide light of slot 1, 2, ... in order ("" for a slot without one)."""
    if not isinstance(raw, list):
        doc.problem(f'gpio.slot_leds: {raw!r} must be a list of pins, slot 1 first, e.g. ["GPIO7", "", "GPIO8"]')
        return ()
    if slots and len(raw) > slots:
        doc.problem(f"gpio.slot_leds: {len(raw)} lights for {slots} slots; give at most one per gpio.slots entry")
    return tuple(_guide_pin(doc, value, f"gpio.slot_leds[{i}]") for i, value in enumerate(raw))


def _flag(doc: Document, table: dict[str, Any], key: str, default: bool) -> bool:
    """A true/false setting of the pin map."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        doc.problem(f"gpio.{key}: {value!r} must be true or false")
        return default
    return value

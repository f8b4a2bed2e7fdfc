"""The kiosk's configuration: one TOML file, validated at start. Every error names the key and the fix."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.flow.machine import FlowConfig
from kiosk.flow.policy import NIK_SOURCES, Policy
from kiosk.hardware.atr import DEFAULT_ATR_LIST
from kiosk.hardware.gpio import PinMap, SlotPins, check_pins, default_board
from kiosk.identity.operator import Operator, valid_pin_hash


class ConfigError(ValueError):
    """The configuration is wrong; `problems` lists each key with what to do about it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("configuration invalid:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


CAMERAS = ("sim", "opencv")
READERS = ("sim", "pcsc")
VAULTS = ("sim", "gpio")
PRINTERS = ("sim", "escpos")
INDICATORS = ("sim", "gpio")
PRINTER_QR = ("image", "native")


@dataclass(frozen=True)
class HardwareConfig:
    """Which adapter drives each part."""

    camera: str = "sim"
    camera_device: int | str = 0
    reader: str = "sim"
    reader_name: str = ""  # pcsc: the first reader whose name contains this ("" = the first reader)
    atr_list: Path = DEFAULT_ATR_LIST
    vault: str = "sim"
    vault_slots: int = 24
    printer: str = "sim"
    printer_device: str = ""  # escpos: "/dev/usb/lp0", "tcp://10.0.0.5:9100" or "usb://0416:5011"
    printer_qr: str = "image"  # image (any printer) or native (the printer's own QR command)
    printer_profile: str = "TM-T20II"  # python-escpos capabilities profile (paper width, cutter, code pages)
    release_timeout_s: float = 45.0
    load_timeout_s: float = 60.0  # operator loading/unloading: how long an open slot waits for hands
    unload_after_days: float = 30.0  # uncollected cards are due to come out after this long
    indicators: str = "sim"
    gpio: PinMap | None = None  # [gpio] pin map, needed when vault or indicators is "gpio"


@dataclass(frozen=True)
class KioskConfig:
    """Everything a kiosk needs to start."""

    kiosk_id: str
    office: str
    data_dir: Path
    gateway_url: str
    api_key: str
    ticket_keys: dict[int, str]
    language: str = "id"
    gateway_timeout_s: float = 5.0
    fullscreen: bool = True
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    operators: tuple[Operator, ...] = ()

    def operator_for(self, uid: str) -> Operator | None:
        return next((o for o in self.operators if o.card_uid == uid.upper()), None)

    ops_listen: tuple[str, int] | None = ("127.0.0.1", 9101)  # /metrics and /healthz (management interface)
    gateway_ca_file: Path | None = None  # the pinned CA of the gateway's certificate
    gateway_client_cert: tuple[Path, Path] | None = None  # this kiosk's certificate and key (mutual TLS)
    face_threshold: float = 0.55  # face distance below which it is the same person (kiosk bench faces)
    seal_key_file: Path | None = None  # AES key sealing face templates at rest (default: data_dir/seal.key)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    @property
    def seal_key_path(self) -> Path:
        return self.seal_key_file or self.data_dir / "seal.key"


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def parse_config(data: dict[str, Any], base_dir: Path | None = None) -> KioskConfig:
    """Validate a parsed TOML document; raises ConfigError naming every bad key."""
    problems: list[str] = []

    def need_str(key: str, example: str) -> str:
        value = _get(data, key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f'{key}: missing or empty; set it, e.g. {key.split(".")[-1]} = "{example}"')
            return ""
        return value.strip()

    def choice(key: str, options: tuple[str, ...], default: str) -> str:
        value = _get(data, key)
        if value is None:
            return default
        if value not in options:
            problems.append(f"{key}: '{value}' is not one of {', '.join(options)}")
            return default
        return str(value)

    def number(key: str, default: float, low: float, high: float) -> float:
        value = _get(data, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            problems.append(f"{key}: {value!r} must be a number from {low} to {high}")
            return default
        return float(value)

    kiosk_id = need_str("kiosk.id", "KIOSK-01")
    office = need_str("kiosk.office", "DKP-KUPANG")
    data_dir = Path(need_str("kiosk.data_dir", "/var/lib/loket") or ".")
    if base_dir and not data_dir.is_absolute():
        data_dir = base_dir / data_dir
    language = choice("kiosk.language", ("id", "en"), "id")
    url = need_str("gateway.url", "https://gateway.dukcapil.example/kiosk")
    if url and not url.startswith(("http://", "https://")):
        problems.append(f"gateway.url: '{url}' must start with https:// (or http:// for a loopback simulator)")
    elif url.startswith("http://") and not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        problems.append(f"gateway.url: '{url}' is plain HTTP to another machine; use https:// with gateway.ca_file")
    tls_paths: dict[str, Path] = {}
    for key in ("ca_file", "client_cert", "client_key"):
        value = _get(data, f"gateway.{key}")
        if value is None:
            continue
        path = Path(str(value))
        if base_dir and not path.is_absolute():
            path = base_dir / path
        if not path.is_file():
            problems.append(f"gateway.{key}: {path} is not a file; 'kiosk provision' writes it")
        tls_paths[key] = path
    if url.startswith("https://") and "ca_file" not in tls_paths:
        problems.append("gateway.ca_file: missing; the gateway's CA must be pinned (written by 'kiosk provision')")
    if ("client_cert" in tls_paths) != ("client_key" in tls_paths):
        problems.append("gateway.client_cert, gateway.client_key: give both (this kiosk's certificate and its key)")
    api_key = _get(data, "gateway.api_key")
    key_file = _get(data, "gateway.api_key_file")
    if key_file:
        path = Path(key_file)
        if base_dir and not path.is_absolute():
            path = base_dir / path
        try:
            api_key = path.read_text().strip()
        except OSError as exc:
            problems.append(f"gateway.api_key_file: cannot read {path} ({exc.strerror}); run 'kiosk provision'")
            api_key = "unreadable"
    if not api_key:
        problems.append("gateway.api_key_file: missing; point it at the file written by 'kiosk provision'")
    keys: dict[int, str] = {}
    raw_keys = _get(data, "tickets.keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        problems.append('tickets.keys: missing; add the queue system\'s public keys, e.g. keys = { "1" = "<64 hex>" }')
    else:
        for kid, hexkey in raw_keys.items():
            ok_id = str(kid).isdigit() and 0 <= int(kid) < 65536
            ok_key = (
                isinstance(hexkey, str) and len(hexkey) == 64 and all(c in "0123456789abcdefABCDEF" for c in hexkey)
            )
            if not (ok_id and ok_key):
                problems.append(f"tickets.keys.{kid}: key IDs are numbers 0-65535 and keys 64 hex digits (Ed25519)")
            else:
                keys[int(kid)] = hexkey
    vault = choice("hardware.vault", VAULTS, "sim")
    indicators = choice("hardware.indicators", INDICATORS, "sim")
    pins = _pinmap(data, problems) if "gpio" in (vault, indicators) else None
    printer = choice("hardware.printer", PRINTERS, "sim")
    printer_device = str(_get(data, "hardware.printer_device") or "")
    if printer == "escpos" and not printer_device:
        problems.append(
            'hardware.printer_device: missing for the escpos printer; e.g. printer_device = "/dev/usb/lp0" '
            'or "tcp://10.0.0.5:9100"'
        )
    printer_profile = str(_get(data, "hardware.printer_profile") or "TM-T20II")
    if printer == "escpos" and (why := _escpos_profile_problem(printer_profile)):
        problems.append(f"hardware.printer_profile: {why}")
    device = _get(data, "hardware.camera_device")
    hw = HardwareConfig(
        camera=choice("hardware.camera", CAMERAS, "sim"),
        camera_device=device if isinstance(device, int | str) else 0,
        reader=choice("hardware.reader", READERS, "sim"),
        reader_name=str(_get(data, "hardware.reader_name") or ""),
        atr_list=Path(_get(data, "hardware.atr_list") or DEFAULT_ATR_LIST),
        vault=vault,
        vault_slots=len(pins.slots) if pins and vault == "gpio" else int(number("hardware.vault_slots", 24, 1, 200)),
        printer=printer,
        printer_device=printer_device,
        printer_qr=choice("hardware.printer_qr", PRINTER_QR, "image"),
        printer_profile=printer_profile,
        release_timeout_s=number("hardware.release_timeout_s", 45, 5, 300),
        load_timeout_s=number("hardware.load_timeout_s", 60, 10, 600),
        unload_after_days=number("hardware.unload_after_days", 30, 1, 365),
        indicators=indicators,
        gpio=pins,
    )
    policy = _policy(data, problems)
    flow = FlowConfig(
        idle_timeout_s=number("flow.idle_timeout_s", 60, 15, 600),
        warn_before_s=number("flow.warn_before_s", 15, 5, 120),
        face_timeout_s=number("flow.face_timeout_s", 90, 15, 600),
        busy_timeout_s=number("flow.busy_timeout_s", 30, 5, 300),
        release_timeout_s=hw.release_timeout_s + 15,
        done_timeout_s=number("flow.done_timeout_s", 30, 5, 600),
        max_face_attempts=int(number("flow.max_face_attempts", 3, 1, 10)),
        policy=policy,
    )
    if flow.warn_before_s >= flow.idle_timeout_s:
        problems.append("flow.warn_before_s: must be shorter than flow.idle_timeout_s")
    fullscreen = _get(data, "display.fullscreen")
    face_threshold = number("face.threshold", 0.55, 0.3, 0.7)
    ops_listen: tuple[str, int] | None = ("127.0.0.1", 9101)
    listen = _get(data, "ops.listen")
    if listen is not None:
        host, _, port = str(listen).rpartition(":")
        if listen == "":
            ops_listen = None
        elif not host or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(
                f'ops.listen: {listen!r} must be host:port, e.g. "10.0.0.5:9101" (the management interface)'
            )
        else:
            ops_listen = (host.strip("[]"), int(port))
    gateway_timeout = number("gateway.timeout_s", 5, 0.5, 60)
    seal_key = _get(data, "kiosk.seal_key_file")
    seal_key_file = Path(seal_key) if isinstance(seal_key, str) and seal_key else None
    operators = _operators(data.get("operators", []), problems)
    if problems:
        raise ConfigError(problems)
    return KioskConfig(
        kiosk_id=kiosk_id,
        office=office,
        data_dir=data_dir,
        gateway_url=url,
        api_key=str(api_key),
        ticket_keys=keys,
        language=language,
        gateway_timeout_s=gateway_timeout,
        fullscreen=True if fullscreen is None else bool(fullscreen),
        hardware=hw,
        flow=flow,
        operators=operators,
        seal_key_file=seal_key_file,
        face_threshold=face_threshold,
        ops_listen=ops_listen,
        gateway_ca_file=tls_paths.get("ca_file"),
        gateway_client_cert=(
            (tls_paths["client_cert"], tls_paths["client_key"])
            if "client_cert" in tls_paths and "client_key" in tls_paths
            else None
        ),
    )


def _policy(data: dict[str, Any], problems: list[str]) -> Policy:
    """[policy]: which ways of establishing the NIK a pickup accepts, and whether liveness must pass."""
    sources = _get(data, "policy.nik_sources")
    if sources is None:
        sources = list(NIK_SOURCES)
    if not isinstance(sources, list) or not sources or any(s not in NIK_SOURCES for s in sources):
        problems.append(f"policy.nik_sources: {sources!r} must be a non-empty list of {', '.join(NIK_SOURCES)}")
        sources = list(NIK_SOURCES)
    liveness = _get(data, "policy.require_liveness")
    if liveness is not None and not isinstance(liveness, bool):
        problems.append("policy.require_liveness: must be true or false")
        liveness = True
    return Policy(tuple(sources), True if liveness is None else liveness)


def _escpos_profile_problem(name: str) -> str:
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


def _pinmap(data: dict[str, Any], problems: list[str]) -> PinMap | None:
    """The [gpio] table (see docs/wiring.md), checked against the standard 40-pin header."""
    table = _get(data, "gpio")
    if not isinstance(table, dict):
        problems.append("gpio: missing; hardware.vault or hardware.indicators is gpio, so add a [gpio] pin map")
        return None
    before = len(problems)

    def pin(key: str) -> str:
        value = table.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"GPIO{value}"
        if not isinstance(value, str) or not value.strip():
            problems.append(f'gpio.{key}: missing; name the pin, e.g. {key} = "GPIO26"')
            return ""
        return value.strip()

    door, led, buzzer = pin("door"), pin("led"), pin("buzzer")
    raw_slots = table.get("slots")
    slots: list[SlotPins] = []
    if not isinstance(raw_slots, list) or not raw_slots:
        problems.append('gpio.slots: missing; one entry per slot, e.g. slots = [{ gate = "GPIO5", seat = "GPIO6" }]')
    else:
        for i, entry in enumerate(raw_slots):
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str | int) for k in ("gate", "seat")):
                problems.append(f'gpio.slots[{i}]: needs gate and seat pins, e.g. {{ gate = "GPIO5", seat = "GPIO6" }}')
                continue
            gate, seat = (f"GPIO{v}" if isinstance(v, int) else v for v in (entry["gate"], entry["seat"]))
            slots.append(SlotPins(gate, seat))
    flags = {}
    for key, default in (("seat_active_low", True), ("gate_active_high", True)):
        value = table.get(key, default)
        if not isinstance(value, bool):
            problems.append(f"gpio.{key}: {value!r} must be true or false")
            value = default
        flags[key] = value
    settle = table.get("settle_s", 0.3)
    if isinstance(settle, bool) or not isinstance(settle, int | float) or not 0.02 <= settle <= 5:
        problems.append(f"gpio.settle_s: {settle!r} must be a number of seconds from 0.02 to 5")
        settle = 0.3
    if len(problems) > before:
        return None
    pins = PinMap(tuple(slots), door, led, buzzer, flags["seat_active_low"], flags["gate_active_high"], float(settle))
    problems.extend(check_pins(pins, default_board()))
    return pins


def _operators(raw: Any, problems: list[str]) -> tuple[Operator, ...]:
    """[[operators]] entries: name, card_uid (hex), pin_hash (from `kiosk operator-pin`)."""
    if not isinstance(raw, list):
        problems.append("operators: must be a list of [[operators]] tables")
        return ()
    found: list[Operator] = []
    for i, entry in enumerate(raw):
        key = f"operators[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{key}: must be a table with name, card_uid and pin_hash")
            continue
        name, uid, pin_hash = entry.get("name"), entry.get("card_uid"), entry.get("pin_hash")
        uid_ok = isinstance(uid, str) and len(uid) in (8, 14, 20) and all(c in "0123456789abcdefABCDEF" for c in uid)
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{key}.name: missing; the staff member's name, as it should appear in the journal")
        if not uid_ok:
            problems.append(
                f"{key}.card_uid: {uid!r} is not a chip UID (8, 14 or 20 hex digits, e.g. from 'kiosk doctor')"
            )
        if not isinstance(pin_hash, str) or not valid_pin_hash(pin_hash):
            problems.append(
                f"{key}.pin_hash: not a PIN hash; make one with 'kiosk operator-pin' (never the PIN itself)"
            )
        if (
            isinstance(name, str)
            and isinstance(uid, str)
            and uid_ok
            and isinstance(pin_hash, str)
            and valid_pin_hash(pin_hash)
        ):
            if any(o.card_uid == uid.upper() for o in found):
                problems.append(f"{key}.card_uid: {uid} is enrolled twice")
            found.append(Operator(name.strip(), uid.upper(), pin_hash))
    return tuple(found)


def read_toml(path: Path, if_missing: str) -> dict[str, Any]:
    """A TOML file as a dict; a missing or broken file is a ConfigError naming the file (and `if_missing`)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: {if_missing}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a kiosk.toml."""
    path = Path(path)
    data = read_toml(path, "file not found; copy config/kiosk.example.toml there and edit it")
    return parse_config(data, path.parent)

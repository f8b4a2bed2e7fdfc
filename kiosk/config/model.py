"""What a valid kiosk.toml becomes: the configuration objects, the adapter choices and ConfigError."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config.screen import DisplayConfig, SpeechConfig
from kiosk.flow.machine import FlowConfig
from kiosk.hardware.atr import DEFAULT_ATR_LIST
from kiosk.hardware.gpio import PinMap
from kiosk.identity.operator import Operator
from kiosk.identity.ticket import TicketWindow


class ConfigError(ValueError):
    """The configuration is wrong; `problems` lists each key with what to do about it, `source` is the file
    (None when it is not known). Its text is one line per problem, each starting with the file."""

    def __init__(self, problems: list[str], source: str | Path | None = None) -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Each problem on a line of its own, after the file it is in."""
        return [f"{self.source}: {p}" if self.source is not None else p for p in self.problems]


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
    vault_columns: int = 6  # slots per row seen from the front, numbered left to right, top to bottom
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
    ticket_window: TicketWindow = field(default_factory=TicketWindow)  # how far outside its window a ticket is taken
    language: str = "id"
    gateway_timeout_s: float = 5.0
    display: DisplayConfig = field(default_factory=DisplayConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
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
    journal_key_file: Path | None = None  # Ed25519 key signing journal heads (default: data_dir/journal.key)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    @property
    def speech_cache(self) -> Path:
        return self.speech.cache_dir or self.data_dir / "speech"

    @property
    def seal_key_path(self) -> Path:
        return self.seal_key_file or self.data_dir / "seal.key"

    @property
    def journal_key_path(self) -> Path:
        return self.journal_key_file or self.data_dir / "journal.key"

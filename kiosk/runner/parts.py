"""The kiosk's parts behind their ports, and how they are built from its configuration before any window
opens: a part that does not fit this machine (a GPIO pin map on a board without it, say) is a
ConfigError naming the key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kiosk.config import ConfigError, KioskConfig
from kiosk.hardware.backlight import Backlight, SimBacklight, build_backlight
from kiosk.hardware.camera import Camera, OpenCvCamera, SimCamera
from kiosk.hardware.indicators import Indicators, SimIndicators
from kiosk.hardware.printer import Printer, SimPrinter
from kiosk.hardware.reader import CardReader, SimCardReader
from kiosk.hardware.speaker import MutedSpeaker, Speaker, build_speaker
from kiosk.hardware.vault import SimVault, Vault
from kiosk.health import Health
from kiosk.identity.face import FaceVerifier, RefuseAllFaces
from kiosk.identity.face_check import LiveFaceVerifier
from kiosk.identity.printed_nik import NoNikReader, PrintedNikReader
from kiosk.identity.templates import Enrol

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """The kiosk's hardware, behind its ports."""

    camera: Camera
    reader: CardReader
    vault: Vault
    printer: Printer
    indicators: Indicators
    face: FaceVerifier
    nik_reader: PrintedNikReader = field(default_factory=NoNikReader)
    enrol: Enrol | None = None  # computes a face template from a recording photo (None: simulated faces)
    speaker: Speaker = field(default_factory=MutedSpeaker)  # says each screen's instruction
    backlight: Backlight = field(default_factory=SimBacklight)  # dimmed at night while idle


def build_parts(cfg: KioskConfig, health: Health) -> Parts:
    """The configured adapters behind their ports. Raises ConfigError if one cannot start here."""
    camera: Camera = OpenCvCamera(cfg.hardware.camera_device) if cfg.hardware.camera == "opencv" else SimCamera()
    reader: CardReader = SimCardReader(health)
    if cfg.hardware.reader == "pcsc":
        from kiosk.hardware.atr import AtrDatabase
        from kiosk.hardware.pcsc import PcscCardReader

        try:
            atr_db: AtrDatabase | None = AtrDatabase.load(cfg.hardware.atr_list)
        except OSError as exc:
            log.warning("ATR list %s unreadable (%s): cards are read, not named", cfg.hardware.atr_list, exc)
            atr_db = None
        reader = PcscCardReader(cfg.hardware.reader_name, atr_db=atr_db, health=health)
    vault: Vault = SimVault(cfg.hardware.vault_slots)
    indicators: Indicators = SimIndicators()
    if cfg.hardware.gpio is not None:
        from gpiozero.exc import GPIOZeroError

        from kiosk.hardware.gpio import GpioIndicators, GpioVault, PinMapError

        try:
            if cfg.hardware.vault == "gpio":
                vault = GpioVault(cfg.hardware.gpio)
            if cfg.hardware.indicators == "gpio":
                indicators = GpioIndicators(cfg.hardware.gpio)
        except PinMapError as exc:
            vault.close()
            raise ConfigError(exc.problems) from None
        except GPIOZeroError as exc:
            vault.close()
            raise ConfigError(
                [f"hardware.vault: this machine's GPIO cannot be driven ({exc}); gpio needs a Raspberry Pi with lgpio"]
            ) from None
    printer: Printer = SimPrinter()
    if cfg.hardware.printer == "escpos":
        from kiosk.hardware.escpos_printer import EscposPrinter

        printer = EscposPrinter(
            cfg.hardware.printer_device, qr_mode=cfg.hardware.printer_qr, profile=cfg.hardware.printer_profile
        )
    face: FaceVerifier = RefuseAllFaces()
    enrol = None
    nik_reader: PrintedNikReader = NoNikReader()
    if cfg.hardware.camera == "opencv":
        from kiosk.identity.dlibface import DlibFaces, FaceModelsMissing, FaceSettings

        try:
            live = LiveFaceVerifier(DlibFaces(FaceSettings(threshold=cfg.face_threshold)))
            face, enrol = live, live.enrol
        except FaceModelsMissing as exc:
            raise ConfigError([f"hardware.camera: the face check cannot start ({exc})"]) from None
        from kiosk.identity.ocr_nik import TesseractNikReader, tesseract_available

        if tesseract_available():
            nik_reader = TesseractNikReader()
        else:
            log.warning("tesseract not installed: residents without a chip type their NIK")
    speaker, backlight = build_speaker(cfg.speech, cfg.speech_cache), build_backlight(cfg.display.backlight)
    return Parts(camera, reader, vault, printer, indicators, face, nik_reader, enrol, speaker, backlight)

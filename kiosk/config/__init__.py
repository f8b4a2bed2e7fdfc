"""The kiosk's configuration: one TOML file, validated at start. Every error names the key and the fix.

model.py holds what a valid file becomes, document.py the typed reads, tables.py and hardware.py one reader
per table, load.py the file and parse_config that calls the readers in turn.
"""

from kiosk.config.load import load_config, parse_config, read_toml
from kiosk.config.model import (
    CAMERAS,
    INDICATORS,
    PRINTER_QR,
    PRINTERS,
    READERS,
    VAULTS,
    ConfigError,
    HardwareConfig,
    KioskConfig,
)

__all__ = [
    "CAMERAS",
    "INDICATORS",
    "PRINTERS",
    "PRINTER_QR",
    "READERS",
    "VAULTS",
    "ConfigError",
    "HardwareConfig",
    "KioskConfig",
    "load_config",
    "parse_config",
    "read_toml",
]

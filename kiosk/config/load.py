"""Reading kiosk.toml: the file, then each of its tables in turn, every problem reported at once."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from kiosk.config.document import Document
from kiosk.config.hardware import read_hardware
from kiosk.config.model import ConfigError, KioskConfig
from kiosk.config.screen import read_display, read_speech
from kiosk.config.tables import (
    read_face_threshold,
    read_flow,
    read_gateway,
    read_gateway_timeout,
    read_kiosk,
    read_operators,
    read_ops_listen,
    read_policy,
    read_ticket_keys,
)


def parse_config(data: dict[str, Any], base_dir: Path | None = None) -> KioskConfig:
    """Validate a parsed TOML document; raises ConfigError naming every bad key."""
    doc = Document(data, base_dir)
    kiosk = read_kiosk(doc)
    gateway = read_gateway(doc)
    ticket_keys = read_ticket_keys(doc)
    hardware = read_hardware(doc)
    flow = read_flow(doc, read_policy(doc), hardware.release_timeout_s)
    display = read_display(doc)
    speech = read_speech(doc)
    face_threshold = read_face_threshold(doc)
    ops_listen = read_ops_listen(doc)
    gateway_timeout = read_gateway_timeout(doc)  # read after [ops], as it always was: the problems keep their order
    operators = read_operators(doc)
    if doc.problems:
        raise ConfigError(doc.problems)
    return KioskConfig(
        kiosk_id=kiosk.kiosk_id,
        office=kiosk.office,
        data_dir=kiosk.data_dir,
        gateway_url=gateway.url,
        api_key=gateway.api_key,
        ticket_keys=ticket_keys,
        language=kiosk.language,
        gateway_timeout_s=gateway_timeout,
        display=display,
        speech=speech,
        hardware=hardware,
        flow=flow,
        operators=operators,
        seal_key_file=kiosk.seal_key_file,
        face_threshold=face_threshold,
        ops_listen=ops_listen,
        gateway_ca_file=gateway.ca_file,
        gateway_client_cert=gateway.client_cert,
    )


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

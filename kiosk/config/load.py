"""Reading kiosk.toml: the file, then each of its tables in turn, every problem reported at once."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from kiosk.config.document import Document, read_bounded
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
    read_ticket_window,
)


def parse_config(data: dict[str, Any], base_dir: Path | None = None) -> KioskConfig:
    """Validate a parsed TOML document; raises ConfigError naming every bad key."""
    doc = Document(data, base_dir)
    kiosk = read_kiosk(doc)
    gateway = read_gateway(doc)
    ticket_keys = read_ticket_keys(doc)
    ticket_window = read_ticket_window(doc)
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
        ticket_window=ticket_window,
        language=kiosk.language,
        gateway_timeout_s=gateway_timeout,
        display=display,
        speech=speech,
        hardware=hardware,
        flow=flow,
        operators=operators,
        seal_key_file=kiosk.seal_key_file,
        journal_key_file=kiosk.journal_key_file,
        face_threshold=face_threshold,
        ops_listen=ops_listen,
        gateway_ca_file=gateway.ca_file,
        gateway_client_cert=gateway.client_cert,
    )


MAX_FILE_BYTES = 1 << 20  # a kiosk.toml is a few kilobytes; this is more than any could need


def load_ops_listen(path: Path) -> tuple[str, int] | None:
    """Only [ops] listen of the kiosk.toml at `path`, for a service that asks the app's /healthz and may not
    read the app's secrets, which loading the whole configuration does (the field-update unit: root with no
    capability, and the secrets are the kiosk user's); ConfigError if the file or the key is wrong."""
    doc = Document(read_toml(path, "no kiosk.toml: provision the kiosk first"), path.parent)
    listen = read_ops_listen(doc)
    if doc.problems and any(p.startswith("ops.listen") for p in doc.problems):
        raise ConfigError([p for p in doc.problems if p.startswith("ops.listen")], path)
    return listen


def read_toml(path: Path, if_missing: str) -> dict[str, Any]:
    """A TOML file as a dict. Every way of failing (missing, unreadable, too big, not UTF-8, not TOML) is a
    ConfigError naming the file and the fix (`if_missing` when there is no file)."""
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise ConfigError([if_missing], path) from None
    except OSError as exc:
        raise ConfigError([f"cannot be read ({exc.strerror or exc}); check its path and permissions"], path) from None
    except ValueError as exc:  # a path with a NUL byte in it
        raise ConfigError([f"is not a usable path ({exc})"], path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([f"is larger than {MAX_FILE_BYTES} bytes; is it the right file?"], path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"line {line}: not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8"], path
        ) from None
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(["not valid TOML: arrays or tables nested too deeply"], path) from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of more digits than Python converts
        raise ConfigError([f"not valid TOML ({exc}); fix that line"], path) from None


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a kiosk.toml; a ConfigError names the file, each bad key and its fix."""
    path = Path(path)
    data = read_toml(path, "file not found; copy config/kiosk.example.toml there and edit it")
    try:
        return parse_config(data, path.parent)
    except ConfigError as exc:
        raise ConfigError(exc.problems, path) from None

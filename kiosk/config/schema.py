"""Every section and key kiosk.toml may have and the type of its value, declared once. A parsed file is
checked against it before any table is read: an unknown section or key is a problem that names the nearest
known one, a value of the wrong type a problem that says what to write; either is taken out of the file,
so that the readers see only values of their declared type."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 4096  # characters in any one string
MAX_PATH = 4095  # bytes in a path (Linux's PATH_MAX, less its NUL) ...
MAX_NAME = 255  # ... and in each name along it (NAME_MAX)
INT64 = 2**63  # TOML's integers are 64-bit

# What a value of each kind is, and how to write one: the words of every type problem.
KINDS = {
    "text": ("text", "write it in quotes"),
    "path": ("a path", "write it in quotes"),
    "flag": ("true or false", "write it without quotes"),
    "whole": ("a whole number", "write it without quotes or a decimal point"),
    "number": ("a number", "write it without quotes"),
    "device": ("a camera", "write its number, or its device path in quotes"),
    "pin": ("a pin", 'write its name in quotes ("GPIO17") or its GPIO number'),
    "texts": ("a list of texts in quotes", ""),
    "pins": ("a list of pins", ""),
    "map": ("a table of texts in quotes", ""),
    "table": ("a table", ""),
    "tables": ("a list of tables", ""),
}
ITEMS = {"texts": "text", "pins": "pin", "map": "text"}  # the kind of each entry of a list or map


@dataclass(frozen=True)
class Key:
    """One key: the kind of its value, a good value as TOML (the fix shows it) and, for tables, their keys."""

    kind: str
    example: str = ""
    fields: Mapping[str, Key] = field(default_factory=dict)


def _keys(kind: str, **examples: str) -> dict[str, Key]:
    return {name: Key(kind, example) for name, example in examples.items()}


def _table(*parts: dict[str, Key]) -> Key:
    return Key("table", fields={name: key for part in parts for name, key in part.items()})


SCHEMA: dict[str, Key] = {
    "kiosk": _table(
        _keys("text", id='"KIOSK-01"', office='"DKP-KUPANG"', language='"id"'),
        _keys(
            "path",
            data_dir='"/var/lib/loket"',
            seal_key_file='"/etc/loket/seal.key"',
            journal_key_file='"/etc/loket/journal.key"',
        ),
    ),
    "gateway": _table(
        _keys("text", url='"https://gateway.dukcapil.example/kiosk"', api_key='"<the key from kiosk provision>"'),
        _keys(
            "path",
            api_key_file='"/etc/loket/api-key"',
            ca_file='"/etc/loket/gateway-ca.crt"',
            client_cert='"/etc/loket/kiosk.crt"',
            client_key='"/etc/loket/kiosk.key"',
        ),
        _keys("number", timeout_s="5"),
    ),
    "tickets": _table(_keys("map", keys='{ "1" = "<64 hex digits>" }'), _keys("number", early_s="900", late_s="120")),
    "hardware": _table(
        _keys("text", camera='"opencv"', reader='"pcsc"', reader_name='""', vault='"gpio"', indicators='"gpio"'),
        _keys("text", printer='"escpos"', printer_device='"/dev/usb/lp0"', printer_profile='"TM-T20II"'),
        _keys("text", printer_qr='"image"'),
        _keys("device", camera_device="0"),
        _keys("path", atr_list='"/usr/share/pcsc/smartcard_list.txt"'),
        _keys("whole", vault_slots="24", vault_columns="6"),
        _keys("number", release_timeout_s="45", load_timeout_s="60", unload_after_days="30"),
    ),
    "gpio": _table(
        _keys("pin", door='"GPIO26"', led='"GPIO12"', buzzer='"GPIO16"'),
        _keys("pin", reader_led='"GPIO4"', camera_led='"GPIO18"', printer_led='""'),
        _keys("pins", slot_leds='["GPIO7", "", "GPIO8"]'),
        _keys("flag", seat_active_low="true", gate_active_high="true"),
        _keys("number", settle_s="0.3"),
        {"slots": Key("tables", '[{ gate = "GPIO5", seat = "GPIO6" }]', _keys("pin", gate='"GPIO5"', seat='"GPIO6"'))},
    ),
    "flow": _table(
        _keys("number", idle_timeout_s="60", warn_before_s="15", face_timeout_s="90"),
        _keys("number", busy_timeout_s="30", done_timeout_s="30"),
        _keys("whole", max_face_attempts="3"),
    ),
    "face": _table(_keys("number", threshold="0.55")),
    "policy": _table(_keys("texts", nik_sources='["chip", "ocr", "typed"]'), _keys("flag", require_liveness="true")),
    "ops": _table(_keys("text", listen='"127.0.0.1:9101"')),
    "display": _table(
        _keys("text", panel='"10.1-1280x800"', night_start='"22:00"', night_end='"06:00"', backlight='"auto"'),
        _keys("whole", width="1280", height="800", rotation="0"),
        _keys("number", width_mm="216.96", height_mm="135.6", night_brightness="0.5", attract_s="8"),
        _keys("flag", fullscreen="true"),
    ),
    "speech": _table(
        _keys("flag", enabled="true"),
        _keys("whole", volume="80", rate_wpm="150"),
        _keys("text", voice_id='"id"', voice_en='"en"', player='"aplay"'),
        _keys("path", cache_dir='"/var/lib/loket/speech"'),
    ),
    "operators": Key(
        "tables",
        "[[operators]] with name, card_uid and pin_hash below it",
        _keys("text", name='"Petugas Loket 1"', card_uid='"04A1B2C3D4E5F6"', pin_hash='"<from kiosk operator-pin>"'),
    ),
}

# The sections a key name belongs to: "listen" under [hardware] belongs in [ops].
HOMES: dict[str, list[str]] = {}
for _section, _key in SCHEMA.items():
    for _name in _key.fields:
        HOMES.setdefault(_name, []).append(_section)


def declared(dotted: str) -> Key:
    """The declaration of a dotted key such as "hardware.vault"; KeyError if no such key is declared."""
    section, *names = dotted.split(".")
    key = SCHEMA[section]
    for name in names:
        key = key.fields[name]
    return key


@dataclass
class Checked:
    """A parsed file checked against SCHEMA: what is left of it, the problems, and the keys taken out."""

    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)


def check_document(data: dict[str, Any]) -> Checked:
    """Check every section, key and value of a parsed kiosk.toml against SCHEMA."""
    checked = Checked({})
    checked.data = _Check(checked).table(data, SCHEMA, "")
    return checked


def repeats_removed(problem: str, removed: set[str]) -> bool:
    """True if `problem` ("key: what; fix") is about a key the check already took out (or one below or above it)."""
    for key in problem.split(": ", 1)[0].split(", "):
        for gone in removed:
            if key == gone or key.startswith((gone + ".", gone + "[")) or gone.startswith((key + ".", key + "[")):
                return True
    return False


class _Check:
    def __init__(self, checked: Checked) -> None:
        self.checked = checked

    def problem(self, text: str) -> None:
        self.checked.problems.append(text)

    def table(self, table: dict[str, Any], fields: Mapping[str, Key], at: str) -> dict[str, Any]:
        """The known keys of `table` whose values fit (the others are problems)."""
        kept: dict[str, Any] = {}
        for name, value in table.items():
            where = f"{at}.{name}" if at else name
            if name not in fields:
                near = self.unknown(name, value, at, fields)
                if near and near not in table:  # the key meant: its reader would only say it is missing
                    self.checked.removed.add(f"{at}.{near}" if at else near)
            elif (clean := self.value(fields[name], value, where)) is not _UNFIT:
                kept[name] = clean
            else:
                self.checked.removed.add(where)
        return kept

    def value(self, key: Key, value: Any, where: str) -> Any:
        """`value` as it may be read, or _UNFIT (and a problem said)."""
        if key.kind == "table":
            return self.table(value, key.fields, where) if isinstance(value, dict) else self.wrong(where, value, key)
        if key.kind == "tables":
            return self.tables(key, value, where)
        if key.kind in ITEMS:
            return self.items(key, value, where)
        if why := unfit(key.kind, value):
            return self.wrong(where, value, key, why)
        return value

    def tables(self, key: Key, value: Any, where: str) -> Any:
        """[[operators]] or gpio.slots: each entry a table of the declared keys (a bad entry is left empty)."""
        if not isinstance(value, list):
            return self.wrong(where, value, key)
        entries: list[dict[str, Any]] = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                entries.append(self.table(entry, key.fields, f"{where}[{i}]"))
            else:
                self.problem(f"{where}[{i}]: {shown(entry)} must be a table, e.g. {fix(where, key, None)}")
                self.checked.removed.add(f"{where}[{i}]")
                entries.append({})
        return entries

    def items(self, key: Key, value: Any, where: str) -> Any:
        """A list (texts, pins) or a map (tickets.keys) with each entry of its kind."""
        is_map = key.kind == "map"
        if not isinstance(value, dict if is_map else list):
            return self.wrong(where, value, key)
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        bad = 0
        for name, entry in entries:
            if why := unfit(ITEMS[key.kind], entry):
                bad += 1
                here = f"{where}.{shown_name(name)}" if is_map else f"{where}[{name}]"
                self.problem(f"{here}: {shown(entry)} {why}, e.g. {fix(where, key, None)}")
        return _UNFIT if bad else value

    def wrong(self, where: str, value: Any, key: Key, why: str = "") -> Any:
        self.problem(f"{where}: {shown(value)} {why or unfit(key.kind, value)}, e.g. {fix(where, key, value)}")
        return _UNFIT

    def unknown(self, name: str, value: Any, at: str, fields: Mapping[str, Key]) -> str:
        """An unknown section or key, with the nearest known one (returned), or where it belongs, or the known
        ones."""
        near = difflib.get_close_matches(name.lower().strip(), list(fields), n=1, cutoff=0.6)
        if not at and isinstance(value, dict):
            hint = f"did you mean [{near[0]}]?" if near else "the sections are " + ", ".join(f"[{s}]" for s in SCHEMA)
            self.problem(f"[{shown_name(name)}] is not a known section; {hint}")
            return near[0] if near else ""
        homes = [s for s in HOMES.get(name, []) if s != at.split("[")[0]]
        if homes:  # a known key in the wrong place: where it belongs is a better answer than a look-alike
            hint, near = f"{name} belongs under [{homes[0]}]", []
        elif near:
            hint = f"did you mean {near[0]}?"
        else:
            hint = "the keys here are " + ", ".join(fields)
        place = (f"of [{at}]" if "[" not in at else f"of {at}") if at else "at the top of the file"
        self.problem(f"{at + '.' if at else ''}{shown_name(name)}: not a known key {place}; {hint}")
        return near[0] if near else ""


_UNFIT = object()


def fix(where: str, key: Key, value: Any) -> str:
    """The line to write instead: `name = <a good value>`, or the form of a table."""
    if key.kind == "table":
        return f"a [{where}] line with its keys below it"
    if key.kind == "tables" and "." not in where:
        return key.example  # [[operators]]
    return f"{where.split('.')[-1].split('[')[0]} = {suggestion(key, value)}"


def unfit(kind: str, value: Any) -> str:
    """Why `value` is not of `kind` ("is not a pin; write ..."), or "" if it is."""
    if isinstance(value, str) and kind in ("text", "path", "device", "pin"):
        return text_problem(value, kind in ("path", "device"))
    fits = {
        "flag": isinstance(value, bool),
        "whole": type(value) is int,
        "number": type(value) in (int, float),
        "device": type(value) is int,
        "pin": type(value) is int,
    }.get(kind, False)
    noun, how = KINDS[kind]
    if not fits:
        return f"is not {noun}; {how}" if how else f"must be {noun}"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if isinstance(value, int) and not -INT64 <= value < INT64:
        return "is beyond TOML's 64-bit integers"
    return ""


def text_problem(text: str, path: bool) -> str:
    """What is wrong with a string (too long, a control character, a path Linux cannot open), or ""."""
    if len(text) > MAX_TEXT:
        return f"is {len(text)} characters long; {MAX_TEXT} is the most"
    control = next((i for i, c in enumerate(text) if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
    if control is not None:
        what = "a NUL byte" if text[control] == "\0" else f"a control character (U+{ord(text[control]):04X})"
        return f"has {what} at character {control + 1}; remove it"
    if path:
        raw = text.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_PATH:
            return f"is a path of {len(raw)} bytes; {MAX_PATH} is the most"
        if any(len(part) > MAX_NAME for part in raw.split(b"/")):
            return f"has a name longer than {MAX_NAME} bytes in it, which no file can have"
    return ""


def suggestion(key: Key, value: Any) -> str:
    """A good value for the fix: the value itself unquoted when it was quoted by mistake, else the example."""
    if isinstance(value, str) and key.kind in ("flag", "whole", "number") and len(value) < 40:
        literal = value.strip()
        if key.kind == "flag" and literal in ("true", "false"):
            return literal
        if literal.lstrip("-").isdigit() and literal.isascii() and key.kind in ("whole", "number"):
            return str(int(literal))
        if key.kind == "number" and _is_float(literal):
            return literal
    if isinstance(value, float) and key.kind == "whole" and math.isfinite(value) and abs(value) < INT64:
        return str(round(value))
    return key.example


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and text.isascii()
    except ValueError:
        return False


def shown(value: Any) -> str:
    """A value in a problem, short and safe for any size: 'GPIO7', True, 2.9, a list."""
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"a number of {value.bit_length()} bits"
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a table"
    return value.isoformat() if hasattr(value, "isoformat") else type(value).__name__


def shown_name(name: Any) -> str:
    """A key's name in a problem: as written when it is a plain one, else quoted and cut short."""
    text = str(name)
    plain = text.isascii() and text.replace("_", "").replace("-", "").isalnum() and len(text) <= 40
    return text if plain else shown(text)

"""A parsed kiosk.toml being read: checked against the schema first, then typed reads by dotted key, each
bad value noted as a problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.config.schema import check_document, declared, repeats_removed

HEX_DIGITS = "0123456789abcdefABCDEF"


def is_hex(text: str) -> bool:
    """True if every character of `text` is a hex digit."""
    return all(c in HEX_DIGITS for c in text)


def read_bounded(path: Path, limit: int) -> bytes:
    """At most `limit` + 1 bytes of a file (more than `limit` means it is too big); raises OSError."""
    with path.open("rb") as f:
        return f.read(limit + 1)


def is_file(path: Path) -> bool:
    """True if `path` is a regular file (a path the system cannot even look up is not one)."""
    try:
        return path.is_file()
    except OSError:
        return False


class Document:
    """The TOML document (what of it fits the schema), the folder its relative paths start from, and the
    problems found so far: the schema's first, then the readers' (not repeating a key the schema named)."""

    def __init__(self, data: dict[str, Any], base_dir: Path | None = None) -> None:
        checked = check_document(data)
        self.data = checked.data
        self.base_dir = base_dir
        self.problems: list[str] = checked.problems
        self.removed = checked.removed
        self.notes = len(self.problems)  # every problem noted, said or not: a reader counts its own

    def problem(self, text: str) -> None:
        """Note one thing wrong with the configuration (said once: a value the schema took out is not)."""
        self.notes += 1
        if not repeats_removed(text, self.removed):
            self.problems.append(text)

    def get(self, dotted: str) -> Any:
        """The value at a dotted key such as "hardware.vault" (None if any part is missing). The key must be
        declared in kiosk.config.schema: a reader cannot read a key the check would call unknown."""
        declared(dotted)
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def need_str(self, key: str) -> str:
        """A required non-empty string, stripped ("" and a problem if it is missing)."""
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{key}: missing or empty; set it, e.g. {key.split('.')[-1]} = {declared(key).example}")
            return ""
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        """One of `options` (`default` when absent, and a problem when it is something else)."""
        value = self.get(key)
        if value is None:
            return default
        if value not in options:
            self.problem(f"{key}: '{value}' is not one of {', '.join(options)}")
            return default
        return str(value)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A number from `low` to `high` (`default` when absent, and a problem when out of range)."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            self.problem(f"{key}: {value!r} must be a number from {low} to {high}")
            return default
        return float(value)

    def whole(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number from `low` to `high` (`default` when absent, and a problem when out of range)."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"{key}: {value!r} must be a whole number from {low} to {high}")
            return default
        return value

    def path(self, value: Any) -> Path:
        """A path from the configuration; a relative one starts at the configuration file's folder."""
        path = Path(value)
        if self.base_dir and not path.is_absolute():
            path = self.base_dir / path
        return path

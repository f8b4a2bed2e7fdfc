"""A parsed kiosk.toml being read: typed reads by dotted key, each bad value noted as a problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEX_DIGITS = "0123456789abcdefABCDEF"


def is_hex(text: str) -> bool:
    """True if every character of `text` is a hex digit."""
    return all(c in HEX_DIGITS for c in text)


class Document:
    """The TOML document, the folder its relative paths start from, and the problems found so far."""

    def __init__(self, data: dict[str, Any], base_dir: Path | None = None) -> None:
        self.data = data
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        """Note one thing wrong with the configuration."""
        self.problems.append(text)

    def get(self, dotted: str) -> Any:
        """The value at a dotted key such as "hardware.vault" (None if any part is missing)."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def need_str(self, key: str, example: str) -> str:
        """A required non-empty string, stripped ("" and a problem if it is missing)."""
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(f'{key}: missing or empty; set it, e.g. {key.split(".")[-1]} = "{example}"')
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

    def path(self, value: Any) -> Path:
        """A path from the configuration; a relative one starts at the configuration file's folder."""
        path = Path(value)
        if self.base_dir and not path.is_absolute():
            path = self.base_dir / path
        return path

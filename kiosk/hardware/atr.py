"""Identify a card from its ATR with the public list that pcsc-tools distributes (smartcard_list.txt:
an ATR pattern as a regular expression, then tab-indented description lines).

The list is GPL-2.0-or-later, so it is read from where Debian's pcsc-tools installs it (or a path in
the configuration), not copied into this package.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_ATR_LIST = Path("/usr/share/pcsc/smartcard_list.txt")


def format_atr(atr: bytes) -> str:
    """'3B 8F 80 01 ...' as the list writes ATRs."""
    return " ".join(f"{b:02X}" for b in atr)


@dataclass(frozen=True)
class AtrEntry:
    """One pattern of the list and what it says about the card."""

    pattern: str
    descriptions: tuple[str, ...]
    regex: re.Pattern[str]


class AtrDatabase:
    """The ATR list, searchable by ATR."""

    def __init__(self, entries: list[AtrEntry]) -> None:
        self.entries = entries
        self._exact = {e.pattern: e for e in entries if "." not in e.pattern and "[" not in e.pattern}

    @classmethod
    def load(cls, path: Path = DEFAULT_ATR_LIST) -> AtrDatabase:
        """Parse the list; unreadable patterns are skipped (and counted in the log), never fatal."""
        entries: list[AtrEntry] = []
        pattern: str | None = None
        lines: list[str] = []
        skipped = 0

        def close() -> None:
            nonlocal skipped
            if pattern:
                try:
                    regex = re.compile(pattern, re.IGNORECASE)
                except re.error:
                    skipped += 1
                    return
                entries.append(AtrEntry(pattern, tuple(lines), regex))

        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if raw.startswith("#"):
                continue
            if raw.startswith("\t"):
                if pattern:
                    lines.append(raw.strip())
            elif raw.strip():
                close()
                pattern, lines = raw.strip().upper(), []
            else:
                close()
                pattern, lines = None, []
        close()
        if skipped:
            log.info("ATR list %s: %d patterns skipped (not valid regular expressions)", path, skipped)
        return cls(entries)

    def identify(self, atr: bytes) -> list[str]:
        """Descriptions of every entry matching this ATR (exact entries first)."""
        text = format_atr(atr)
        exact = self._exact.get(text)
        found = list(exact.descriptions) if exact else []
        for entry in self.entries:
            if entry is not exact and entry.regex.fullmatch(text):
                found.extend(entry.descriptions)
        return found


def is_ektp(descriptions: list[str]) -> bool:
    """True if the list names this ATR as an Indonesian e-KTP (the list's wordings: 'ektp', 'e-KTP',
    and 'Indonesian eID' for the contact interface)."""
    return any(w in d.lower() for d in descriptions for w in ("ektp", "e-ktp", "indonesian eid"))

"""User-facing text through gettext catalogs (kiosk/locale/<lang>/LC_MESSAGES/kiosk.po).

Source strings are English msgids; Bahasa Indonesia is the default language. Catalogs are read from
the .po files directly (no compile step to forget). `N_` marks text for extraction without
translating it yet (tables of reasons); `tr(lang, msgid)` translates.
"""

from __future__ import annotations

import ast
import gettext
from functools import cache
from importlib import resources

DOMAIN = "kiosk"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def N_(msgid: str) -> str:
    """Mark a string for translation without translating it here."""
    return msgid


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr from .po text. Entries are blocks separated by blank lines; fuzzy, empty and
    header entries are skipped; multi-line strings are joined."""
    catalog: dict[str, str] = {}
    for block in text.replace("\r\n", "\n").split("\n\n"):
        parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}
        current: list[str] | None = None
        fuzzy = False
        for line in (ln.strip() for ln in block.splitlines()):
            if line.startswith("#"):
                fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            elif line.startswith(("msgid ", "msgstr ")):
                keyword, _, literal = line.partition(" ")
                current = parts[keyword]
                current.append(ast.literal_eval(literal))
            elif line.startswith('"') and current is not None:
                current.append(ast.literal_eval(line))
        msgid, msgstr = "".join(parts["msgid"]), "".join(parts["msgstr"])
        if msgid and msgstr and not fuzzy:
            catalog[msgid] = msgstr
    return catalog


class Catalog(gettext.NullTranslations):
    """A gettext translations object backed by a parsed .po file."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message, message)


@cache
def catalog(lang: str) -> Catalog:
    """The catalog of one language (English falls back to the msgid)."""
    ref = resources.files("kiosk").joinpath(f"locale/{lang}/LC_MESSAGES/{DOMAIN}.po")
    return Catalog(parse_po(ref.read_text(encoding="utf-8")) if ref.is_file() else {})


def tr(lang: str, msgid: str) -> str:
    """Translate `msgid` into `lang`."""
    return catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).gettext(msgid)

"""User-facing text through gettext catalogs (kiosk/locale/<lang>/LC_MESSAGES/kiosk.po).

Source strings are English msgids; Bahasa Indonesia is the default language. Catalogs are read from
the .po files directly (no compile step to forget). `N_` marks text for extraction without
translating it yet (tables of reasons); `tr(lang, msgid)` translates.
"""

from __future__ import annotations

import ast
import gettext
import re
from functools import cache
from importlib import resources
from pathlib import Path

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


_PATTERNS = (
    re.compile(r"""\bN_\(\s*"((?:[^"\\]|\\.)*)"\s*\)"""),
    re.compile(r"""\btr\(\s*[\w.]+\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)"""),
    re.compile(r"""\btr\._\(\s*'((?:[^'\\]|\\.)*)'\s*\)"""),
    re.compile(r"""\btr\._\(\s*"((?:[^"\\]|\\.)*)"\s*\)"""),
)


def extract_msgids(package_dir: Path) -> dict[str, list[str]]:
    """Every translatable string in the package's .py and .kv files -> where it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted([*package_dir.rglob("*.py"), *package_dir.rglob("*.kv")]):
        text = path.read_text(encoding="utf-8")
        for pattern in _PATTERNS:
            for m in pattern.finditer(text):
                msgid = (
                    ast.literal_eval('"' + m.group(1).replace('"', '\\"') + '"') if "\\" in m.group(1) else m.group(1)
                )
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(msgid, []).append(f"{path.relative_to(package_dir.parent)}:{line}")
    return found


def po_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_po(path: Path, lang: str, msgids: dict[str, list[str]], existing: dict[str, str]) -> None:
    """Write a catalog with every msgid (sorted), keeping existing translations."""
    out = [
        f"# Loket Mandiri e-KTP: {lang} catalog. Edit msgstr only; `python -m kiosk.i18n` adds new msgids.",
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {lang}\\n"',
        "",
    ]
    for msgid in sorted(msgids):
        out += [
            f"#: {' '.join(msgids[msgid][:3])}",
            f'msgid "{po_escape(msgid)}"',
            f'msgstr "{po_escape(existing.get(msgid, ""))}"',
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def update_catalogs() -> None:
    """Refresh every catalog from the source (a developer tool: `python -m kiosk.i18n`)."""
    package = Path(__file__).resolve().parent
    msgids = extract_msgids(package)
    for lang in LANGUAGES:
        po = package / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        existing = parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
        write_po(po, lang, msgids, existing)
        missing = [m for m in msgids if m not in existing]
        note = "English is the source language: an empty msgstr shows the msgid" if lang == "en" else ""
        print(f"{lang}: {len(msgids)} messages, {len(missing)} without translation {note}".rstrip())


if __name__ == "__main__":
    update_catalogs()

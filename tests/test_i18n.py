"""Every user-facing string goes through the gettext catalogs, and Bahasa Indonesia has them all."""

import re
from pathlib import Path

from kiosk.flow.model import CardStatus, Reason
from kiosk.i18n import LANGUAGES, catalog, extract_msgids, parse_po, tr
from kiosk.texts import REASONS, STATUSES

PACKAGE = Path(__file__).resolve().parent.parent / "kiosk"
MSGIDS = extract_msgids(PACKAGE)


def test_every_msgid_has_an_indonesian_translation():
    missing = [f"{m!r} ({MSGIDS[m][0]})" for m in MSGIDS if m not in catalog("id").messages]
    assert not missing, "run `python -m kiosk.i18n` and translate:\n" + "\n".join(missing)


def test_catalogs_hold_no_stale_entries():
    for lang in LANGUAGES:
        stale = set(catalog(lang).messages) - set(MSGIDS)
        assert not stale, f"{lang}: entries no longer used: {sorted(stale)}"


def test_placeholders_survive_translation():
    for msgid, text in catalog("id").messages.items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", text)), msgid


def test_every_reason_and_status_has_words_and_a_way_forward():
    assert set(REASONS) == set(Reason)
    assert set(STATUSES) == set(CardStatus)
    for what, nxt in [*REASONS.values(), *STATUSES.values()]:
        assert what in MSGIDS and nxt in MSGIDS


def test_kv_files_have_no_literal_words():
    literal = re.compile(r"""^\s*text:\s*(['"])(?P<t>[^'"]*[A-Za-z]{2,}[^'"]*)\1\s*$""")
    offenders = []
    for kv in PACKAGE.rglob("*.kv"):
        for n, line in enumerate(kv.read_text().splitlines(), 1):
            if literal.match(line):
                offenders.append(f"{kv.name}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_default_language_is_indonesian_and_english_falls_back_to_source():
    assert tr("id", "Cancel") == "Batal"
    assert tr("en", "Cancel") == "Cancel"
    assert tr("xx", "Cancel") == "Batal"


def test_po_parser_handles_multiline_fuzzy_and_escapes():
    text = """msgid ""
msgstr "Language: id\\n"

#, fuzzy
msgid "Old"
msgstr "Lama"

msgid "Two "
"lines"
msgstr "Dua "
"baris \\"kutip\\""
"""
    assert parse_po(text) == {"Two lines": 'Dua baris "kutip"'}

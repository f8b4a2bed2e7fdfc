"""ATR identification against the real public list (pcsc-tools' smartcard_list.txt)."""

import pytest

from kiosk.hardware.atr import AtrDatabase, format_atr, is_ektp
from kiosk.hardware.profiles import BaselineUidProfile, CardReadError, choose_profile
from tests.conftest import shared_file

HEX = "0123456789ABCDEF"


@pytest.fixture(scope="module")
def db():
    return AtrDatabase.load(shared_file("pcsc-tools", "smartcard_list.txt"))


def test_the_whole_list_loads(db):
    assert len(db.entries) > 5000


def test_every_ektp_atr_in_the_list_resolves_to_its_description(db):
    ektp = [e for e in db.entries if is_ektp(list(e.descriptions))]
    assert len(ektp) == 7
    for entry in ektp:
        atr = bytes.fromhex(entry.pattern.replace(" ", ""))
        assert is_ektp(db.identify(atr)), entry.pattern


def test_exact_entry_resolves(db):
    atr = bytes.fromhex("3B8C800150EA5A3F1930AAAA017781D7DB")
    assert db.identify(atr)[0] == "Indonesia's Official Citizenship/Identity Card (e-KTP) (eID)"


def test_wildcard_entries_match_any_byte(db):
    plain = [
        e
        for e in db.entries
        if ".." in e.pattern and all(p == ".." or (len(p) == 2 and all(c in HEX for c in p)) for p in e.pattern.split())
    ]
    assert len(plain) > 100
    for entry in plain:
        for filler in ("00", "A5"):
            atr = bytes.fromhex("".join(filler if p == ".." else p for p in entry.pattern.split()))
            assert set(entry.descriptions) <= set(db.identify(atr)), entry.pattern


def test_nibble_wildcards_and_character_classes_match(db):
    # the list's '3B 3B .. 00 80 6. A[FE] 03 0[CD] .. .. 83 .. 90 00'
    entry = next(e for e in db.entries if e.pattern == "3B 3B .. 00 80 6. A[FE] 03 0[CD] .. .. 83 .. 90 00")
    for atr in ("3B3B1100806AAF030C0102830F9000", "3B3BFF008060AE030D0000830A9000"):
        assert set(entry.descriptions) <= set(db.identify(bytes.fromhex(atr))), atr
    assert not set(entry.descriptions) <= set(db.identify(bytes.fromhex("3B3B1100807AAF030C0102830F9000")))


def test_unknown_atr_has_no_description(db):
    assert db.identify(bytes.fromhex("3B0102030405")) == []


def test_atr_is_written_as_the_list_writes_it():
    assert format_atr(bytes.fromhex("3b8c80")) == "3B 8C 80"


def test_baseline_profile_reads_any_card_and_refuses_nonsense():
    profile = choose_profile([], b"", [])
    assert isinstance(profile, BaselineUidProfile)
    assert profile.read(lambda apdu: bytes.fromhex("04A1B2C3D4E5F69000")).uid == "04A1B2C3D4E5F6"
    for answer in ("90", "04A1B2C36A82", "04A19000"):

        def card(apdu: bytes, a: str = answer) -> bytes:
            return bytes.fromhex(a)

        with pytest.raises(CardReadError):
            profile.read(card)

"""ATR identification against the real public list (pcsc-tools' smartcard_list.txt)."""

import pytest

from kiosk.hardware.atr import AtrDatabase, format_atr, is_ektp
from kiosk.hardware.profiles import BaselineUidProfile, CardReadError, choose_profile
from tests.conftest import shared_file


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
    # '3B 8F 80 01 80 4F 0C A0 00 00 03 06 .. .. .. .. .. .. .. ..'-style patterns, and character classes
    wild = next(e for e in db.entries if ".." in e.pattern and len(e.pattern.split()) > 6)
    concrete = (
        bytes.fromhex(" ".join("5A" if part == ".." else part for part in wild.pattern.split()).replace(" ", ""))
        if all(len(p) == 2 and "[" not in p and "." not in p.replace("..", "") for p in wild.pattern.split())
        else None
    )
    if concrete is not None:
        assert set(wild.descriptions) <= set(db.identify(concrete))
    mifare = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
    assert any("MIFARE Classic 1K" in d for d in db.identify(mifare))


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

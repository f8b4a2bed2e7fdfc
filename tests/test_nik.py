import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.identity.nik import Nik, NikReason, NikRefusal, make_nik, mask_nik, parse_nik
from kiosk.identity.regions import load_regions

TODAY = dt.date(2026, 11, 23)


def test_valid_kupang_nik_parses_with_birth_date_and_sex():
    nik = parse_nik("5371046508900001", TODAY)  # Oebobo, woman born 25-08-1990
    assert isinstance(nik, Nik)
    assert nik.district == "537104"
    assert nik.birth_date == dt.date(1990, 8, 25)
    assert nik.female


def test_man_born_this_century():
    nik = parse_nik(make_nik("537101", dt.date(2005, 2, 3), False, 12), TODAY)
    assert isinstance(nik, Nik) and nik.birth_date == dt.date(2005, 2, 3) and not nik.female


def test_spaces_are_ignored():
    assert isinstance(parse_nik("5371 0465 0890 0001", TODAY), Nik)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("537104650890001", NikReason.FORMAT),  # 15 digits
        ("53710465089000012", NikReason.FORMAT),  # 17 digits
        ("53710465089O0001", NikReason.FORMAT),  # a letter O
        ("", NikReason.FORMAT),
        ("9971046508900001", NikReason.REGION),  # no province 99
        ("5371996508900001", NikReason.REGION),  # no district 99 in Kota Kupang
        ("5371043202900001", NikReason.BIRTH_DATE),  # 32 February
        ("5371047213900001", NikReason.BIRTH_DATE),  # day 72 - 40 = 32
        ("5371040013900001", NikReason.BIRTH_DATE),  # month 13
        ("5371043002900001", NikReason.BIRTH_DATE),  # 30 February
        ("5371042508900000", NikReason.SERIAL),
    ],
)
def test_invalid_nik_is_refused_with_its_rule(text, reason):
    assert parse_nik(text, TODAY) == NikRefusal(reason)


def test_leap_day_is_valid_only_in_leap_years():
    assert isinstance(parse_nik("5371042902000001", TODAY), Nik)  # 29-02-2000
    assert parse_nik("5371042902010001", TODAY) == NikRefusal(NikReason.BIRTH_DATE)


def test_mask_keeps_only_last_four_digits():
    assert mask_nik("5371046508900001") == "************0001"
    assert "537104" not in repr(parse_nik("5371046508900001", TODAY))
    assert str(parse_nik("5371046508900001", TODAY)) == "************0001"


def test_regions_come_from_the_packaged_wilayah_tables():
    regions = load_regions()
    assert regions.regencies["5371"] == "Kota Kupang"
    names = [d.name for d in regions.districts_of("5371")]
    assert names == ["Alak", "Maulafa", "Kelapa Lima", "Oebobo", "Kota Raja", "Kota Lama"]
    assert len(regions.districts) == 7285


@given(
    st.sampled_from(sorted(load_regions().districts)),
    st.dates(dt.date(1927, 1, 1), TODAY),
    st.booleans(),
    st.integers(1, 9999),
)
def test_any_composed_nik_parses_back(district, born, female, serial):
    nik = parse_nik(make_nik(district, born, female, serial), TODAY)
    assert isinstance(nik, Nik)
    assert (nik.birth_date, nik.female, nik.district) == (born, female, district)


def _born(ddmmyy: str, today: dt.date) -> dt.date | NikReason:
    result = parse_nik(f"537104{ddmmyy}0001", today)
    return result.birth_date if isinstance(result, Nik) else result.reason


@pytest.mark.parametrize(
    ("ddmmyy", "today", "born"),
    [
        ("231126", TODAY, dt.date(2026, 11, 23)),  # born today: this century
        ("010126", TODAY, dt.date(2026, 1, 1)),  # earlier this year: this century
        ("011226", TODAY, dt.date(1926, 12, 1)),  # later this year would be the future: a century ago
        ("241126", TODAY, dt.date(1926, 11, 24)),  # tomorrow, a century ago
        ("010127", TODAY, dt.date(1927, 1, 1)),  # a later year: the last century
        ("100226", dt.date(2026, 1, 15), dt.date(1926, 2, 10)),  # February, not the 29th
        ("290326", dt.date(2026, 1, 15), dt.date(1926, 3, 29)),  # the 29th, not of February
        ("290200", dt.date(2000, 1, 15), NikReason.BIRTH_DATE),  # 29-02-1900 never was (1900 was no leap year)
        ("690290", TODAY, NikReason.BIRTH_DATE),  # a woman born 29-02-1990: no such day
        ("410190", TODAY, dt.date(1990, 1, 1)),  # day 41: a woman born on the 1st
        ("710190", TODAY, dt.date(1990, 1, 31)),  # day 71: a woman born on the 31st
        ("310190", TODAY, dt.date(1990, 1, 31)),  # day 31: a man born on the 31st
    ],
)
def test_birth_date_and_century(ddmmyy, today, born):
    assert _born(ddmmyy, today) == born


@pytest.mark.parametrize(("day", "female"), [("31", False), ("41", True), ("71", True), ("01", False)])
def test_sex_is_read_from_the_day(day, female):
    nik = parse_nik(f"537104{day}01900001", TODAY)
    assert isinstance(nik, Nik) and nik.female is female


@pytest.mark.parametrize(
    ("text", "masked"),
    [("", ""), ("1", "*"), ("1234", "****"), ("12345", "*2345"), ("5371-0465-0890-0001", "************0001")],
)
def test_mask_hides_short_numbers_whole(text, masked):
    assert mask_nik(text) == masked


def test_nik_parts():
    nik = parse_nik("5371046508900001", TODAY)
    assert isinstance(nik, Nik)
    assert (nik.province, nik.regency, nik.district, nik.serial) == ("53", "5371", "537104", "0001")
    assert nik.masked == "************0001"


# -- a NIK is 16 ASCII digits: other scripts' digits, which \d, str.isdigit() and int() accept, are refused --

VALID = "5371046508900001"
ZEROS = {  # the digit zero of scripts whose digits Python reads as numbers (each script's 0-9 run on from it)
    "arabic-indic": 0x0660,
    "extended arabic-indic (persian)": 0x06F0,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "thai": 0x0E50,
    "balinese": 0x1B50,
    "javanese": 0xA9D0,
    "full-width": 0xFF10,
    "mathematical bold": 0x1D7CE,
}
NOT_DECIMAL = "¹²³⁰⁴⁵⁶⁷⁸⁹₀₁₂①②"  # superscripts, subscripts, circled: str.isdigit() says yes


def foreign(digit: str, script: str) -> str:
    return chr(ZEROS[script] + int(digit))


@pytest.mark.parametrize("script", sorted(ZEROS))
def test_a_nik_in_another_scripts_digits_is_refused_as_format(script):
    text = "".join(foreign(d, script) for d in VALID)
    assert text.isdigit() and int(text) == int(VALID), "Python itself reads these as the same number"
    assert parse_nik(text, TODAY) == NikRefusal(NikReason.FORMAT)


@pytest.mark.parametrize("script", sorted(ZEROS))
def test_foreign_zeros_do_not_pass_the_zero_serial_check(script):
    """The fuzzed finding of issue 13: Arabic-Indic zeros as the serial passed as a valid NIK."""
    text = VALID[:12] + foreign("0", script) * 4
    assert parse_nik(text, TODAY) == NikRefusal(NikReason.FORMAT)


@pytest.mark.parametrize("glyph", list(NOT_DECIMAL))
def test_superscript_and_circled_digits_are_refused(glyph):
    assert parse_nik(VALID[:15] + glyph, TODAY) == NikRefusal(NikReason.FORMAT)


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u3000", "\x1c", "\u200b"])
def test_only_ascii_white_space_is_ignored_between_the_digits(space):
    assert parse_nik(f"5371{space}0465{space}0890{space}0001", TODAY) == NikRefusal(NikReason.FORMAT)
    assert isinstance(parse_nik("5371 0465\t0890 0001\n", TODAY), Nik)


_SCRIPTS = sorted(ZEROS)


@given(
    st.sampled_from(sorted(load_regions().districts)),
    st.dates(dt.date(1927, 1, 1), TODAY),
    st.booleans(),
    st.integers(0, 9999),
    st.sets(st.integers(0, 15), min_size=1),
    st.sampled_from([*_SCRIPTS, "not decimal"]),
)
def test_any_nik_with_a_non_ascii_digit_anywhere_is_refused(district, born, female, serial, positions, script):
    """Fuzz: a composed NIK (valid, or with a zero serial) with one or more digits swapped for the same
    digit of another script, or for a superscript or circled digit, is always refused as format."""
    nik = make_nik(district, born, female, serial)
    chars = list(nik)
    for i in positions:
        chars[i] = NOT_DECIMAL[i % len(NOT_DECIMAL)] if script == "not decimal" else foreign(chars[i], script)
    assert parse_nik("".join(chars), TODAY) == NikRefusal(NikReason.FORMAT)


@given(st.text(alphabet=st.characters(categories=("Nd", "No", "P", "Zs")), max_size=24))
def test_a_mask_shows_at_most_four_ascii_digits_and_no_other_script(text):
    masked = mask_nik(text)
    assert set(masked) <= set("*0123456789")
    assert sum(ch != "*" for ch in masked) <= 4


def test_the_printed_nik_reader_keeps_only_ascii_digit_runs():
    from kiosk.identity.ocr_nik import _digits

    assert _digits("NIK : 5371 0465 0890 0001") == VALID
    assert _digits("NIK : " + "".join(foreign(d, "arabic-indic") for d in VALID)) is None
    assert _digits("NIK : " + "".join(foreign(d, "full-width") for d in VALID)) is None

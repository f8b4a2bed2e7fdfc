"""NIK (Nomor Induk Kependudukan) parsing, validation and masking.

Layout: PP KK CC DDMMYY SSSS -- province, regency/city, district, birth date (day + 40 for women),
serial. Invalid input is a value (`NikRefusal`), not an exception. A NIK is 16 ASCII digits: Python's `\\d`,
`str.isdigit()` and `int()` also take Arabic-Indic, Devanagari, full-width and other digits, so every check
here names 0-9 itself.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from kiosk.identity.regions import Regions, load_regions

_DIGITS = re.compile(r"[0-9]{16}", re.ASCII)  # ASCII digits only: \d and str.isdigit() take any script's
_SPACES = re.compile(r"[ \t\r\n]+")  # ASCII white space a typed or read NIK may carry between digits


class NikReason(StrEnum):
    """Why a NIK was refused."""

    FORMAT = "nik_format"
    REGION = "nik_region"
    BIRTH_DATE = "nik_birth_date"
    SERIAL = "nik_serial"


@dataclass(frozen=True)
class NikRefusal:
    """A NIK that failed validation, with the rule it broke."""

    reason: NikReason


@dataclass(frozen=True)
class Nik:
    """A validated NIK."""

    value: str
    birth_date: dt.date
    female: bool

    @property
    def province(self) -> str:
        return self.value[:2]

    @property
    def regency(self) -> str:
        return self.value[:4]

    @property
    def district(self) -> str:
        return district_of(self.value)

    @property
    def serial(self) -> str:
        return self.value[12:]

    @property
    def masked(self) -> str:
        return mask_nik(self.value)

    def __str__(self) -> str:  # never print a whole NIK by accident
        return self.masked

    def __repr__(self) -> str:
        return f"Nik({self.masked})"


def mask_nik(text: str) -> str:
    """Mask all but the last four digits, for logs, receipts and the journal."""
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def district_of(nik: str) -> str:
    """The 6-digit kecamatan (district) code a NIK starts with."""
    return nik[:6]


def birth_date_of(digits: str, today: dt.date) -> tuple[dt.date, bool] | None:
    """Decode DDMMYY (day + 40 for women) from a 16-digit string; None if it is no real date.

    The century is the one that puts the date on or before `today`.
    """
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    female = day > 40
    if female:
        day -= 40
    year = 2000 + yy
    if year > today.year:
        year -= 100
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return None
    if born > today:
        born = born.replace(year=year - 100) if not (month == 2 and day == 29) else born
        if born > today:
            return None
    return born, female


def parse_nik(text: str, today: dt.date, regions: Regions | None = None) -> Nik | NikRefusal:
    """Validate a NIK: 16 ASCII digits (ASCII white space between them ignored), a district that exists, a
    real birth date, a non-zero serial."""
    value = _SPACES.sub("", text)
    if not _DIGITS.fullmatch(value):
        return NikRefusal(NikReason.FORMAT)
    regions = regions or load_regions()
    if value[:6] not in regions.districts:
        return NikRefusal(NikReason.REGION)
    birth = birth_date_of(value, today)
    if birth is None:
        return NikRefusal(NikReason.BIRTH_DATE)
    if value[12:] == "0000":
        return NikRefusal(NikReason.SERIAL)
    return Nik(value, birth[0], birth[1])


def make_nik(district: str, born: dt.date, female: bool, serial: int) -> str:
    """Compose a NIK from its parts (used by the gateway simulator and tests)."""
    day = born.day + (40 if female else 0)
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"

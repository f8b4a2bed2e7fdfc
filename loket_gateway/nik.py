"""The gateway's own check of a NIK's shape (the kiosk's kiosk.identity.nik is not part of the shared
contract): 16 digits, a province code Indonesia uses (11-99), a real birth date DDMMYY (day + 40 for
women), a serial above 0000. Whether the district exists is the office's data to say, not this check's."""

from __future__ import annotations

import datetime as dt
import re

_DIGITS = re.compile(r"[0-9]{16}")


def nik_problem(nik: str) -> str | None:
    """Why `nik` is no NIK (a reason that never repeats the value), or None when it is one."""
    if not _DIGITS.fullmatch(nik):
        return "nik: not 16 digits"
    if int(nik[:2]) < 11:
        return "nik: no such province code"
    day, month = int(nik[6:8]), int(nik[8:10])
    day -= 40 if day > 40 else 0
    try:
        dt.date(2000 + int(nik[10:12]), month, day)  # 29 February: a leap year either century
    except ValueError:
        return "nik: its birth date (DDMMYY) is no real date"
    if nik[12:] == "0000":
        return "nik: its serial is 0000"
    return None

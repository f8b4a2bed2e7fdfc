"""Kemendagri region codes (provinces, regencies, districts) used to validate a NIK's region part."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class District:
    """A kecamatan: its 6-digit NIK code and its name."""

    code: str
    name: str

    @property
    def regency_code(self) -> str:
        return self.code[:4]


@dataclass(frozen=True)
class Regions:
    """Lookup tables of region codes, keyed by the digits as they appear in a NIK."""

    provinces: dict[str, str]
    regencies: dict[str, str]
    districts: dict[str, str]

    def district(self, code: str) -> District | None:
        name = self.districts.get(code)
        return District(code, name) if name else None

    def districts_of(self, regency_code: str) -> list[District]:
        return [District(c, n) for c, n in sorted(self.districts.items()) if c.startswith(regency_code)]


def _read(name: str) -> dict[str, str]:
    text = resources.files("kiosk.data.wilayah").joinpath(name).read_text(encoding="utf-8")
    return {row["kode_nik"]: row["nama"] for row in csv.DictReader(io.StringIO(text, newline=""))}


@lru_cache(maxsize=1)
def load_regions() -> Regions:
    """The packaged region tables (read once per process)."""
    return Regions(_read("provinces.csv"), _read("regencies.csv"), _read("districts.csv"))

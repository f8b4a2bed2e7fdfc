"""Seed data for the gateway simulator: Kota Kupang residents in every state, offices and slots.

Deterministic for a given seed, so tests, the demo and `kiosk simulate` see the same town.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from kiosk.identity.nik import make_nik

KUPANG_DISTRICTS = {
    "537101": "Alak",
    "537102": "Maulafa",
    "537103": "Kelapa Lima",
    "537104": "Oebobo",
    "537105": "Kota Raja",
    "537106": "Kota Lama",
}
KIOSK_OFFICE = "DKP-KUPANG"
OFFICES = [
    (KIOSK_OFFICE, "Dinas Dukcapil Kota Kupang", "537104"),
    *((f"KEC-{code[-2:]}", f"Kantor Camat {name}", code) for code, name in KUPANG_DISTRICTS.items()),
]
TIMES = ("08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00")  # recording slots of a working day
STATUSES = ("ready_here", "ready_elsewhere", "verification", "printing", "waiting_blanko", "never_recorded")
GIVEN = [
    "Maria",
    "Yohanes",
    "Agustina",
    "Fransiskus",
    "Yuliana",
    "Petrus",
    "Dominggus",
    "Sefrina",
    "Melkianus",
    "Adriana",
    "Stefanus",
    "Novita",
    "Yosef",
    "Elisabeth",
    "Markus",
    "Theresia",
]
FAMILY = [
    "Ndun",
    "Lay",
    "Bessie",
    "Fanggidae",
    "Manafe",
    "Tallo",
    "Nenobais",
    "Riwu",
    "Kana",
    "Ataupah",
    "Benu",
    "Saudale",
    "Pello",
    "Dethan",
    "Nalle",
    "Toelle",
]


@dataclass(frozen=True)
class Resident:
    """A seeded resident and where their card stands."""

    index: int
    name: str
    nik: str
    district: str
    status: str
    old_chip_uid: str | None  # None: old card without a chip
    card_id: str | None
    new_chip_uid: str | None
    office_id: str | None  # where the finished card waits

    @property
    def person(self) -> str:
        """A key for the simulated camera's 'face of resident N'."""
        return f"R{self.index:03d}"


def seed_residents(seed: int, per_status_per_district: int = 2) -> list[Resident]:
    """Residents across the six kecamatan, every status present in every kecamatan."""
    rng = random.Random(seed)
    residents: list[Resident] = []
    serials: dict[str, int] = {}
    index = 1
    for district in KUPANG_DISTRICTS:
        for status in STATUSES:
            for _ in range(per_status_per_district):
                female = rng.random() < 0.5
                born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 57))
                serials[district] = serials.get(district, 0) + 1
                nik = make_nik(district, born, female, serials[district])
                chip = rng.random() < 0.7
                printed = status in ("ready_here", "ready_elsewhere")
                office = KIOSK_OFFICE if status == "ready_here" else None
                if status == "ready_elsewhere":
                    office = rng.choice([o[0] for o in OFFICES[1:]])
                residents.append(
                    Resident(
                        index=index,
                        name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
                        nik=nik,
                        district=district,
                        status=status,
                        old_chip_uid=f"04{rng.getrandbits(48):012X}" if chip else None,
                        card_id=f"C{index:05d}" if printed else None,
                        new_chip_uid=f"04{rng.getrandbits(48):012X}" if printed else None,
                        office_id=office,
                    )
                )
                index += 1
    return residents


ResidentRow = tuple[str, int, str, str, str, str, str | None, str | None, str | None, str | None]
SlotRow = tuple[str, str, str, int]


def gateway_rows(seed: int, today: dt.date, residents: list[Resident]) -> tuple[list[ResidentRow], list[SlotRow]]:
    """The gateway's seeded rows: each resident with the day their status began, and every office's recording
    slots (office, day, time, capacity) for the next two weeks, Sundays closed. Deterministic per seed."""
    rng = random.Random(seed)
    resident_rows: list[ResidentRow] = []
    for r in residents:
        since = (today - dt.timedelta(days=rng.randrange(1, 90))).isoformat()
        resident_rows.append(
            (
                r.nik,
                r.index,
                r.name,
                r.district,
                r.status,
                since,
                r.old_chip_uid,
                r.card_id,
                r.new_chip_uid,
                r.office_id,
            )
        )
    slot_rows: list[SlotRow] = []
    for office_id, _, _ in OFFICES:
        for d in range(1, 15):
            day = today + dt.timedelta(days=d)
            if day.weekday() == 6:
                continue
            slot_rows.extend((office_id, day.isoformat(), t, rng.choice((0, 2, 4, 6, 8))) for t in TIMES)
    return resident_rows, slot_rows

"""`loket-gateway seed --demo`: the demo town, loaded into the gateway: Kota Kupang residents in every state
across the six kecamatan, the recording offices and two weeks of slots, kiosk KIOSK-01 with API key
`demo-key`, a deterministic queue-ticket key (ID 1) and, from --photos DIR, recording photos named by card
ID. `kiosk demo`, `kiosk simulate` and the kiosk's tests run on this town (kiosk/sim/office.py seeds its
gateway with `seed_demo`). The draw is deterministic for a seed; seeding again changes nothing (every load
is an upsert).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from loket_gateway.cards import read_photo
from loket_gateway.gateway import Gateway
from loket_gateway.office import ResidentRecord

DEMO_KIOSK, DEMO_KEY = "KIOSK-01", "demo-key"
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


def make_nik(district: str, born: dt.date, female: bool, serial: int) -> str:
    """A NIK from its parts: district, birth date DDMMYY (day + 40 for women), serial."""
    day = born.day + (40 if female else 0)
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def demo_residents(seed: int, per_status: int = 2) -> list[ResidentRecord]:
    """The town's residents, every status in every kecamatan, each with the day their status began
    (`since` is filled by `demo_town`)."""
    rng = random.Random(seed)
    found: list[ResidentRecord] = []
    serials: dict[str, int] = {}
    index = 1
    for district in KUPANG_DISTRICTS:
        for status in STATUSES:
            for _ in range(per_status):
                female = rng.random() < 0.5
                born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 57))
                serials[district] = serials.get(district, 0) + 1
                nik = make_nik(district, born, female, serials[district])
                chip = rng.random() < 0.7
                printed = status in ("ready_here", "ready_elsewhere")
                office = KIOSK_OFFICE if status == "ready_here" else None
                if status == "ready_elsewhere":
                    office = rng.choice([o[0] for o in OFFICES[1:]])
                name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
                old_chip = f"04{rng.getrandbits(48):012X}" if chip else None
                card = f"C{index:05d}" if printed else None
                new_chip = f"04{rng.getrandbits(48):012X}" if printed else None
                found.append(ResidentRecord(nik, name, district, status, dt.date.min, old_chip, card, new_chip, office))
                index += 1
    return found


def demo_town(
    seed: int, today: dt.date, per_status: int = 2
) -> tuple[list[ResidentRecord], list[tuple[str, dt.date, str, int]]]:
    """The residents with their `since`, and every office's slots for the next two weeks (Sundays closed)."""
    rng = random.Random(seed)
    residents = [
        ResidentRecord(**{**r.__dict__, "since": today - dt.timedelta(days=rng.randrange(1, 90))})
        for r in demo_residents(seed, per_status)
    ]
    slot_rows: list[tuple[str, dt.date, str, int]] = []
    for office_id, _, _ in OFFICES:
        for d in range(1, 15):
            day = today + dt.timedelta(days=d)
            if day.weekday() == 6:
                continue
            slot_rows.extend((office_id, day, t, rng.choice((0, 2, 4, 6, 8))) for t in TIMES)
    return residents, slot_rows


def demo_ticket_key(seed: int) -> Ed25519PrivateKey:
    """The demo's queue key for this seed (a demo's, not a secret)."""
    return Ed25519PrivateKey.from_private_bytes((f"loket-queue-{seed}".encode() * 4)[:32])


def seed_demo(
    gateway: Gateway, seed: int = 1, *, today: dt.date | None = None, per_status: int = 2, photos: Path | None = None
) -> dict[str, int]:
    """Load the demo town (idempotent); returns what it holds: residents, slots, photos."""
    residents, slot_rows = demo_town(seed, today or dt.date.today(), per_status)
    gateway.office.load_offices(OFFICES)
    gateway.office.load_residents(residents)
    gateway.office.load_slots(slot_rows)
    gateway.fleet.add_kiosk(DEMO_KIOSK, KIOSK_OFFICE, DEMO_KEY)
    if not gateway.issuer.key_states():
        gateway.issuer.add_key(demo_ticket_key(seed))
    loaded = 0
    for r in residents:
        for suffix in (".jpg", ".png"):
            if photos is not None and r.card_id and (photos / f"{r.card_id}{suffix}").is_file():
                gateway.office.set_photo(r.card_id, read_photo(photos, f"{r.card_id}{suffix}"))
                loaded += 1
    return {"residents": len(residents), "slots": len(slot_rows), "photos": loaded}

"""The office's import of finished cards and resident statuses (`loket-gateway import-cards`): SIAK has no
API, so the office exports a CSV and this loads it, row by row, refusing each bad row with its line number
and the reason, and loading the good ones as upserts keyed by NIK (and the photo by card ID), so importing
the same file again leaves one copy of everything.

The CSV has a header row naming its columns (any order, case-insensitive):

| column | meaning |
| --- | --- |
| nik | the resident's NIK (16 digits; loket_gateway.nik) |
| card_id | the finished card's ID (1-64 of A-Z a-z 0-9 _ . -); needed when the card is ready |
| new_chip_uid | the finished card's chip UID (8-20 hex digits); needed when the card is ready |
| old_chip_uid | the chip UID of the resident's old e-KTP; empty for an old card without a chip |
| status | ready_here, verification, printing, waiting_blanko, never_recorded or collected |
| photo | the recording photo's file name in --photos DIR (JPEG or PNG, at most 1 MB); needed when ready |
| kiosk | optional: the kiosk whose vault holds the card; its office is the kiosk's |
| office | optional: the office where the card waits, when no kiosk is named |

A ready card (status ready_here) needs a `kiosk` or an `office`. Named with a kiosk it is in that kiosk's
manifest only; named with an office only, it is in the manifest of every kiosk of that office (one
kiosk per office, as in the demo) and a lookup elsewhere says where it waits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Connection, case, or_, select

from loket_gateway.db import Database
from loket_gateway.nik import nik_problem
from loket_gateway.schema import card_photos, kiosks, offices, residents

MAX_FILE = 64 * 1024 * 1024
MAX_ROWS = 500_000
MAX_FIELD = 256
MAX_PHOTO = 1_000_000  # the contract's photo is at most about 1 MiB in base64's 1.4 MB
MAX_PIXELS = 4096 * 4096
BATCH = 200
STATUSES = ("ready_here", "verification", "printing", "waiting_blanko", "never_recorded", "collected")
REQUIRED = ("nik", "card_id", "new_chip_uid", "old_chip_uid", "status", "photo")
OPTIONAL = ("kiosk", "office")
_CARD = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_UID = re.compile(r"[0-9A-Fa-f]{8,20}")


class ImportFileInvalid(ValueError):
    """The file as a whole cannot be read (not CSV, no header, too large): nothing was imported."""


@dataclass(frozen=True)
class Rejected:
    """A row refused: its line in the file and why (never the NIK itself)."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """How an import went."""

    imported: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class CardRow:
    """One valid row, ready to load."""

    line: int
    nik: str
    status: str
    card_id: str | None
    new_chip_uid: str | None
    old_chip_uid: str | None
    kiosk_id: str | None
    office_id: str | None
    photo: bytes | None


def read_photo(folder: Path | None, name: str) -> bytes:
    """The photo file's bytes if it is a decodable JPEG or PNG within the bounds; else ValueError."""
    if folder is None:
        raise ValueError("photo: named, but no --photos DIR was given")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise ValueError("photo: no such file in the photos folder")
    with path.open("rb") as f:
        data = f.read(MAX_PHOTO + 1)
    if len(data) > MAX_PHOTO:
        raise ValueError(f"photo: larger than {MAX_PHOTO} bytes")
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError("photo: more than 4096 x 4096 pixels")
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise ValueError("photo: not a decodable JPEG or PNG") from None
    return data


def _optional(value: str, pattern: re.Pattern[str], name: str) -> str | None:
    if not value:
        return None
    if not pattern.fullmatch(value):
        raise ValueError(f"{name}: malformed")
    return value.upper() if pattern is _UID else value


def parse_row(line: int, row: dict[str, str], photos: Path | None) -> CardRow:
    """A CSV row checked field by field; ValueError naming the field and the rule."""
    nik = row["nik"]
    problem = nik_problem(nik)
    if problem:
        raise ValueError(problem)
    status = row["status"]
    if status not in STATUSES:
        raise ValueError(f"status: not one of {', '.join(STATUSES)}")
    card_id = _optional(row["card_id"], _CARD, "card_id")
    new_uid = _optional(row["new_chip_uid"], _UID, "new_chip_uid")
    old_uid = _optional(row["old_chip_uid"], _UID, "old_chip_uid")
    kiosk = _optional(row.get("kiosk", ""), _CARD, "kiosk")
    office = _optional(row.get("office", ""), _CARD, "office")
    if status == "ready_here":
        for name, value in (("card_id", card_id), ("new_chip_uid", new_uid), ("photo", row["photo"])):
            if not value:
                raise ValueError(f"{name}: needed when the card is ready")
        if not kiosk and not office:
            raise ValueError("kiosk or office: needed when the card is ready (where it waits)")
    photo = read_photo(photos, row["photo"]) if row["photo"] else None
    if photo is not None and card_id is None:
        raise ValueError("photo: given without a card_id")
    return CardRow(line, nik, status, card_id, new_uid, old_uid, kiosk, office, photo)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of the file, with the columns checked; ImportFileInvalid for an unreadable file."""
    if path.stat().st_size > MAX_FILE:
        raise ImportFileInvalid(f"{path}: larger than {MAX_FILE} bytes")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise ImportFileInvalid(f"{path}: the header lacks the column(s) {', '.join(missing)}")
            for values in reader:
                if reader.line_num > MAX_ROWS + 1:
                    raise ImportFileInvalid(f"{path}: more than {MAX_ROWS} rows")
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    yield reader.line_num, {"": f"{len(values)} fields, the header has {len(header)}"}
                elif any(len(v) > MAX_FIELD for v in values):
                    yield reader.line_num, {"": f"a field longer than {MAX_FIELD} characters"}
                else:
                    yield reader.line_num, {h: v.strip() for h, v in zip(header, values, strict=True)}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileInvalid(f"{path}: line {reader.line_num}: not readable CSV ({exc})") from None


class CardImport:
    """Loads a card CSV into the gateway's database."""

    def __init__(self, db: Database, today: dt.date) -> None:
        self.db, self.today = db, today

    def run(self, path: Path, photos: Path | None = None) -> ImportReport:
        """Import `path`; every bad row is in the report, every good one loaded (once, however often)."""
        report = ImportReport()
        seen: dict[tuple[str, str], int] = {}  # (column, value) -> the line that had it first
        batch: list[CardRow] = []
        for line, row in _rows(path):
            try:
                if "" in row:
                    raise ValueError(row[""])
                card = parse_row(line, row, photos)
                keys = [
                    (k, v)
                    for k, v in (("nik", card.nik), ("card_id", card.card_id), ("old_chip_uid", card.old_chip_uid))
                    if v
                ]
                first = next(((k, seen[(k, v)]) for k, v in keys if (k, v) in seen), None)
                if first is not None:
                    raise ValueError(f"{first[0]}: also on line {first[1]}")
                seen.update(dict.fromkeys(keys, line))
            except ValueError as exc:
                report.rejected.append(Rejected(line, str(exc)))
                continue
            batch.append(card)
            if len(batch) >= BATCH:
                self._load(batch, report)
                batch = []
        if batch:
            self._load(batch, report)
        report.rejected.sort(key=lambda r: r.line)
        return report

    def _load(self, batch: list[CardRow], report: ImportReport) -> None:
        refused, loaded = self.db.write(lambda conn: self._write(conn, batch))
        report.rejected.extend(refused)
        report.imported += loaded

    def _write(self, conn: Connection, batch: list[CardRow]) -> tuple[list[Rejected], int]:
        r = residents.c
        kiosk_office = dict(conn.execute(select(kiosks.c.kiosk_id, kiosks.c.office_id)).all())
        known_offices = set(conn.execute(select(offices.c.office_id)).scalars())
        cards = [c.card_id for c in batch if c.card_id]
        chips = [c.old_chip_uid for c in batch if c.old_chip_uid]
        query = select(r.nik, r.card_id, r.old_chip_uid).where(or_(r.card_id.in_(cards), r.old_chip_uid.in_(chips)))
        holder: dict[tuple[str, str], str] = {}
        for h in conn.execute(query):
            holder.update(
                {
                    (column, value): h.nik
                    for column, value in (("card_id", h.card_id), ("old_chip_uid", h.old_chip_uid))
                    if value
                }
            )
        refused: list[Rejected] = []
        rows: list[dict[str, Any]] = []
        photos: list[dict[str, Any]] = []
        for c in batch:
            reason = self._conflict(c, holder, kiosk_office, known_offices)
            if reason:
                refused.append(Rejected(c.line, reason))
                continue
            office = kiosk_office[c.kiosk_id] if c.kiosk_id else c.office_id
            rows.append(self._resident(c, office))
            if c.photo is not None:
                photos.append({"card_id": c.card_id, "photo": c.photo})
        self._upsert(conn, rows, photos)
        return refused, len(rows)

    @staticmethod
    def _conflict(c: CardRow, holder: dict[tuple[str, str], str], kiosks_: dict[str, str], offices_: set[str]) -> str:
        if c.kiosk_id and c.kiosk_id not in kiosks_:
            return "kiosk: not registered (loket-gateway kiosk-add)"
        if c.office_id and not c.kiosk_id and c.office_id not in offices_:
            return "office: not a known office"
        for column, value in (("card_id", c.card_id), ("old_chip_uid", c.old_chip_uid)):
            if value is not None and holder.get((column, value), c.nik) != c.nik:
                return f"{column}: already another resident's"
        return ""

    def _resident(self, c: CardRow, office: str | None) -> dict[str, Any]:
        return {
            "nik": c.nik,
            "district": c.nik[:6],
            "status": c.status,
            "since": self.today,
            "old_chip_uid": c.old_chip_uid,
            "card_id": c.card_id,
            "new_chip_uid": c.new_chip_uid,
            "office_id": office,
            "kiosk_id": c.kiosk_id,
        }

    def _upsert(self, conn: Connection, rows: list[dict[str, Any]], photos: list[dict[str, Any]]) -> None:
        if rows:
            insert = self.db.insert(residents)
            new = insert.excluded
            changing: dict[str, Any] = {k: new[k] for k in rows[0] if k not in ("nik", "since")}
            changing["since"] = case((residents.c.status == new.status, residents.c.since), else_=new.since)
            conn.execute(insert.on_conflict_do_update(index_elements=["nik"], set_=changing), rows)
        if photos:
            insert = self.db.insert(card_photos)
            conn.execute(
                insert.on_conflict_do_update(index_elements=["card_id"], set_={"photo": insert.excluded.photo}), photos
            )

"""The office's card import (`loket-gateway import-cards`): bad rows refused with their line and reason,
good rows loaded, a second import of the same file changing nothing, and each kiosk's manifest following
from which vault the import put a card in."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from loket_gateway.cards import MAX_PHOTO, CardImport
from loket_gateway.cli import main
from loket_gateway.demo import KIOSK_OFFICE
from loket_gateway.schema import card_photos, residents
from tests.gw_kit import KIOSK, TODAY

pytest_plugins = ["tests.gw_fixtures"]

HEADER = "nik,card_id,new_chip_uid,old_chip_uid,status,photo,kiosk,office\n"
NIKS = ["5371045003900011", "5371041204850012", "5371026709010013", "5371031111110014"]


def _photos(folder: Path) -> Path:
    folder.mkdir()
    for name, colour in (("a.jpg", "red"), ("b.jpg", "green"), ("c.png", "blue")):
        buf = io.BytesIO()
        Image.new("RGB", (48, 64), colour).save(buf, "PNG" if name.endswith("png") else "JPEG")
        (folder / name).write_bytes(buf.getvalue())
    (folder / "not-an-image.jpg").write_bytes(b"\xff\xd8 this is no JPEG")
    (folder / "huge.jpg").write_bytes(b"\xff" * (MAX_PHOTO + 1))
    return folder


def _count(gw, table) -> int:
    with gw.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_good_file_imported_twice_leaves_one_copy_and_fills_each_kiosks_manifest(gateway, tmp_path):
    gw, _ = gateway
    gw.fleet.add_kiosk("KIOSK-02", KIOSK_OFFICE, "second-key")
    photos = _photos(tmp_path / "photos")
    csv = tmp_path / "cards.csv"
    csv.write_text(
        HEADER
        + f"{NIKS[0]},IMP-001,04AA000000000001,04BB000000000001,ready_here,a.jpg,{KIOSK},\n"
        + f"{NIKS[1]},IMP-002,04aa000000000002,,ready_here,b.jpg,KIOSK-02,\n"
        + f"{NIKS[2]},IMP-003,04AA000000000003,,ready_here,c.png,,KEC-01\n"
        + f"{NIKS[3]},,,04BB000000000004,never_recorded,,,\n"
    )
    before = _count(gw, residents), _count(gw, card_photos)
    first = CardImport(gw.db, TODAY).run(csv, photos)
    assert (first.imported, first.rejected) == (4, [])
    after = _count(gw, residents), _count(gw, card_photos)
    assert after == (before[0] + 4, before[1] + 3)
    one = {c["card_id"]: c for c in gw.residents.manifest(KIOSK)["cards"]}
    two = {c["card_id"] for c in gw.residents.manifest("KIOSK-02")["cards"]}
    assert "IMP-001" in one and "IMP-002" not in one and "IMP-003" not in one
    assert one["IMP-001"]["photo"] and one["IMP-001"]["chip_uid"] == "04AA000000000001"
    assert "IMP-002" in two and "IMP-001" not in two
    assert gw.residents.lookup(KIOSK, NIKS[2])["status"] == "ready_elsewhere"
    assert gw.residents.resolve_chip("04bb000000000004") == {"nik": NIKS[3]}
    version = gw.residents.manifest(KIOSK)["version"]
    again = CardImport(gw.db, TODAY).run(csv, photos)
    assert (again.imported, again.rejected) == (4, [])
    assert (_count(gw, residents), _count(gw, card_photos)) == after
    assert gw.residents.manifest(KIOSK, version).get("unchanged") is True


def test_bad_rows_are_refused_with_their_line_and_reason_and_the_good_ones_load(gateway, tmp_path):
    gw, seeded = gateway
    photos = _photos(tmp_path / "photos")
    taken = next(r for r in seeded if r.card_id)
    rows = [
        f"{NIKS[0]},IMP-001,04AA000000000001,,ready_here,a.jpg,{KIOSK},",  # 2: good
        "53710450039000,IMP-009,04AA000000000009,,ready_here,a.jpg,KIOSK-01,",  # 3
        f"{NIKS[1]},IMP-002,04AA000000000002,,lost,a.jpg,{KIOSK},",  # 4
        f"{NIKS[1]},IMP-002,04AA000000000002,,ready_here,,{KIOSK},",  # 5
        f"{NIKS[1]},IMP-002,04AA000000000002,,ready_here,not-an-image.jpg,{KIOSK},",  # 6
        f"{NIKS[1]},IMP-002,04AA000000000002,,ready_here,huge.jpg,{KIOSK},",  # 7
        f"{NIKS[1]},IMP-002,04AA000000000002,,ready_here,../etc/passwd,{KIOSK},",  # 8
        f"{NIKS[2]},IMP-001,04AA000000000003,,ready_here,b.jpg,{KIOSK},",  # 9: card of line 2
        f"{NIKS[2]},IMP-003,04AA000000000003,,ready_here,b.jpg,KIOSK-77,",  # 10
        f"5371036802950016,{taken.card_id},04AA000000000005,,ready_here,b.jpg,{KIOSK},",  # 11
        f"{NIKS[3]},IMP-004,04AA00000000000Z,,ready_here,c.png,{KIOSK},",  # 12
        f"{NIKS[3]},IMP-004",  # 13
        "5371043213900015,,,,never_recorded,,,",  # 14: a 32nd day
        f"{NIKS[3]},,,,ready_here,,,",  # 15
    ]
    csv = tmp_path / "cards.csv"
    csv.write_text(HEADER + "\n".join(rows) + "\n")
    report = CardImport(gw.db, TODAY).run(csv, photos)
    reasons = {r.line: r.reason for r in report.rejected}
    assert report.imported == 1 and sorted(reasons) == list(range(3, 16))
    expected = {
        3: "nik: not 16 digits",
        4: "status: not one of",
        5: "photo: needed",
        6: "photo: not a decodable",
        7: "photo: larger than",
        8: "photo: no such file",
        9: "card_id: also on line 2",
        10: "kiosk: not registered",
        11: "card_id: already another resident's",
        12: "new_chip_uid: malformed",
        13: "2 fields, the header has 8",
        14: "nik: its birth date",
        15: "card_id: needed",
    }
    for line, start in expected.items():
        assert reasons[line].startswith(start), (line, reasons[line])
    assert all(n not in str(report.rejected) for n in NIKS)  # a reason never repeats a NIK


def test_the_command_reports_rejected_rows_and_refuses_a_missing_file_in_one_line(db_url, tmp_path, capsys):
    csv = tmp_path / "cards.csv"
    csv.write_text(HEADER + f"{NIKS[3]},,,,never_recorded,,,\n" + "123,,,,never_recorded,,,\n")
    assert main(["import-cards", "--db", db_url, str(csv)]) == 1
    out, err = capsys.readouterr()
    assert "1 rows imported, 1 rejected" in out and f"{csv}: line 3: nik: not 16 digits" in err
    assert main(["import-cards", "--db", db_url, str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err
    (tmp_path / "bad.csv").write_text("nik,status\n")
    assert main(["import-cards", "--db", db_url, str(tmp_path / "bad.csv")]) == 2
    assert "lacks the column(s) card_id" in capsys.readouterr().err

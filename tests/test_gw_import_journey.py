"""Issue 16, done-when 4 (second half): a card the office imports (loket_gateway.cards, the CSV of finished
cards) reaches a kiosk through the real gateway's manifest, an operator loads it, and its owner collects it
end to end, with a queue ticket signed by a key that only the manifest delivered (kiosk.toml holds the
retired one). The face check is the scene-reading stand-in (the face pipeline is tests/test_face_journey.py's)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.identity.ticket import Service, TicketRefusal
from loket_gateway.cards import CardImport
from loket_gateway.schema import residents
from tests.test_vaultdesk import operator_mode

NIK = "5371045003900011"  # no resident of the demo town
CARD, NEW_CHIP, OLD_CHIP = "IMP-J01", "04A1B2C3D4E5F6", "04B1B2C3D4E5F7"
HEADER = "nik,card_id,new_chip_uid,old_chip_uid,status,photo,kiosk,office\n"


def _import(world, folder: Path) -> None:
    folder.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (48, 64), "red").save(buf, "JPEG")
    (folder / "a.jpg").write_bytes(buf.getvalue())
    csv = folder / "cards.csv"
    csv.write_text(HEADER + f"{NIK},{CARD},{NEW_CHIP},{OLD_CHIP},ready_here,a.jpg,{world.cfg.kiosk_id},\n")
    report = CardImport(world.gateway.db, world.gateway.today).run(csv, folder)
    assert (report.imported, report.rejected) == (1, [])


def test_an_imported_card_is_loaded_and_handed_over_with_a_ticket_key_only_the_manifest_delivers(
    world, clock, tmp_path
) -> None:
    office, issuer = world.gateway, world.gateway.gateway.issuer
    _import(world, tmp_path / "import")
    # the queue's key rotates and the old one is retired: kiosk.toml still names only the old one
    old = office.ticket_key_id
    new = issuer.rotate(0, now=clock() - 60)
    issuer.retire(old, now=clock())
    assert set(world.cfg.ticket_keys) == {old} and new != old

    # the operator loads the imported card: the vault desk checks it against the kiosk's manifest
    operator_mode(world)
    world.kiosk.dispatch(ev.Press(ev.LOAD))
    world.reader.insert(NEW_CHIP)
    world.kiosk.pump()
    world.reader.remove()
    note = world.kiosk.session.operator_note
    assert note.msgid == "Card {card} is in slot {slot}." and dict(note.fields)["card"] == CARD
    world.kiosk.dispatch(ev.Press(ev.CANCEL))
    held = world.store.card_for_nik(NIK)
    assert held is not None and (held.card_id, held.chip_uid) == (CARD, NEW_CHIP)
    world.kiosk.parts.face.enrolled = {**world.kiosk.parts.face.enrolled, CARD: "R900"}  # the stand-in's face

    # the outbox worker's upkeep polls the manifest: its keys replace kiosk.toml's
    world.sync.drain_once()
    assert set(world.store.ticket_keys()) == {new}
    forged_by_old = office.issue_ticket(office.resident(1), now=clock(), key=office.ticket_key)
    assert isinstance(world.kiosk.intake.verify(forged_by_old, clock()), TicketRefusal), "a retired key is refused"

    # the resident: a ticket the gateway signs now (with the new key), the old card, the face, the new card
    ticket = issuer.issue(NIK, Service.PICKUP, world.cfg.office, now=clock())
    world.camera.show(HeldTicket(ticket))
    world.kiosk.scan_frame()
    world.camera.show(Face("R900"))
    world.reader.insert(OLD_CHIP)
    s = world.kiosk.pump()
    assert s.step == Step.TAP_NEW, s
    world.reader.remove()
    world.reader.insert(NEW_CHIP)
    assert world.kiosk.pump().step == Step.HANDED_OVER
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.reader.remove()
    world.camera.show(Nothing())
    assert world.store.card_for_nik(NIK) is None, "the card left the vault"

    clock.advance(61)
    world.sync.drain_once()
    assert world.store.pending_count() == 0
    with office.db.read() as conn:
        status = conn.execute(select(residents.c.status).where(residents.c.nik == NIK)).scalar_one()
    assert status == "collected", "the handover is recorded at the gateway"
    assert office.event_counts()["handover"] == 1

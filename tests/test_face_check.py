"""The live face check end to end: a rendered resident who reacts to the kiosk's prompts, dlib on every
frame, the template sealed in a real SQLite store; templates computed at loading and erased when the card
leaves."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.exceptions import InvalidTag

from kiosk.bench.face_render import FaceRenderer
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.face_check import PROMPTS, LiveFaceVerifier
from kiosk.identity.liveness import Action, LivenessSettings
from kiosk.identity.templates import Templates
from kiosk.store import Store
from kiosk.store.sealed import Sealer
from tests.conftest import shared_file

CARD = "C-0001"


def photo(name: str) -> bytes:
    return shared_file("faces", "deepface", name).read_bytes()


def image(name: str) -> np.ndarray:
    img = cv2.imread(str(shared_file("faces", "deepface", name)))
    assert img is not None
    return img


class Resident:
    """Frames of a rendered person who does what the screen asks (or holds up a print, if `print_`)."""

    def __init__(self, renderer: FaceRenderer, print_: bool = False) -> None:
        self.r = renderer
        self.asked = ""
        self.print_ = print_
        self.rng = random.Random(4)
        self._frames: Iterator[np.ndarray] = iter(())
        self.prompts: list[str] = []
        self.now = 0.0  # the camera's clock: 10 frames a second, however slowly this machine renders them

    def clock(self) -> float:
        return self.now

    def prompt(self, msgid: str) -> None:
        self.prompts.append(msgid)
        self.asked = msgid
        action = {PROMPTS[a.value]: a for a in Action}.get(msgid)
        if self.print_:
            self._frames = self.r.held_print(10_000, self.rng)
        elif action is not None:
            self._frames = itertools.chain(self.r.perform((action,), self.rng), itertools.repeat(self.r.photo))
        else:
            self._frames = iter(())

    def frame(self) -> np.ndarray:
        self.now += 0.1
        nxt = next(self._frames, None)
        if nxt is None:
            if self.print_:
                self._frames = self.r.held_print(10_000, self.rng)
                return next(self._frames)
            return self.r.photo.copy()
        return nxt.copy()


@pytest.fixture(scope="module")
def faces() -> DlibFaces:
    return DlibFaces()


@pytest.fixture
def templates(tmp_path: Path, faces: DlibFaces) -> Templates:
    return Templates(Store(tmp_path / "k.db"), Sealer.from_file(tmp_path / "seal.key"), faces.enrol)


def verifier(faces: DlibFaces, templates: Templates, resident: Resident, **kw: object) -> LiveFaceVerifier:
    kw.setdefault("clock", resident.clock)
    v = LiveFaceVerifier(faces, LivenessSettings(step_timeout_s=4.0), timeout_s=30, **kw)  # type: ignore[arg-type]
    return v.attach(resident.frame, templates.get)


def test_the_enrolled_person_doing_the_challenge_is_matched_and_live(faces: DlibFaces, templates: Templates) -> None:
    assert templates.add_from_photo(CARD, photo("img2.jpg"))  # the recording photo: same person, another day
    resident = Resident(FaceRenderer(image("img1.jpg"), faces))
    result = verifier(faces, templates, resident).verify(CARD, resident.prompt)
    assert result.live and result.match, result
    asked = [p for p in resident.prompts if p in {PROMPTS[a.value] for a in Action}]
    assert sorted(asked) == sorted(PROMPTS[a.value] for a in Action), "all three actions were asked for"


def test_someone_else_doing_the_challenge_is_not_matched(faces: DlibFaces, templates: Templates) -> None:
    templates.add_from_photo(CARD, photo("img2.jpg"))
    resident = Resident(FaceRenderer(image("img3.jpg"), faces))  # a different person
    result = verifier(faces, templates, resident).verify(CARD, resident.prompt)
    assert result.live and not result.match and result.reason == "mismatch"
    assert faces.settings.threshold == 0.55 and result.score >= 0.55  # a stranger near it: test_face_threshold.py


def test_a_print_of_the_enrolled_person_is_not_live(faces: DlibFaces, templates: Templates) -> None:
    templates.add_from_photo(CARD, photo("img2.jpg"))
    resident = Resident(FaceRenderer(image("img1.jpg"), faces), print_=True)
    result = verifier(faces, templates, resident).verify(CARD, resident.prompt)
    assert not result.live and result.reason.startswith("liveness:"), result


def test_without_a_template_nobody_is_checked(faces: DlibFaces, templates: Templates) -> None:
    resident = Resident(FaceRenderer(image("img1.jpg"), faces))
    result = verifier(faces, templates, resident).verify("C-UNKNOWN", resident.prompt)
    assert (result.match, result.live, result.reason) == (False, False, "no_template")


def test_templates_are_sealed_bound_to_their_card_and_erased_with_it(tmp_path: Path, faces: DlibFaces) -> None:
    store = Store(tmp_path / "k.db")
    sealer = Sealer.from_file(tmp_path / "seal.key")
    assert oct((tmp_path / "seal.key").stat().st_mode & 0o777) == "0o600"
    t = Templates(store, sealer, faces.enrol)
    store.load_card(1, CARD, "5371016910980001", "04AA000000000001")
    store.load_card(2, "C-0002", "5371016910980002", "04AA000000000002")
    assert t.add_from_photo(CARD, photo("img2.jpg")) and t.add_from_photo("C-0002", photo("img3.jpg"))
    vector = t.get(CARD)
    assert vector is not None and vector.shape == (128,)
    raw = (tmp_path / "k.db").read_bytes() + (tmp_path / "k.db-wal").read_bytes()
    assert vector.astype("<f8").tobytes()[:32] not in raw, "the template is not on disk in the clear"
    with pytest.raises(InvalidTag):  # a template moved onto another card's row does not open
        sealer.open(store.template(CARD) or b"", "C-0002")
    # the card leaves: released and taken -> its template is gone in the same transaction
    release = store.begin_release(1, CARD)
    store.finish_release(release, "taken")
    assert store.template(CARD) is None and t.get(CARD) is None
    # unloaded by staff -> gone too
    store.unload_card(2, "expired", "Petugas")
    assert store.template_count() == 0


def test_a_recording_photo_without_a_face_gives_no_template(templates: Templates) -> None:
    ok, png = cv2.imencode(".png", np.full((400, 300, 3), 200, np.uint8))
    assert ok and not templates.add_from_photo(CARD, png.tobytes())
    assert templates.get(CARD) is None


def test_loading_a_card_computes_its_template_from_the_manifest_photo(world, faces: DlibFaces) -> None:
    from kiosk.flow import events as ev
    from tests.test_vaultdesk import operator_mode

    world.vault.auto = True
    world.kiosk.templates.enrol = faces.enrol
    first, second = world.store.inventory()[:2]
    for card in (first, second):
        world.store.unload_card(card.slot, "test", "Petugas")
        world.vault.present[card.slot] = False
    world.gateway.set_photo(first.card_id, photo("img2.jpg"))  # second has no photo in the manifest
    operator_mode(world)
    world.kiosk.dispatch(ev.Press(ev.LOAD))
    world.reader.insert(first.chip_uid)
    world.kiosk.pump()
    world.reader.remove()
    assert world.kiosk.session.operator_note.msgid == "Card {card} is in slot {slot}."
    assert world.kiosk.templates.get(first.card_id) is not None
    world.reader.insert(second.chip_uid)
    world.kiosk.pump()
    note = world.kiosk.session.operator_note
    assert not note.ok and "no face to check against" in note.msgid
    assert "template_missing" in [k for _, _, k, _ in world.store.journal_rows()]
    assert world.store.card_for_nik(second.nik) is not None, "the card is loaded all the same (counter handover)"

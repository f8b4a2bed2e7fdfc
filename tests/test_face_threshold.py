"""The face threshold: its default, its way from kiosk.toml into the real verifier, and a stranger close to it.

The benchmark (`kiosk bench faces`) calibrates the threshold; these tests pin what the kiosk runs with, so
that a changed default or a looser comparison fails here and not only in a benchmark.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bench.face_render import FaceRenderer
from kiosk.config import load_config
from kiosk.config.model import KioskConfig
from kiosk.health import Health
from kiosk.identity.dlibface import DlibFaces, FaceSettings
from kiosk.identity.face_check import LiveFaceVerifier
from kiosk.identity.liveness import LivenessSettings
from kiosk.identity.templates import Templates
from kiosk.runner.parts import build_parts
from kiosk.store import Store
from kiosk.store.sealed import Sealer
from tests.conftest import shared_file
from tests.test_config import GOOD, write
from tests.test_face_check import CARD, Resident

DEFAULT_THRESHOLD = 0.55  # Euclidean distance of dlib's 128-d embeddings, calibrated with `kiosk bench faces`


def image(name: str) -> np.ndarray:
    img = cv2.imread(str(shared_file("faces", "deepface", name)))
    assert img is not None
    return img


def test_the_default_face_threshold_is_0_55():
    assert FaceSettings().threshold == DEFAULT_THRESHOLD
    assert KioskConfig.__dataclass_fields__["face_threshold"].default == DEFAULT_THRESHOLD


def test_a_config_without_a_face_table_gets_the_default(tmp_path: Path):
    assert load_config(write(tmp_path, GOOD)).face_threshold == DEFAULT_THRESHOLD


def _fake_camera_device(tmp_path: Path) -> Path:
    """A short video file: OpenCV's VideoCapture opens it as it opens /dev/video0 (no device needed)."""
    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 8, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    return path


def test_the_threshold_in_kiosk_toml_reaches_the_real_verifier(tmp_path: Path):
    """Built the way `kiosk run` builds its parts: [face] threshold ends up in the comparison it makes."""
    device = _fake_camera_device(tmp_path)
    text = (
        GOOD.replace('camera = "sim"', f'camera = "opencv"\ncamera_device = "{device}"')
        + "\n[face]\nthreshold = 0.42\n"
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.face_threshold == 0.42
    parts = build_parts(cfg, Health())
    try:
        assert isinstance(parts.face, LiveFaceVerifier)
        assert parts.face.faces.settings.threshold == 0.42
        assert parts.enrol is not None  # templates are computed by the same verifier's faces
        assert parts.camera.read() is not None  # the camera really is the file's frames
    finally:
        parts.camera.close()


@pytest.fixture(scope="module")
def faces() -> DlibFaces:
    return DlibFaces()


def test_a_stranger_close_to_the_threshold_is_not_matched(tmp_path: Path, faces: DlibFaces) -> None:
    """Two people of the face set whose photos are about 0.62 apart: refused at 0.55, as they must be.

    A comparison loosened by 0.15 (accepting at 0.70) would match them, and fails this test.
    """
    templates = Templates(Store(tmp_path / "k.db"), Sealer.from_file(tmp_path / "seal.key"), faces.enrol)
    assert templates.add_from_photo(CARD, shared_file("faces", "deepface", "img34.jpg").read_bytes())
    resident = Resident(FaceRenderer(image("img33.jpg"), faces))  # someone else (deepface_P11 against P12)
    verifier = LiveFaceVerifier(faces, LivenessSettings(step_timeout_s=4.0), timeout_s=30).attach(
        resident.frame, templates.get
    )
    result = verifier.verify(CARD, resident.prompt)
    assert faces.settings.threshold == DEFAULT_THRESHOLD
    assert result.live, result
    assert DEFAULT_THRESHOLD <= result.score < DEFAULT_THRESHOLD + 0.15, f"not near the threshold: {result.score}"
    assert not result.match and result.reason == "mismatch", result

"""Face and printed-NIK checks that read the simulated camera's scene (who stands there, which card is
held up) instead of pixels: the demo's and `kiosk simulate`'s stand-ins for dlib and tesseract."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from kiosk.hardware.camera import Face, PrintedCard, SimCamera
from kiosk.i18n import N_
from kiosk.identity.face import FaceResult, Prompt, silent


class SceneFaceVerifier:
    """Simulated face check for the simulated camera: it reads who the scene shows.

    A live face of the enrolled person matches; a printed photo fails liveness; anyone else fails.
    """

    def __init__(self, camera: SimCamera, enrolled: Mapping[str, str], wait_s: float = 0.0) -> None:
        self.camera = camera
        self.enrolled = enrolled  # card_id -> person key
        self.wait_s = wait_s  # how long to wait for a face to appear (the demo gives the user time)

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult:
        deadline = time.monotonic() + self.wait_s
        scene = self.camera.scene
        if not isinstance(scene, Face):
            prompt(N_("Look at the camera."))
        while not isinstance(scene, Face) and time.monotonic() < deadline:
            time.sleep(0.1)
            scene = self.camera.scene
        if not isinstance(scene, Face):
            return FaceResult(False, False, 1.0)
        same = self.enrolled.get(card_id) == scene.person
        return FaceResult(match=same, live=not scene.photo, score=0.35 if same else 0.82)


class SceneNikReader:
    """Reads the NIK of a printed card shown to the simulated camera."""

    def __init__(self, camera: SimCamera) -> None:
        self.camera = camera

    def read(self, frame: np.ndarray) -> str | None:
        scene = self.camera.scene
        return scene.nik if isinstance(scene, PrintedCard) else None

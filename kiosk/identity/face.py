"""Face check port: one attempt of 'is the person at the camera the one enrolled for this card, and
alive?'. `kiosk.identity.face_check.LiveFaceVerifier` is the real one (dlib and a liveness challenge);
`SceneFaceVerifier` reads the simulated camera's scene for the demo and `kiosk simulate`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kiosk.hardware.camera import Face, SimCamera
from kiosk.i18n import N_


@dataclass(frozen=True)
class FaceResult:
    """One attempt's outcome: scores, never frames."""

    match: bool
    live: bool
    score: float  # distance to the enrolment template (lower is closer)
    reason: str = ""  # why it failed, for the journal (no_template, no_face, liveness:timeout, ...)


Prompt = Callable[[str], None]  # tells the screen what to ask for now (a msgid)


def silent(msgid: str) -> None:
    """A prompt that goes nowhere."""


class FaceVerifier(Protocol):
    """Compares the person at the camera with a card's enrolment."""

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult: ...


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


class RefuseAllFaces:
    """The face check of a kiosk without a face pipeline: nobody is confirmed, so no card is released."""

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult:
        return FaceResult(False, False, 1.0, "no_face_pipeline")

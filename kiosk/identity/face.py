"""Face check port: one attempt of 'is the person at the camera the one enrolled for this card, and
alive?'. `kiosk.identity.face_check.LiveFaceVerifier` is the real one (dlib and a liveness challenge);
`kiosk.sim.scenes.SceneFaceVerifier` reads the simulated camera's scene for the demo and `kiosk simulate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


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


class RefuseAllFaces:
    """The face check of a kiosk without a face pipeline: nobody is confirmed, so no card is released."""

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult:
        return FaceResult(False, False, 1.0, "no_face_pipeline")

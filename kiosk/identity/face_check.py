"""The real face check: guide the resident into view, run a random liveness challenge on the live
frames, and compare the best frontal frames with the card's enrolment template.

Frames come from the kiosk's camera loop (the frame on screen); none is stored. Tracking runs on a
reduced frame (dlib HOG at `track_side`, no upsampling: the resident stands close), the embedding on
the full frame. The result carries the distance and, on failure, why; the journal gets those, never
pixels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import cv2
import numpy as np

from kiosk.i18n import N_
from kiosk.identity.dlibface import Box, DlibFaces
from kiosk.identity.face import FaceResult, Prompt, silent
from kiosk.identity.liveness import Action, ChallengeRun, LivenessSettings, Outcome, Pose, new_challenge

log = logging.getLogger(__name__)

PROMPTS = {
    "look": N_("Look at the camera."),
    "closer": N_("Come a little closer."),
    "dark": N_("It is too dark. Face the light."),
    Action.BLINK_TWICE.value: N_("Blink twice."),
    Action.TURN_LEFT.value: N_("Slowly turn your head to your left, then back."),
    Action.TURN_RIGHT.value: N_("Slowly turn your head to your right, then back."),
    "hold": N_("Hold still…"),
}
MIN_FACE_SHARE = 0.16  # the face's width as a share of the frame's: smaller is too far away
MIN_BRIGHTNESS = 60  # mean grey level of the face
BEST_FRAMES = 3


class LiveFaceVerifier:
    """FaceVerifier on live frames; `attach` gives it the frame source and the templates."""

    def __init__(
        self,
        faces: DlibFaces,
        liveness: LivenessSettings | None = None,
        timeout_s: float = 45.0,
        track_side: int = 480,
        challenge: Callable[[], tuple[Action, ...]] = new_challenge,
    ) -> None:
        self.faces = faces
        self.liveness = liveness or LivenessSettings()
        self.timeout_s = timeout_s
        self.track_side = track_side
        self.challenge = challenge
        self.frames: Callable[[], np.ndarray | None] = lambda: None
        self.templates: Callable[[str], np.ndarray | None] = lambda card_id: None
        self.enrol = faces.enrol

    def attach(
        self, frames: Callable[[], np.ndarray | None], templates: Callable[[str], np.ndarray | None]
    ) -> LiveFaceVerifier:
        self.frames, self.templates = frames, templates
        return self

    def _next_frame(self, last: int | None, deadline: float) -> np.ndarray | None:
        while time.monotonic() < deadline:
            frame = self.frames()
            if frame is not None and id(frame) != last:
                return frame
            time.sleep(0.01)
        return None

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult:
        template = self.templates(card_id)
        if template is None:
            return FaceResult(False, False, 1.0, "no_template")
        run = ChallengeRun(self.challenge(), self.liveness)
        deadline = time.monotonic() + self.timeout_s
        best: list[tuple[float, np.ndarray, Box]] = []  # (sharpness, frame, box) of frontal frames
        said, last = "", None
        t0 = time.monotonic()
        while run.outcome == Outcome.RUNNING:
            frame = self._next_frame(last, deadline)
            if frame is None:
                run.outcome, run.reason = Outcome.FAILED, run.reason or "timeout"
                break
            last = id(frame)
            rgb = self.faces.rgb(frame)
            boxes = self.faces.detect(rgb, side=self.track_side, upsample=0)
            if not boxes:
                key = "look"
            elif boxes[0].width < MIN_FACE_SHARE * frame.shape[1]:
                key = "closer"
            elif _brightness(frame, boxes[0]) < MIN_BRIGHTNESS:
                key = "dark"
            else:
                points = self.faces.landmarks(rgb, boxes[0])
                run.feed(points, time.monotonic() - t0)
                key = run.action.value if run.action else "hold"
                if abs(Pose.of(points).yaw) < self.liveness.reference_yaw:
                    best = sorted([*best, (_sharpness(frame, boxes[0]), frame, boxes[0])], key=lambda b: -b[0])
                    best = best[:BEST_FRAMES]
            if key != said:
                prompt(PROMPTS[key])
                said = key
        if not best:
            return FaceResult(False, run.outcome == Outcome.PASSED, 1.0, "no_face")
        probe = np.mean([self.faces.embed(self.faces.rgb(f), b) for _, f, b in best], axis=0)
        distance = DlibFaces.distance(probe, template)
        match = distance < self.faces.settings.threshold
        live = run.outcome == Outcome.PASSED
        reason = "" if match and live else ("liveness:" + run.reason if not live else "mismatch")
        log.info("face check of card %s: distance %.3f, live %s %s", card_id, distance, live, reason)
        return FaceResult(match, live, distance, reason)


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    h, w = frame.shape[:2]
    return frame[max(box.top, 0) : min(box.bottom, h), max(box.left, 0) : min(box.right, w)]


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _brightness(frame: np.ndarray, box: Box) -> float:
    face = _crop(frame, box)
    return float(_grey(face).mean()) if face.size else 0.0


def _sharpness(frame: np.ndarray, box: Box) -> float:
    face = _crop(frame, box)
    return float(cv2.Laplacian(_grey(face), cv2.CV_64F).var()) if face.size else 0.0

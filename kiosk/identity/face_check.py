"""The real face check: guide the resident into view, run a random liveness challenge on the live
frames, and compare the best frontal frames with the card's enrolment template.

Frames come from the kiosk's camera loop (the frame on screen); none is stored. The face is followed
by kiosk.identity.tracking (detection at the scale the face's size needs, the correlation tracker
through a turn), the landmarks fitted in its box, the embedding computed on the full frame. The result
carries the distance and, on failure, why; the journal gets those, never pixels.
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
from kiosk.identity.tracking import FaceTracker, TrackSettings

log = logging.getLogger(__name__)

PROMPTS = {
    "look": N_("Look at the camera."),
    "closer": N_("Come a little closer."),
    "dark": N_("It is too dark. Face the light."),
    Action.BLINK_TWICE.value: N_("Blink twice."),
    Action.TURN_LEFT.value: N_("Slowly turn your head to your left, then back."),
    Action.TURN_RIGHT.value: N_("Slowly turn your head to your right, then back."),
    "hold": N_("Hold still…"),
    "further": N_("A little further."),
    "front": N_("Now look straight at the camera."),
    "other_way": N_("Not that way: turn your head to the other side."),
}
MIN_FACE_PX = 90  # narrower (full-frame pixels), the landmarks are too coarse for blinks: come closer
MIN_BRIGHTNESS = 60  # mean grey level of the face
BEST_FRAMES = 3
Frontal = tuple[float, np.ndarray, Box]  # a frontal frame to embed: (sharpness, frame, box)


class LiveFaceVerifier:
    """FaceVerifier on live frames; `attach` gives it the frame source and the templates."""

    def __init__(
        self,
        faces: DlibFaces,
        liveness: LivenessSettings | None = None,
        timeout_s: float = 45.0,
        track: TrackSettings | None = None,
        challenge: Callable[[], tuple[Action, ...]] = new_challenge,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.faces = faces
        self.liveness = liveness or LivenessSettings()
        self.timeout_s = timeout_s
        self.track = track or TrackSettings()
        self.challenge = challenge
        self.clock = clock  # a benchmark playing a clip passes the clip's own time
        self.frames: Callable[[], np.ndarray | None] = lambda: None
        self.templates: Callable[[str], np.ndarray | None] = lambda card_id: None
        self.enrol = faces.enrol

    def attach(
        self, frames: Callable[[], np.ndarray | None], templates: Callable[[str], np.ndarray | None]
    ) -> LiveFaceVerifier:
        self.frames, self.templates = frames, templates
        return self

    def _next_frame(self, last: np.ndarray | None, deadline: float) -> np.ndarray | None:
        """The next frame that is not `last` (held, not its id: a freed frame's id is reused by the next)."""
        while self.clock() < deadline:
            frame = self.frames()
            if frame is not None and frame is not last:
                return frame
            time.sleep(0.01)
        return None

    def verify(self, card_id: str, prompt: Prompt = silent) -> FaceResult:
        template = self.templates(card_id)
        if template is None:
            return FaceResult(False, False, 1.0, "no_template")
        run = ChallengeRun(self.challenge(), self.liveness)
        tracker = FaceTracker(self.faces, self.track)
        t0 = self.clock()
        deadline = t0 + self.timeout_s
        best: list[Frontal] = []
        said, last_frame = "", None
        while run.outcome == Outcome.RUNNING:
            frame = self._next_frame(last_frame, deadline)
            if frame is None:
                run.outcome, run.reason = Outcome.FAILED, run.reason or "timeout"
                break
            last_frame = frame
            key = self._look(frame, tracker, run, self.clock() - t0, best)
            best = sorted(best, key=lambda b: -b[0])[:BEST_FRAMES]
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

    def _look(self, frame: np.ndarray, tracker: FaceTracker, run: ChallengeRun, t: float, best: list[Frontal]) -> str:
        """One frame through tracking, the gates and the challenge; the prompt's key for now. A frontal,
        detected frame is added to `best`."""
        rgb = self.faces.rgb(frame)
        seen = tracker.find(rgb, t)
        if seen is None:
            run.lost(t)
            return "look"
        if seen.box.width < MIN_FACE_PX:
            run.lost(t)
            return "closer"
        if _brightness(frame, seen.box) < MIN_BRIGHTNESS:
            run.lost(t)
            return "dark"
        points = self.faces.landmarks(rgb, seen.box)
        run.feed(points, t)
        if seen.detected and abs(Pose.of(points).yaw) < self.liveness.reference_yaw:
            best.append((_sharpness(frame, seen.box), frame, seen.box))
        if run.hint:
            return run.hint
        return run.action.value if run.action else "hold"


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

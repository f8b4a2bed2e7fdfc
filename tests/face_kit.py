"""The real face pipeline inside a journey: people and prints in front of the kiosk's camera, and a driver
that steps the camera in lock-step with the face check, so a journey on the real LiveFaceVerifier is
deterministic and runs as fast as the frames can be checked.

- `PromptFollower`: an honest resident, rendered from one frame of a real clip (FaceRenderer.frame), who
  does what the screen asks (blink, turn, the other way, a little further) after a reaction time.
- `PrintShown`: a print of a face held to the camera (FaceRenderer.held_print, optionally filmed_print).
- `PerformerCamera`: a SimCamera (tickets, cards) that shows a performer instead when one stands there;
  each read is one frame at FPS of its own clock, which the face check is given as its clock.
- `FaceDriver`: the app's camera loop for a test: one `scan_frame` at a time, the next only once the face
  check has looked at the last (it polls again for a newer one) or the attempt is over.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from kiosk.bench.clips import frames
from kiosk.bench.face_render import FPS, FaceRenderer, filmed_print
from kiosk.flow.model import Reason, Session, Step
from kiosk.hardware.camera import SimCamera
from kiosk.identity.face_check import PROMPTS, LiveFaceVerifier
from kiosk.runner import Kiosk

CLIPS = Path(__file__).resolve().parent / "data" / "face-clips"
PROMPT_KEYS = {text: key for key, text in PROMPTS.items()}  # a prompt's msgid -> the face check's key


def clip_frame(name: str, at_s: float) -> np.ndarray:
    """The first frame at or after `at_s` seconds of a clip in tests/data/face-clips."""
    return next(f for t, f in frames(CLIPS / name) if t >= at_s)


def png(image: np.ndarray) -> bytes:
    """An image as PNG bytes (a recording photo as the manifest carries it)."""
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


class Performer(Protocol):
    """Something in front of the camera: the frame it makes at camera time `t`, seeing `prompt` on screen."""

    def frame(self, t: float, prompt: str | None) -> np.ndarray: ...


class PromptFollower:
    """An honest resident who follows the screen's face prompts: each new prompt is answered `reaction_s`
    later; a turn goes to `turn_deg` in 0.4 s, is held 0.5 s and comes back; "blink twice" is two 0.2 s
    blinks; "a little further" turns 8 degrees further; a prompt still shown a second after its answer is
    answered again; otherwise the head sways by a degree. Frames are rendered once per pose and copied."""

    def __init__(
        self, renderer: FaceRenderer, rng: random.Random, turn_deg: float = 25.0, reaction_s: float = 0.6
    ) -> None:
        self.r, self.rng, self.turn_deg, self.reaction_s = renderer, rng, turn_deg, reaction_s
        self.asked = ""  # the key of the prompt on screen
        self.side = 1  # the way of the last turn asked (+1: the person's left)
        self._due = 0.0
        self._plan: list[tuple[float, bool]] = []  # frames to come: (degrees, eyes shut)
        self._poses: dict[tuple[float, bool], np.ndarray] = {}

    def frame(self, t: float, prompt: str | None) -> np.ndarray:
        key = PROMPT_KEYS.get(prompt or "", "")
        if key != self.asked:
            self.asked, self._due = key, t + self.reaction_s
        if not self._plan and t >= self._due:
            self._plan = self._answer(key)
            self._due = t + len(self._plan) / FPS + 1.0
        degrees, shut = self._plan.pop(0) if self._plan else (float(self.rng.choice((-1, 0, 0, 1))), False)
        return self._pose(degrees, shut)

    def _answer(self, key: str) -> list[tuple[float, bool]]:
        if key == "blink_twice":
            blink = [(0.0, True)] * 2 + [(0.0, False)] * 3
            return blink * 2
        if key not in ("turn_left", "turn_right", "other_way", "further"):
            return []  # look, hold still, face the camera: just be there
        if key in ("turn_left", "turn_right"):
            self.side = 1 if key == "turn_left" else -1
        elif key == "other_way":
            self.side = -self.side
        peak = self.turn_deg + (8.0 if key == "further" else 0.0)
        ramp = [round(peak * k / 4) for k in (1, 2, 3, 4)]
        return [(float(self.side * d), False) for d in [*ramp, *[ramp[-1]] * 5, *reversed(ramp[:-1]), 0]]

    def _pose(self, degrees: float, shut: bool) -> np.ndarray:
        if (degrees, shut) not in self._poses:
            self._poses[(degrees, shut)] = self.r.frame(degrees, eyes_closed=shut)
        return self._poses[(degrees, shut)].copy()


class PrintShown:
    """A print of the renderer's photo held to the camera by a hand that moves it, tilts it up to 35 degrees
    and turns it in-plane (and, `filmed`, seen through glare, blur, noise and JPEG as a camera films it):
    `frames` poses rendered once and played forth and back; it does nothing the screen asks."""

    def __init__(self, renderer: FaceRenderer, rng: random.Random, filmed: bool = False, frames: int = 80) -> None:
        held = renderer.held_print(frames, rng)
        # rendered once, then played forth and back (no jump from the last pose to the first)
        self._frames = list(filmed_print(held, rng) if filmed else held)
        self._shown = 0

    def frame(self, t: float, prompt: str | None) -> np.ndarray:
        n = len(self._frames)
        i = self._shown % (2 * n - 2)
        self._shown += 1
        return self._frames[i if i < n else 2 * n - 2 - i].copy()


class PerformerCamera(SimCamera):
    """The kiosk's camera (the Camera port): the simulated scene, or the performer standing there. Every read
    is the next frame, 1/FPS later on the camera's own clock; `prompt` is the face prompt on screen, which a
    performer sees (`watch` is a session listener)."""

    def __init__(self) -> None:
        super().__init__()
        self.performer: Performer | None = None
        self.now = 0.0
        self.prompt: str | None = None
        self.reads = 0

    def watch(self, s: Session) -> None:
        self.prompt = s.face_prompt

    def read(self) -> np.ndarray | None:
        self.now += 1.0 / FPS
        self.reads += 1
        if self.performer is None:
            return super().read()
        return self.performer.frame(self.now, self.prompt)

    def clock(self) -> float:
        return self.now


class FrameTap:
    """Wraps the face check's frame source (what the kiosk attached) and notes what it handed out: a frame
    handed out twice in a row was looked at, and the check is waiting for a newer one."""

    def __init__(self, source: Callable[[], np.ndarray | None]) -> None:
        self.source = source
        self.last: np.ndarray | None = None
        self.repeats = 0
        self.lock = threading.Lock()

    def __call__(self) -> np.ndarray | None:
        frame = self.source()
        with self.lock:
            self.repeats = self.repeats + 1 if frame is self.last else 1
            self.last = frame
        return frame

    def done_with(self, frame: np.ndarray | None) -> bool:
        with self.lock:
            return self.last is frame and self.repeats >= 2


class FaceDriver:
    """Runs a kiosk's face step as the app's camera loop would, one frame at a time in lock-step with the
    real face check (on the kiosk's worker thread): scan a frame, wait until the check has looked at it or
    its attempt has ended, show the screen's prompt to the performer, repeat."""

    def __init__(self, kiosk: Kiosk, camera: PerformerCamera, wall_s: float = 30.0) -> None:
        assert isinstance(kiosk.parts.face, LiveFaceVerifier)
        self.kiosk, self.camera, self.wall_s = kiosk, camera, wall_s
        self.tap = FrameTap(kiosk.parts.face.frames)
        kiosk.parts.face.frames = self.tap
        kiosk.listeners.append(camera.watch)

    def until(self, done: Callable[[Session], bool], what: str) -> Session:
        """Pump the loop until `done(session)` (the effects run on worker threads); fail after wall_s."""
        deadline = time.monotonic() + self.wall_s
        while True:
            s = self.kiosk.pump()
            if done(s):
                return s
            assert time.monotonic() < deadline, f"no {what} within {self.wall_s} s: {s}"
            time.sleep(0.002)

    def attempt(self, max_frames: int = 600) -> Session:
        """One face check attempt, from the step's start to its result: the session then."""
        for _ in range(max_frames):
            s = self.kiosk.pump()
            if self._over(s):
                return s
            self.kiosk.scan_frame()
            self.until(self._looked(self.kiosk.last_frame), "the face check's look")
        raise AssertionError(f"the face check took more than {max_frames} frames")

    def _looked(self, frame: np.ndarray | None) -> Callable[[Session], bool]:
        """Whether the face check has looked at `frame` (or its attempt is over)."""
        return lambda s: self.tap.done_with(frame) or self._over(s)

    @staticmethod
    def _over(s: Session) -> bool:
        return s.step != Step.FACE or s.notice == Reason.FACE_RETRY

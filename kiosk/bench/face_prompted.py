"""An honest resident who follows the kiosk's prompts, rendered (kiosk.bench.face_render): the person and
the camera the liveness bench plays through the real LiveFaceVerifier."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial

import numpy as np

from kiosk.bench.face_render import FPS, FaceRenderer
from kiosk.identity.face_check import PROMPTS

PROMPTED = {text: key for key, text in PROMPTS.items()}


class PromptedPerson:
    """An honest resident who follows the screen's prompts, frame by frame (`prompt` is the face check's
    prompt callback, `frame(t)` the camera): each prompt is answered after a reaction time of
    `reaction_s` (0.5-1 s, drawn per prompt); a turn goes to this person's own amplitude (20-30 degrees,
    drawn once) in 0.4 s (further ones at the same speed), is held 0.5 s and comes back; "blink twice" is
    two of the renderer's blinks (FaceRenderer.blink: the clip's real ones where it has them); "a little
    further" is a turn `FURTHER_DEG` further; a prompt still on screen 1 s after the answer is answered
    again (the person saw it was not taken), a turn then `FURTHER_DEG` further than the last, up to
    twice; between answers the head sways a little."""

    FURTHER_DEG = 8.0

    def __init__(self, renderer: FaceRenderer, rng: random.Random) -> None:
        self.r, self.rng = renderer, rng
        self.amplitude = rng.uniform(20.0, 30.0)
        self.key = "look"
        self._due = 0.0  # when the current prompt is answered
        self._plan: list[Callable[[], np.ndarray]] = []  # frames to come
        self._now = 0.0
        self._turn = 0  # the side of the last turn asked (+1: left)
        self._again = 0  # times the prompt on screen was answered and is still there
        self._blinks = 0  # blinks done so far

    def prompt(self, msgid: str) -> None:
        key = PROMPTED.get(msgid, "")
        if key == self.key:
            return
        self.key, self._again = key, 0
        self._due = self._now + self.rng.uniform(0.5, 1.0)

    def _answer(self) -> list[Callable[[], np.ndarray]]:
        key = self.key
        if key == "blink_twice":
            blinks = self.r.blink(self._blinks) + self.r.blink(self._blinks + 1)
            self._blinks += 2
            return [partial(np.copy, f) for f in blinks]
        if key in ("turn_left", "turn_right", "further", "other_way"):
            if key in ("turn_left", "turn_right"):
                self._turn = 1 if key == "turn_left" else -1
            elif key == "other_way":
                self._turn = -self._turn
            steps = int(key == "further") + min(self._again, 2)
            peak = self.amplitude + self.FURTHER_DEG * steps
            n = math.ceil(peak / (self.amplitude / 4) - 1e-9)  # at one speed: 0.4 s to the amplitude
            ramp = [peak * k / n for k in range(1, n + 1)]
            degrees = [*ramp, *[peak] * 5, *reversed(ramp[:-1]), 0.0]
            return [partial(self.r.frame, self._turn * d) for d in degrees]
        return []

    def frame(self, t: float) -> np.ndarray:
        self._now = t
        if not self._plan and t >= self._due:
            self._plan = self._answer()
            self._again += int(bool(self._plan))
            self._due = t + (len(self._plan) / FPS) + 1.0  # still asked a second after: again
        if self._plan:
            return self._plan.pop(0)()
        return self.r.frame(self.rng.uniform(-1.0, 1.0))


class PromptedCamera:
    """A PromptedPerson as the kiosk's live camera at FPS, with the clock the face check reads: each
    frame moves time on by one frame; after `seconds`, no more frames (time runs on fast)."""

    def __init__(self, person: PromptedPerson, seconds: float = 40.0) -> None:
        self.person, self.seconds = person, seconds
        self.now = 0.0

    def frame(self) -> np.ndarray | None:
        if self.now >= self.seconds:
            self.now += 1.0
            return None
        self.now += 1.0 / FPS
        return self.person.frame(self.now)

    def clock(self) -> float:
        return self.now

"""Active liveness: a randomised challenge (blink twice, turn left, turn right, in a random order) judged
from dlib's 68 landmarks, frame by frame.

- Blink: the eye aspect ratio (EAR) falls below `closed_ratio` of the resident's own open-eye EAR and
  comes back. Two blinks make the step.
- Turn: the nose tip moves off its frontal place on the jaw line by `turn_yaw` of the face width, toward
  the asked side (the resident's left is the camera's right: frames are not mirrored here). A head is a 3D
  object: turning it moves the nose against the cheeks in a way no flat picture can. So a turn only
  counts if the landmarks no longer fit one homography of the frontal reference (`min_parallax`, RMS
  residual in face widths): a printed photo turned, tilted, moved or bent gently stays within one
  homography and never passes a turn. And a head turns smoothly: the turn must pass through part-turned
  frames, and a jump between two frames (one picture swapped for another) starts the turn over.
- Order matters: a turn the wrong way, or any turn while blinks are asked, fails the run at once; each
  step has `step_timeout_s`. Between turns the face must come back to frontal.

Limits, written down: a live deepfake or a screen replay that follows the prompts (a 3D-consistent face
on a display) defeats active liveness. Closing that needs sensing a flat screen can't fake: an IR or
depth camera (e.g. a structured-light or time-of-flight module beside the RGB camera), or a passive
anti-spoofing model shipped as a package, which no PyPI or Debian package offers today. Until then the
other factors carry the weight: the signed queue ticket, the old card, the NIK, and the operator's eyes.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

RIGHT_EYE = slice(36, 42)  # the resident's right eye: the left one in an unmirrored frame
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
JAW_RIGHT, JAW_LEFT = 0, 16


class Action(StrEnum):
    """One step of a challenge; the value is what the screen asks for (a msgid key)."""

    BLINK_TWICE = "blink_twice"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"


def new_challenge(rng: random.Random | None = None) -> tuple[Action, ...]:
    """The three actions in an order nobody can predict (a cryptographic RNG unless one is given)."""
    actions = list(Action)
    (rng or secrets.SystemRandom()).shuffle(actions)
    return tuple(actions)


def _ear(eye: np.ndarray) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = np.linalg.norm(eye[0] - eye[3])
    return float(vertical / (2.0 * horizontal)) if horizontal > 0 else 0.0


@dataclass(frozen=True)
class Pose:
    """What one frame's landmarks say: eye openness, head turn, and the points themselves."""

    ear: float
    yaw: float  # > 0: turned to the resident's left (nose toward the camera's right)
    width: float  # jaw width in pixels
    points: np.ndarray = field(repr=False)

    @classmethod
    def of(cls, points: np.ndarray) -> Pose:
        ear = (_ear(points[RIGHT_EYE]) + _ear(points[LEFT_EYE])) / 2
        left, right = points[JAW_LEFT], points[JAW_RIGHT]
        width = float(np.linalg.norm(left - right))
        mid = (left + right) / 2
        axis = (left - right) / width if width else np.array([1.0, 0.0])
        yaw = float(np.dot(points[NOSE_TIP] - mid, axis) / width) if width else 0.0
        return cls(ear, yaw, width, points)


def parallax(reference: np.ndarray, points: np.ndarray) -> float:
    """RMS distance (in face widths) of `points` from the best homography image of `reference`."""
    h, _ = cv2.findHomography(reference.astype(np.float32), points.astype(np.float32), 0)
    if h is None:
        return 0.0
    projected = cv2.perspectiveTransform(reference.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)
    width = float(np.linalg.norm(points[JAW_LEFT] - points[JAW_RIGHT])) or 1.0
    return float(np.sqrt(np.mean(np.sum((projected - points) ** 2, axis=1))) / width)


@dataclass(frozen=True)
class LivenessSettings:
    """Calibrated on rendered sequences (tests/test_liveness.py); tighten, never loosen, on real data."""

    closed_ratio: float = 0.82  # eyes closed below this share of the open EAR (a real blink: about 0.3);
    # measured: held prints never go below 0.89 of their own baseline
    open_ratio: float = 0.9  # and open again above this share
    reference_yaw: float = 0.08  # the baseline frames must be about frontal
    turn_yaw: float = 0.08  # the nose moved off its frontal place by this share of the face width
    frontal_yaw: float = 0.04  # back to frontal: within this of the baseline
    min_parallax: float = 0.016  # a turn must leave one homography by this much (face widths, RMS);
    # measured: prints held, tilted to 35 degrees and moved, stay below 0.011; rendered 26-degree turns 0.025+
    max_yaw_step: float = 0.09  # a head turns smoothly; a bigger jump between frames is a swapped picture
    step_timeout_s: float = 8.0
    reference_frames: int = 3  # frontal, open-eyed frames that set the baseline


class Outcome(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


@dataclass
class ChallengeRun:
    """Feed it one frame's landmarks at a time; it says what to ask next and when it is decided."""

    challenge: tuple[Action, ...]
    settings: LivenessSettings = field(default_factory=LivenessSettings)
    outcome: Outcome = Outcome.RUNNING
    reason: str = ""
    step: int = 0
    _reference: list[Pose] = field(default_factory=list)
    _open_ear: float = 0.0
    _yaw0: float = 0.0
    _step_started: float | None = None
    _blinks: int = 0
    _closed: bool = False
    _turned: int = 0
    _ramp: int = 0
    _last_yaw: float | None = None
    _need_frontal: bool = False
    best_parallax: float = 0.0

    @property
    def action(self) -> Action | None:
        """What the resident is asked to do now (None before the baseline and after the end)."""
        if self.outcome != Outcome.RUNNING or len(self._reference) < self.settings.reference_frames:
            return None
        return self.challenge[self.step]

    def _fail(self, reason: str) -> Outcome:
        self.outcome, self.reason = Outcome.FAILED, reason
        return self.outcome

    def feed(self, points: np.ndarray, t: float) -> Outcome:
        if self.outcome != Outcome.RUNNING:
            return self.outcome
        pose = Pose.of(points)
        cfg = self.settings
        if len(self._reference) < cfg.reference_frames:  # look at the camera first
            if abs(pose.yaw) < cfg.reference_yaw and pose.ear > 0:
                self._reference.append(pose)
                if len(self._reference) == cfg.reference_frames:
                    self._open_ear = float(np.median([p.ear for p in self._reference]))
                    self._yaw0 = float(np.median([p.yaw for p in self._reference]))
                    self._step_started = t
            return self.outcome
        assert self._step_started is not None
        if t - self._step_started > cfg.step_timeout_s:
            return self._fail(f"timeout:{self.challenge[self.step].value}")
        action = self.challenge[self.step]
        yaw = pose.yaw - self._yaw0
        jumped = self._last_yaw is not None and abs(yaw - self._last_yaw) > cfg.max_yaw_step
        self._last_yaw = yaw
        if jumped:  # no head moves like that between two frames: start the turn over
            self._ramp = self._turned = 0
        if self._need_frontal:  # back to the middle before the next step
            if abs(yaw) < cfg.frontal_yaw:
                self._need_frontal = False
            return self.outcome
        turned_left, turned_right = yaw >= cfg.turn_yaw, yaw <= -cfg.turn_yaw
        if action == Action.BLINK_TWICE:
            if turned_left or turned_right:
                return self._fail("wrong_action:turn")
            if not self._closed and pose.ear < cfg.closed_ratio * self._open_ear:
                self._closed = True
            elif self._closed and pose.ear > cfg.open_ratio * self._open_ear:
                self._closed = False
                self._blinks += 1
                if self._blinks >= 2:
                    return self._next(t, frontal=False)
            return self.outcome
        wanted, wrong = (turned_left, turned_right) if action == Action.TURN_LEFT else (turned_right, turned_left)
        if wrong:
            return self._fail("wrong_action:direction")
        toward = yaw if action == Action.TURN_LEFT else -yaw
        if wanted and not jumped:
            depth = min(parallax(p.points, pose.points) for p in self._reference)
            self.best_parallax = max(self.best_parallax, depth)
            self._turned = self._turned + 1 if depth >= cfg.min_parallax and self._ramp else 0
            if self._turned >= 2:
                return self._next(t, frontal=True)
        elif not wanted:
            self._turned = 0
            if toward < 0:
                self._ramp = 0
            elif toward >= 0.3 * cfg.turn_yaw:  # on the way: a real turn passes through part-turned poses
                self._ramp += 1
        return self.outcome

    def _next(self, t: float, frontal: bool) -> Outcome:
        self.step += 1
        self._blinks, self._closed, self._turned, self._ramp = 0, False, 0, 0
        self._need_frontal = frontal
        self._step_started = t
        if self.step >= len(self.challenge):
            self.outcome = Outcome.PASSED
        return self.outcome

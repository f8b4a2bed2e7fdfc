"""Active liveness on rendered sequences through the real pipeline (dlib detection and landmarks):
a still photo held in a hand never passes; a person doing the asked challenge passes; a person doing a
different challenge fails."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

import cv2
import numpy as np
import pytest

from kiosk.bench.face_render import FPS, FaceRenderer
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.liveness import Action, ChallengeRun, Outcome, Pose, new_challenge
from tests.conftest import shared_file

# frontal photos of four different people in ../shared/data/faces (identities.csv)
PHOTOS = ["img1.jpg", "img3.jpg", "img20.jpg", "img9.jpg"]
ORDERS = list(itertools.permutations(Action))


@pytest.fixture(scope="module")
def faces() -> DlibFaces:
    return DlibFaces()


@pytest.fixture(scope="module")
def renderers(faces: DlibFaces) -> dict[str, FaceRenderer]:
    return {name: FaceRenderer(read(name), faces) for name in PHOTOS}


def read(name: str) -> np.ndarray:
    image = cv2.imread(str(shared_file("faces", "deepface", name)))
    assert image is not None, name
    return image


def judge(faces: DlibFaces, challenge: tuple[Action, ...], frames: Iterable[np.ndarray]) -> ChallengeRun:
    """Run frames through detection, landmarks and the challenge, as the kiosk's face check does."""
    run = ChallengeRun(challenge)
    for i, frame in enumerate(frames):
        rgb = faces.rgb(frame)
        boxes = faces.detect(rgb, side=480, upsample=0)
        if boxes:
            run.feed(faces.landmarks(rgb, boxes[0]), i / FPS)
        if run.outcome != Outcome.RUNNING:
            break
    return run


def test_challenges_are_random_orders_of_all_three_actions() -> None:
    seen = {new_challenge() for _ in range(200)}
    assert all(sorted(c) == sorted(Action) for c in seen)
    assert len(seen) == 6, "every order turns up"


@pytest.mark.parametrize("name", PHOTOS)
def test_the_turn_in_degrees_reads_a_rendered_head_out_to_80_degrees(
    renderers: dict[str, FaceRenderer], name: str
) -> None:
    """Pose.yaw_deg on the landmarks where the renderer draws a head turned each way (its own depth
    profile, written for the renderer: the nose tip 0.51 outer-eye widths in front of the outer eye
    corners, against Pose's NOSE_DEPTH of 0.5) reads the turn to within 2.5 degrees out to 80. Half the
    difference of the two ways cancels the photo's own frontal reading (-2 to +5 degrees on these)."""
    renderer = renderers[name]
    for degrees in (10, 20, 30, 45, 60, 80):
        read = (Pose.of(renderer.landmarks(degrees)).yaw_deg - Pose.of(renderer.landmarks(-degrees)).yaw_deg) / 2
        assert abs(read - degrees) < 2.5, (degrees, read)


# img1's rendered blink reads 0.69-0.76 of its open EAR, at or above the 0.75 bound calibrated on real
# footage (real blinks reach 0.35-0.6: kiosk bench liveness): there the renderer, not the rule, is off
@pytest.mark.parametrize("photo", PHOTOS)
def test_doing_the_asked_challenge_passes(faces: DlibFaces, renderers: dict[str, FaceRenderer], photo: str) -> None:
    rng = random.Random(photo)
    for challenge in rng.sample(ORDERS, 2):
        run = judge(faces, challenge, renderers[photo].perform(challenge, rng))
        assert run.outcome == Outcome.PASSED, (photo, challenge, run.reason, run.step)


@pytest.mark.parametrize("photo", PHOTOS[:2])
def test_doing_a_different_challenge_fails(faces: DlibFaces, renderers: dict[str, FaceRenderer], photo: str) -> None:
    rng = random.Random(photo)
    for asked in ORDERS:
        done = next(o for o in ORDERS if o[0] != asked[0])
        run = judge(faces, asked, itertools.chain(renderers[photo].perform(done, rng), _still(renderers[photo], 90)))
        assert run.outcome == Outcome.FAILED, (photo, asked, done)


def test_a_deliberate_turn_the_wrong_way_is_coached_once_then_fails() -> None:
    """A glance or a talker's sway never fails a step; a large turn the other way, held, from facing the
    camera, is told the way once; a second one fails the run."""
    face = _template_landmarks()
    run = ChallengeRun((Action.TURN_LEFT, Action.BLINK_TWICE, Action.TURN_RIGHT))
    t = 0.0

    def hold(yaws: list[float]) -> None:
        nonlocal t
        for yaw in yaws:
            run.feed(_nose_to(face, yaw), t)
            t += 0.1

    hold([0.0] * 5)
    hold([-0.1, -0.2, -0.25, -0.25, -0.2, -0.1, 0.0, 0.0])  # a glance the wrong way, under the bound
    assert run.outcome == Outcome.RUNNING and run.hint == ""
    wrong = [-0.1, -0.2, -0.3, *[-0.36] * 12, -0.2, -0.1, 0.0, 0.0]  # far, and held over a second
    hold(wrong)
    assert run.outcome == Outcome.RUNNING and run.hint == "other_way", "told the way once"
    hold(wrong)
    assert (run.outcome, run.reason) == (Outcome.FAILED, "wrong_action:direction")


def _nose_to(points: np.ndarray, yaw: float) -> np.ndarray:
    """Landmarks whose nose tip sits `yaw` face widths off the jaw's middle (Pose.yaw's measure)."""
    from kiosk.identity.liveness import JAW_LEFT, JAW_RIGHT, NOSE_TIP

    moved = points.copy()
    left, right = points[JAW_LEFT], points[JAW_RIGHT]
    width = float(np.linalg.norm(left - right))
    axis = (left - right) / width
    moved[NOSE_TIP] = (
        (left + right) / 2 + axis * yaw * width + (points[NOSE_TIP] - (left + right) / 2) @ np.array([[0, 0], [0, 1]])
    )
    return moved


@pytest.mark.parametrize("photo", PHOTOS)
def test_a_held_photo_never_passes(faces: DlibFaces, renderers: dict[str, FaceRenderer], photo: str) -> None:
    # one challenge that starts with a blink and one that starts with a turn; 6 s of frames each
    for seed, challenge in enumerate([ORDERS[0], ORDERS[-1]]):
        run = judge(faces, challenge, renderers[photo].held_print(int(FPS * 6), random.Random(seed)))
        assert run.outcome != Outcome.PASSED and run.step == 0, (photo, challenge, run.reason)
        assert run.best_parallax < run.settings.min_parallax, "a flat picture fits one homography"


def _still(r: FaceRenderer, frames: int) -> Iterable[np.ndarray]:
    return (r.frame(0) for _ in range(frames))


def test_swapping_prints_of_a_turned_face_does_not_pass_a_turn(
    faces: DlibFaces, renderers: dict[str, FaceRenderer]
) -> None:
    # a broker with two prints: the face looking ahead, then the same face turned left
    r = renderers[PHOTOS[1]]
    rng = random.Random(5)
    turned = r.frame(26)
    frames = itertools.chain(
        r.held_print(8, rng), *(itertools.chain(r.held_print(4, rng, turned), r.held_print(4, rng)) for _ in range(8))
    )
    run = judge(faces, (Action.TURN_LEFT, Action.BLINK_TWICE, Action.TURN_RIGHT), frames)
    assert run.outcome != Outcome.PASSED and run.step == 0, run.reason


def test_a_flat_picture_turned_hard_fails_on_parallax_alone() -> None:
    """Landmarks of a frontal face on a plane swung far round (as close to the camera as a hand can
    hold it): the nose does move off the jaw's middle, but every point stays on one homography."""
    from kiosk.identity.liveness import Pose, parallax

    rng = np.random.default_rng(0)
    face = _template_landmarks()
    run = ChallengeRun((Action.TURN_LEFT, Action.TURN_RIGHT, Action.BLINK_TWICE))
    t = 0.0
    for _ in range(3):
        run.feed(face + rng.normal(0, 0.3, face.shape), t)
        t += 0.1
    for degrees in [10, 20, 30, 40, 50, 55, 60, 60, 60, 60]:
        tilted = _swing(face, degrees) + rng.normal(0, 0.3, face.shape)
        run.feed(tilted, t)
        t += 0.1
    assert Pose.of(_swing(face, 60)).yaw - Pose.of(face).yaw > run.settings.turn_yaw, "the yaw cue alone is fooled"
    assert parallax(face, _swing(face, 60)) < 1e-3
    assert run.step == 0 and run.outcome == Outcome.RUNNING


def _template_landmarks() -> np.ndarray:
    """dlib's 68 points of a frontal face in the shared photo set, as a fixed array (no model needed)."""
    from kiosk.identity.dlibface import DlibFaces as Faces

    faces = Faces()
    rgb = faces.rgb(read(PHOTOS[1]))
    return faces.landmarks(rgb, faces.detect(rgb)[0])


def _swing(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points on a plane rotated about its vertical axis, seen in perspective from close by."""
    import math

    centre = points.mean(axis=0)
    a = math.radians(degrees)
    width = float(np.ptp(points[:, 0]))
    f = 1.1 * width  # the camera about one face width away
    x, y = points[:, 0] - centre[0], points[:, 1] - centre[1]
    z = f + x * math.sin(a)
    return np.column_stack([centre[0] + f * x * math.cos(a) / z, centre[1] + f * y / z])

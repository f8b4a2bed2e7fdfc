"""The liveness challenge on real footage (tests/data/face-clips: GRID speakers, CC BY 4.0), through the
kiosk's own tracker and landmarks: natural talking never fails a step, and the labelled blinks are the
ones counted; a frontal talker's turn reads about 0 degrees."""

from __future__ import annotations

import itertools
import random
import statistics
from pathlib import Path

import numpy as np
import pytest

from kiosk.bench.clips import Clip, ClipError, Seen, frames, observe, read_list
from kiosk.bench.face_prompted import PromptedPerson
from kiosk.bench.face_render import FPS, FaceRenderer
from kiosk.bench.liveness import blink_frames, natural
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.face_check import PROMPTS
from kiosk.identity.liveness import LivenessSettings, Pose

CLIPS = Path(__file__).parent / "data" / "face-clips"


@pytest.fixture(scope="module")
def faces() -> DlibFaces:
    return DlibFaces()


@pytest.fixture(scope="module")
def observed(faces: DlibFaces) -> list[tuple[Clip, list[Seen]]]:
    return [(clip, observe(faces, frames(clip.path))) for clip in read_list(CLIPS)]


def test_talking_never_fails_a_step_and_every_labelled_blink_counts(observed: list[tuple[Clip, list[Seen]]]) -> None:
    clips = [clip for clip, _ in observed]
    assert len(clips) >= 10 and len({c.person for c in clips}) >= 5
    labelled = found = false = runs = 0
    seconds = 0.0
    for clip, seen in observed:
        assert all(s.points is not None for s in seen), f"{clip.name}: the face is followed in every frame"
        seconds += seen[-1].t
        n = natural(clip, seen, LivenessSettings())
        assert n.failed == 0, (clip.name, n.reasons)
        runs += n.runs
        labelled, found, false = labelled + n.blinks_labelled, found + n.blinks_found, false + n.blinks_false
    assert runs >= 6 * len(clips)
    assert found == labelled >= 10
    # one false blink in these 33 s (bbaf2n's eyes half shut as he reads): 0.65 a minute over all 93 s
    # labelled (with the external set's franck clip, whose licence keeps it out of the repository)
    assert false <= 1, f"{false} false blinks in {seconds:.0f} s of talking"


def test_frontal_talkers_read_a_turn_of_about_zero_degrees(observed: list[tuple[Clip, list[Seen]]]) -> None:
    """Pose.yaw_deg has no fitted offset: frontal GRID talkers' clip medians are -6.4 to +4.1 degrees (each
    within 2.4 of what MediaPipe's face mesh reads on the same frames), their median +0.5."""
    medians = {
        clip.name: statistics.median(Pose.of(s.points).yaw_deg for s in seen if s.points is not None)
        for clip, seen in observed
    }
    assert all(abs(m) < 8 for m in medians.values()), medians
    assert abs(statistics.median(medians.values())) < 3, medians


def test_a_bad_clip_list_names_the_line_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "a.mpg").write_bytes(b"")
    (tmp_path / "clips.csv").write_text("file,class,person,order,blinks\na.mpg,honest,P,,-\n")
    with pytest.raises(ClipError, match=r"clips.csv:2: class 'honest' is not one of"):
        read_list(tmp_path)
    (tmp_path / "clips.csv").write_text("file,class,person,order,blinks\na.mpg,attack,P,turn_left,-\n")
    with pytest.raises(ClipError, match="needs its challenge order"):
        read_list(tmp_path)


def test_a_replayed_blink_is_the_clips_own_closure_at_the_cameras_rate(faces: DlibFaces) -> None:
    clip = next(c for c in read_list(CLIPS) if c.name == "grid_lipnet_pwij3p.mpg")
    assert clip.blinks == (1.44, 1.98)
    stream = list(frames(clip.path))
    blinks = blink_frames(stream, (*clip.blinks, 0.1, 2.95), FPS)  # 0.1 and 2.95: their span leaves the clip
    assert len(blinks) == 2
    for middle, blink in zip(clip.blinks, blinks, strict=True):
        at = [middle + k / FPS for k in range(-2, 4)]
        assert [id(f) for f in blink] == [id(min(stream, key=lambda s: abs(s[0] - t))[1]) for t in at]
        ears = [
            Pose.of(s.points).ear
            for s in observe(faces, iter([(k / FPS, f) for k, f in enumerate(blink)]))
            if s.points is not None
        ]
        assert len(ears) == len(blink)
        assert min(ears) <= 0.75 * ears[0], f"{middle}: the lids close in the replayed frames ({ears})"


def test_a_rendered_person_blinks_the_clips_real_blinks(faces: DlibFaces) -> None:
    clip = next(c for c in read_list(CLIPS) if c.name == "grid_lipnet_brbk7n.mpg")
    stream = list(frames(clip.path))
    real = blink_frames(stream, clip.blinks or (), FPS)
    assert len(real) == 1
    renderer = FaceRenderer(stream[0][1], faces, real)
    shown = [renderer.framed(f) for f in real[0]]
    for i in (0, 1, 2):  # the one labelled blink is replayed for every blink
        assert all(np.array_equal(a, b) for a, b in zip(renderer.blink(i), shown, strict=True))
    assert len(FaceRenderer(stream[0][1], faces).blink(0)) == 5  # no real blink: rendered lids


def test_a_prompted_person_turns_further_when_a_turn_is_not_taken(faces: DlibFaces) -> None:
    """sbwe5n's rendered face read 0.14 of the 0.15 a turn needs at 21.9 degrees, again and again: a person
    who sees the prompt still there turns further, at the same speed."""
    renderer = FaceRenderer(next(f for _, f in frames(CLIPS / "grid_lipnet_sbwe5n.mpg")), faces)
    turned: list[float] = []

    def pose(degrees: float = 0.0, eyes_closed: bool = False) -> np.ndarray:
        turned.append(degrees)
        return renderer.photo

    renderer.frame = pose  # type: ignore[method-assign]
    person = PromptedPerson(renderer, random.Random(3))
    person.prompt(PROMPTS["turn_left"])  # and never taken: the prompt stays
    for n in range(1, 120):  # 12 s: four answers
        person.frame(n / FPS)
    turns = [list(g) for big, g in itertools.groupby(turned, key=lambda d: abs(d) > 1.5) if big]
    a = person.amplitude
    assert [round(max(t), 6) for t in turns[:4]] == [round(a + k, 6) for k in (0, 8, 16, 16)]
    assert all(abs(t[0]) <= a / 4 + 1e-6 for t in turns), "further turns at the same speed, not in one jump"

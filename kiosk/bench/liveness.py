"""`kiosk bench liveness DIR`: the liveness challenge on labelled clips (DIR/clips.csv, see
kiosk.bench.clips), measured as ISO/IEC 30107-3 counts it.

- honest_natural clips (people talking, moving, blinking, nobody asked anything): the challenge is started
  at every second of the clip in each of the six orders; a step that fails (not a timeout) is an honest
  person wrongly failed, and one within `EARLY_S` of its step's start breaks the goal. Where a clip's
  blinks are labelled, the blinks counted are matched to them (within `BLINK_MATCH_S`).
- honest_prompted clips, and honest people rendered from each natural clip's own frames doing the asked
  challenge (kiosk.bench.face_render), played as a live camera through the real LiveFaceVerifier with a
  fixed order: BPCER is the share not passed. The rendered person is the clip's largest frontal frame:
  its turns are that photo warped onto a generic head; its blinks are the clip's own frames around a
  labelled blink (`blink_frames`: the real closure and reopening at the camera's 10 frames a second, one
  labelled blink replayed for both), and rendered lids only where the clip has no labelled blink.
- attack clips, and attacks rendered from each natural clip's frames (its face as a print held and moved,
  and as a print filmed with blur, glare, noise and perspective), played the same way: APCER is the share
  passed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.bench.clips import Clip, Seen, frames, observe, read_list
from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.eyes import Eyes
from kiosk.identity.face import Prompt, silent
from kiosk.identity.face_check import LiveFaceVerifier
from kiosk.identity.liveness import Action, ChallengeRun, LivenessSettings, Outcome, Pose

ORDERS = list(itertools.permutations(Action))
EARLY_S = 5.0  # an honest step may time out, never fail, this soon
BLINK_MATCH_S = 0.4
MAX_STARTS = 60  # natural clips: challenge starts per order at most (one a second)
BLINK_BEFORE_S, BLINK_AFTER_S = 0.2, 0.3  # a real blink replayed: its frames this long either side of its middle


@dataclass
class Natural:
    """One natural clip's runs: how many, how each ended, the failures, the blinks."""

    runs: int = 0
    passed_steps: int = 0
    timeouts: int = 0
    failed: int = 0
    failed_early: int = 0
    reasons: dict[str, int] | None = None
    blinks_labelled: int = 0
    blinks_found: int = 0
    blinks_false: int = 0
    labelled_s: float = 0.0


def natural(clip: Clip, seen: list[Seen], settings: LivenessSettings) -> Natural:
    """Start the challenge at every second of the clip in every order; count how the runs end."""
    out = Natural(reasons={})
    fps = (len(seen) - 1) / seen[-1].t if len(seen) > 1 and seen[-1].t > 0 else 25.0
    starts = range(0, len(seen), max(1, round(fps)))
    for order, start in itertools.product(ORDERS, list(starts)[:MAX_STARTS]):
        run = ChallengeRun(order, settings)
        for s in seen[start:]:
            step_started = run.step_started
            outcome = run.lost(s.t) if s.points is None else run.feed(s.points, s.t)
            if outcome == Outcome.FAILED and not run.reason.startswith("timeout"):
                out.failed += 1
                out.failed_early += int(step_started is not None and s.t - step_started < EARLY_S)
                assert out.reasons is not None
                out.reasons[run.reason] = out.reasons.get(run.reason, 0) + 1
            if outcome != Outcome.RUNNING:
                break
        out.runs += 1
        out.passed_steps += run.step
        out.timeouts += int(run.reason.startswith("timeout"))
    if clip.blinks is not None:
        span = clip.labelled_s if clip.labelled_s is not None else float("inf")
        found = [t for t in count_blinks(seen, settings) if t <= span + BLINK_MATCH_S]
        hits = matched(clip.blinks, found)
        out.blinks_labelled, out.blinks_found, out.blinks_false = len(clip.blinks), hits, len(found) - hits
        out.labelled_s = min(span, seen[-1].t if seen else 0.0)
    return out


def matched(labelled: tuple[float, ...], found: list[float]) -> int:
    """How many labelled blinks a found one answers, each found blink answering one label at most (a blink is
    found when it ends: up to BLINK_MATCH_S after the labelled middle of the closure)."""
    free = sorted(found)
    hits = 0
    for label in sorted(labelled):
        near = [f for f in free if -0.1 <= f - label <= BLINK_MATCH_S]
        if near:
            free.remove(near[0])
            hits += 1
    return hits


def count_blinks(seen: list[Seen], settings: LivenessSettings) -> list[float]:
    """When blinks ended, by the challenge's own eye rule, over a whole clip: eyes measured while the head
    is within `turn_yaw` of a frontal pose that follows the person, as ChallengeRun does."""
    eyes = Eyes(settings.eyes)
    frontal: float | None = None
    found = []
    for s in seen:
        if s.points is None:
            eyes.lost()
            continue
        pose = Pose.of(s.points)
        frontal = pose.yaw if frontal is None else frontal
        rel = pose.yaw - frontal
        if abs(rel) < settings.neutral_yaw:
            frontal += settings.follow * rel
        if abs(rel) >= settings.turn_yaw:
            eyes.lost()
        elif eyes.feed(pose.ear_right, pose.ear_left, (pose.width, *pose.centre), s.t, abs(rel) < settings.neutral_yaw):
            found.append(s.t)
    return found


class ClipCamera:
    """A clip played as the kiosk's live camera: each call gives the next frame and moves the clock on by
    one frame; after the last frame, time runs on fast with no frame, so the face check's deadline comes."""

    def __init__(self, stream: list[tuple[float, np.ndarray]]) -> None:
        self.stream = stream
        self.i = 0
        self.now = 0.0

    def frame(self) -> np.ndarray | None:
        if self.i >= len(self.stream):
            self.now += 1.0
            return None
        t, frame = self.stream[self.i]
        self.now, self.i = t, self.i + 1
        return frame

    def clock(self) -> float:
        return self.now


def _checked(
    faces: DlibFaces,
    camera: Any,
    timeout_s: float,
    template: Any,
    order: tuple[Action, ...],
    prompt: Prompt = silent,
) -> dict[str, Any]:
    """One face check by the real LiveFaceVerifier on `camera` (its frame() and clock()) with a fixed
    challenge `order`, against `template`; the outcome as the bench reports it."""
    verifier = LiveFaceVerifier(faces, timeout_s=timeout_s, challenge=lambda: order, clock=camera.clock)
    verifier.attach(camera.frame, lambda card_id: template)
    result = verifier.verify("bench", prompt)
    return {"live": result.live, "match": result.match, "reason": result.reason, "distance": round(result.score, 3)}


def played(faces: DlibFaces, stream: list[tuple[float, np.ndarray]], order: tuple[Action, ...]) -> dict[str, Any]:
    """A clip through the real LiveFaceVerifier as a live camera, the template its own first face."""
    sample = stream[:: max(1, len(stream) // 10)]
    template = next((t for t in (faces.enrol(f) for _, f in sample) if t is not None), None)
    if template is None:
        return {"live": False, "match": False, "reason": "no_face_in_clip"}
    return _checked(faces, ClipCamera(stream), stream[-1][0] + 2.0, template, order)


Stream = list[tuple[float, np.ndarray]]


def played_prompted(faces: DlibFaces, person: Any, order: tuple[Action, ...]) -> dict[str, Any]:
    """A rendered honest person who reacts to the prompts (kiosk.bench.face_prompted.PromptedPerson) through
    the real LiveFaceVerifier, the template their own frontal photo."""
    from kiosk.bench.face_prompted import PromptedCamera

    camera = PromptedCamera(person)
    template = faces.enrol(person.r.photo)
    if template is None:
        return {"live": False, "match": False, "reason": "no_face_in_clip"}
    outcome = _checked(faces, camera, camera.seconds + 2.0, template, order, person.prompt)
    return {**outcome, "seconds": round(camera.now, 1)}


def blink_frames(
    stream: Iterable[tuple[float, np.ndarray]], blinks: tuple[float, ...], fps: float
) -> list[list[np.ndarray]]:
    """Each labelled blink's own frames, from `BLINK_BEFORE_S` before its middle to `BLINK_AFTER_S` after,
    resampled to `fps` on a grid through the middle (the clip's frame nearest each time), so the closure
    and the reopening are there as the camera saw them; a blink whose span leaves the clip is skipped.
    Only the frames near a blink are kept (a clip may be minutes long)."""
    if not blinks:
        return []
    grids = [[m + k / fps for k in range(-round(BLINK_BEFORE_S * fps), round(BLINK_AFTER_S * fps) + 1)] for m in blinks]
    near: list[tuple[float, np.ndarray]] = []
    first: float | None = None
    last: float | None = None
    for t, frame in stream:
        first, last = t if first is None else first, t
        if any(g[0] - 0.5 <= t <= g[-1] + 0.5 for g in grids):
            near.append((t, frame))
    if first is None or last is None or not near:
        return []
    times = np.array([t for t, _ in near])
    return [[near[int(np.abs(times - t).argmin())][1] for t in g] for g in grids if first <= g[0] and g[-1] <= last]


def rendered(
    faces: DlibFaces, clip: Clip, seen: list[Seen], rng: random.Random
) -> list[tuple[str, tuple[Action, ...], Any]]:
    """(kind, order, stream) of the attacks made from a natural clip's largest frontal frame
    (kiosk.bench.face_render), and (kind, order, person) of the honest person who follows the prompts;
    none if the clip has no such frame."""
    from kiosk.bench.face_prompted import PromptedPerson
    from kiosk.bench.face_render import FPS, FaceRenderer, filmed_print

    frontal = [s for s in seen if s.points is not None and s.detected and abs(Pose.of(s.points).yaw) < 0.06]
    if not frontal:
        return []
    best = max(frontal, key=lambda s: s.width)
    photo = next(f for t, f in frames(clip.path) if t >= best.t)
    try:
        renderer = FaceRenderer(photo, faces, blink_frames(frames(clip.path), clip.blinks or (), FPS))
    except ValueError:  # no face the renderer can build a head from
        return []

    def timed(fs: Any) -> Stream:
        return [(i / FPS, f) for i, f in enumerate(fs)]

    def order() -> tuple[Action, ...]:
        return ORDERS[rng.randrange(len(ORDERS))]

    return [
        ("honest_prompted", order(), PromptedPerson(renderer, random.Random(rng.randrange(1 << 30)))),
        ("attack:held_print", order(), timed(renderer.held_print(int(12 * FPS), rng))),
        ("attack:filmed_print", order(), timed(filmed_print(renderer.held_print(int(12 * FPS), rng), rng))),
    ]


def run(folder: Path, seed: int = 1, settings: LivenessSettings | None = None) -> dict[str, Any]:
    """Every clip of `folder`, and the renders made from its natural clips; per clip and per class."""
    settings = settings or LivenessSettings()
    faces = DlibFaces()
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    ms: list[float] = []
    for clip in read_list(folder):
        seen = observe(faces, frames(clip.path))
        ms += [s.ms for s in seen]
        row: dict[str, Any] = {"clip": clip.name, "class": clip.kind, "person": clip.person, "frames": len(seen)}
        row["face_frames"] = sum(s.points is not None for s in seen)
        row["seconds"] = round(seen[-1].t, 2) if seen else 0.0
        if clip.kind == "honest_natural":
            row["natural"] = natural(clip, seen, settings).__dict__
            for kind, order, stream in rendered(faces, clip, seen, rng):
                honest = kind == "honest_prompted"
                outcome = played_prompted(faces, stream, order) if honest else played(faces, stream, order)
                rows.append(
                    {"clip": f"{clip.name} [{kind}, rendered]", "class": "honest_prompted" if honest else "attack",
                     "person": clip.person, "frames": round(outcome["seconds"] * 10) if honest else len(stream),
                     "order": [a.value for a in order], "played": outcome}
                )  # fmt: skip
        else:
            stream = list(frames(clip.path))
            row |= {"order": [a.value for a in clip.order], "played": played(faces, stream, clip.order)}
        rows.append(row)
    return summarise(rows, ms, seed)


def summarise(rows: list[dict[str, Any]], ms: list[float], seed: int) -> dict[str, Any]:
    """Per class: natural runs and their failures, blinks found and false; BPCER and APCER; frame times."""
    nat = [r["natural"] for r in rows if "natural" in r]
    minutes = sum(r["seconds"] for r in rows if "natural" in r) / 60.0
    prompted = [r for r in rows if r["class"] == "honest_prompted"]
    attacks = [r for r in rows if r["class"] == "attack"]
    labelled = sum(n["blinks_labelled"] for n in nat)
    false_blinks = sum(n["blinks_false"] for n in nat)
    labelled_minutes = sum(n["labelled_s"] for n in nat) / 60.0
    return {
        "seed": seed,
        "clips": rows,
        "natural": {
            "clips": len(nat),
            "runs": sum(n["runs"] for n in nat),
            "failed": sum(n["failed"] for n in nat),
            "failed_within_5s": sum(n["failed_early"] for n in nat),
            "minutes": round(minutes, 1),
            "blinks_labelled": labelled,
            "blinks_found": sum(n["blinks_found"] for n in nat),
            "blinks_false": false_blinks,
            "false_blinks_per_minute": round(false_blinks / labelled_minutes, 2) if labelled_minutes else None,
        },
        "bpcer": _rate([not r["played"]["live"] for r in prompted]),
        "apcer": _rate([r["played"]["live"] for r in attacks]),
        "prompted": len(prompted),
        "attacks": len(attacks),
        "frame_ms": {"median": round(float(np.median(ms)), 1), "p95": round(float(np.percentile(ms, 95)), 1)}
        if ms
        else None,
    }


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def report(r: dict[str, Any]) -> str:
    """The per-clip table, then the per-class figures."""
    lines = [f"{'clip':<52}{'class':<17}{'frames':>7}  outcome"]
    for c in r["clips"]:
        if "natural" in c:
            n = c["natural"]
            what = f"{n['runs']} runs: {n['failed']} failed ({n['failed_early']} within 5 s), {n['timeouts']} timed out"
            if n["labelled_s"]:
                what += f"; blinks {n['blinks_found']}/{n['blinks_labelled']}, {n['blinks_false']} false"
        else:
            p = c["played"]
            what = f"{'LIVE' if p['live'] else 'not live'} {p['reason'] or ''} ({' '.join(c['order'])})"
        lines.append(f"{c['clip'][:51]:<52}{c['class']:<17}{c['frames']:>7}  {what}")
    n = r["natural"]
    lines += [
        "",
        f"honest natural: {n['clips']} clips, {n['minutes']} min, {n['runs']} challenge starts: {n['failed']} steps "
        f"failed, {n['failed_within_5s']} within 5 s",
        f"blinks: {n['blinks_found']} of {n['blinks_labelled']} labelled found, {n['blinks_false']} false "
        f"({n['false_blinks_per_minute']} per labelled minute)",
        f"BPCER (honest following prompts, {r['prompted']}): {_pct(r['bpcer'])}",
        f"APCER (attacks, {r['attacks']}): {_pct(r['apcer'])}",
        f"per frame (tracking and landmarks): {r['frame_ms']}",
    ]
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"

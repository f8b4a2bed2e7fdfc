"""Rendered face sequences for the liveness tests, made from one real frontal photo.

- A head turn: each of dlib's 68 landmarks gets a depth from a generic face profile (the nose tip well in
  front of the eyes, the jaw's ends far behind), the points are rotated about the vertical axis, and the
  photo is warped piecewise-affinely onto them. The nose moves against the cheeks as on a real head.
- A blink: where the photo's clip has labelled blinks (FaceRenderer's `blinks`), the clip's own frames
  around one (the real closure and reopening, framed as the photo is; kiosk.bench.liveness picks them).
  Otherwise the upper lids' landmarks slid down onto the lower ones and the photo warped onto them; dlib
  reads such an eye at 0.42-0.81 of its open EAR, a shallower dip than a real blink's 0.35-0.6, so a
  rendered blink can be missed by a rule tuned on real ones.
- A held print: the whole photo moved, scaled, rotated in-plane and tilted in perspective (up to 35
  degrees about the vertical axis), as a hand would hold a photo in front of the camera.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from kiosk.identity.dlibface import DlibFaces
from kiosk.identity.liveness import Action, Pose

FPS = 10.0


def _depth(width: float) -> np.ndarray:
    """A depth (toward the camera) for each of the 68 landmarks, in pixels, for a face `width` wide."""
    z = np.zeros(68)
    for i in range(17):  # jaw: ends far back, chin a little forward
        z[i] = -0.38 + 0.43 * (1 - abs(i - 8) / 8) ** 1.5
    z[17:27] = 0.04  # brows
    z[27:31] = [0.08, 0.13, 0.19, 0.27]  # bridge to tip
    z[31:36] = [0.12, 0.16, 0.19, 0.16, 0.12]
    z[36:48] = 0.0
    z[[36, 45]] = -0.05
    z[[39, 42]] = 0.02
    z[48:68] = 0.11
    z[[48, 54, 60, 64]] = 0.06
    return z * width


class FaceRenderer:
    """Frames of one person from a frontal photo: turned, blinking, or as a held print. `blinks`: real
    blinks of the same person, each a sequence of frames at FPS from the photo's own clip (same camera,
    same size), from before the lids close until after they open; `blink` plays them instead of rendered
    lids."""

    def __init__(self, photo: np.ndarray, faces: DlibFaces, blinks: Sequence[Sequence[np.ndarray]] = ()) -> None:
        # as at a kiosk: the face fills much of a 640x640 frame
        box = faces.detect(faces.rgb(photo))[0]
        self._crop = ((box.left + box.right) // 2, (box.top + box.bottom) // 2, int(box.width * 2.4))
        self.photo = self.framed(photo)
        self.faces = faces
        self.blinks = [[self.framed(f) for f in blink] for blink in blinks]
        rgb = faces.rgb(self.photo)
        box = faces.detect(rgb)[0]
        self.points = faces.landmarks(rgb, box)
        self.width = float(np.linalg.norm(self.points[16] - self.points[0]))
        self.z = _depth(self.width)
        h, w = self.photo.shape[:2]
        centre = self.points.mean(axis=0)
        # the forehead and a ring beyond the jaw move with the head; the frame's border stays
        brow_up = self.points[17:27] - np.array([0, 0.28 * self.width])
        ring = centre + (self.points[0:17] - centre) * 1.18
        self.extra = np.vstack([brow_up, ring])
        self.extra_z = np.concatenate([np.full(10, 0.0), np.full(17, -0.45 * self.width)])
        border = [(x, y) for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1) if (x, y) != (w / 2, h / 2)]
        self.border = np.array(border, dtype=np.float64)
        self.centre = centre
        self._triangles: list[tuple[int, int, int]] | None = None
        self._lids: str | None = None  # how shut lids are drawn (_lids_that_read_shut)

    def framed(self, frame: np.ndarray) -> np.ndarray:
        """A frame of the photo's camera cut and scaled as the photo is (the photo's face box, 2.4 times its
        width, to 640x640)."""
        cx, cy, side = self._crop
        padded = cv2.copyMakeBorder(frame, side, side, side, side, cv2.BORDER_REPLICATE)
        crop = padded[cy + side - side // 2 : cy + side + side // 2, cx + side - side // 2 : cx + side + side // 2]
        return cv2.resize(crop, (640, 640), interpolation=cv2.INTER_AREA)

    # -- geometry ---------------------------------------------------------------------------

    def _layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Every control point (landmarks, forehead and ring, the frame's border) and its depth."""
        src = np.vstack([self.points, self.extra, self.border])
        z = np.concatenate([self.z, self.extra_z, np.full(len(self.border), -self.width)])
        return src, z

    def _mesh(self) -> list[tuple[int, int, int]]:
        """Triangles over the frontal layout (Delaunay on the source points, computed once): the same
        triangles are drawn however the head turns, so a turn never re-triangulates (shut lids do: _shut_drawn)."""
        if self._triangles is None:
            self._triangles = self._delaunay(self._layout()[0])
        return self._triangles

    def landmarks(self, degrees: float) -> np.ndarray:
        """Where the 68 landmarks are drawn for the head turned by `degrees` (> 0: to the person's left)."""
        return self._turned(degrees)[1][:68]

    def _turned(self, degrees: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source points, where they go, their depth) for the head turned by `degrees` about the
        vertical axis; the frame's border stays."""
        a = math.radians(degrees)
        src, z = self._layout()
        dst = src.copy()
        moving = len(src) - len(self.border)
        dst[:moving, 0] = self.centre[0] + (src[:moving, 0] - self.centre[0]) * math.cos(a) + z[:moving] * math.sin(a)
        depth = z.copy()
        depth[:moving] = z[:moving] * math.cos(a) - (src[:moving, 0] - self.centre[0]) * math.sin(a)
        return src, dst, depth

    def _warp(
        self, src: np.ndarray, dst: np.ndarray, depth: np.ndarray, mesh: list[tuple[int, int, int]] | None = None
    ) -> np.ndarray:
        """The photo warped triangle by triangle from `src` onto `dst`, the farthest triangles first, so the
        near cheek covers the far one as on a turned head (a painter's order, no folds or tears)."""
        image = self.photo
        h, w = image.shape[:2]
        out = image.copy()
        order = sorted(self._mesh() if mesh is None else mesh, key=lambda t: float(depth[list(t)].mean()))
        for ids in order:
            s, d = src[list(ids)].astype(np.float32), dst[list(ids)].astype(np.float32)
            x, y, bw, bh = cv2.boundingRect(np.round(d).astype(np.int32))
            x, y = max(x, 0), max(y, 0)
            bw, bh = min(bw, w - x), min(bh, h - y)
            if bw <= 0 or bh <= 0:
                continue
            (ax, ay), (bx, by) = d[1] - d[0], d[2] - d[0]
            if abs(float(ax * by - ay * bx)) < 1e-3:
                continue  # a triangle squashed flat (a shut eye's opening) covers nothing
            m = cv2.getAffineTransform(s, d - np.array([x, y], np.float32))
            patch = cv2.warpAffine(image, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            mask = np.zeros((bh, bw), np.uint8)
            cv2.fillConvexPoly(mask, np.round(d - np.array([x, y], np.float32)).astype(np.int32), 255)
            region = out[y : y + bh, x : x + bw]
            region[mask > 0] = patch[mask > 0]
        return out

    @staticmethod
    def _lids_down(points: np.ndarray, share: float = 0.95) -> np.ndarray:
        """The landmarks with each upper eyelid slid `share` of the way down onto the lower one."""
        moved = points.copy()
        for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
            moved[upper] = points[upper] + (points[lower] - points[upper]) * share
        return moved

    # -- frames -------------------------------------------------------------------------------

    def frame(self, degrees: float = 0.0, eyes_closed: bool = False) -> np.ndarray:
        """The face turned by `degrees` (> 0: to the person's left), eyes open or shut (the upper lids'
        skin slides down over the eyes, as in a blink)."""
        src, dst, depth = self._turned(degrees)
        if not degrees and not eyes_closed:
            return self.photo.copy()
        if not eyes_closed:
            return self._warp(src, dst, depth)
        dst[:68] = self._lids_down(dst[:68])
        if self._lids is None:
            self._lids = self._lids_that_read_shut()
        return self._shut_drawn(self._lids, src, dst, depth)

    def _shut_drawn(self, style: str, src: np.ndarray, dst: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Shut lids drawn one of three ways: the lid skin re-triangulated over the eye ("skin"), that and
        the lash line along the lower lid ("lash"), or the fixed mesh with the slit covered by skin from
        below the eye ("cover")."""
        if style == "cover":
            return self._shut(self._warp(src, dst, depth), dst[:68])
        out = self._warp(src, dst, depth, self._delaunay(dst))
        if style == "lash":
            for eye in (slice(36, 42), slice(42, 48)):
                pts = dst[eye]
                thick = max(1, round(float(pts[:, 0].max() - pts[:, 0].min()) / 12))
                cv2.polylines(
                    out, [np.round(pts[[0, 5, 4, 3]]).astype(np.int32)], False, (40, 35, 35), thick, cv2.LINE_AA
                )
        return out

    def _lids_that_read_shut(self) -> str:
        """The way of drawing shut lids (`_shut_drawn`) that this photo's landmarks read as most shut,
        frontal, at the kiosk's detection scale; chosen once per photo from the rendering alone (no
        prompt, no verifier state). A still photo has no real lid: each way leaves the landmarks on an
        open eye on some photos (measured on the test photos: 0.42-0.81 of open)."""
        src, dst, depth = self._turned(0.0)
        dst[:68] = self._lids_down(dst[:68])
        openness = {}
        for style in ("skin", "lash", "cover"):
            rgb = self.faces.rgb(self._shut_drawn(style, src, dst, depth))
            boxes = self.faces.detect(rgb, side=480, upsample=0)
            openness[style] = Pose.of(self.faces.landmarks(rgb, boxes[0])).ear if boxes else 1.0
        return min(openness, key=lambda k: openness[k])

    def _delaunay(self, points: np.ndarray) -> list[tuple[int, int, int]]:
        """Triangles over `points` where they are drawn: with the lids down the lid skin's triangles
        re-form over the eye (the fixed mesh would keep a squashed slit of the open eye)."""
        h, w = self.photo.shape[:2]
        subdiv = cv2.Subdiv2D((0, 0, w, h))
        index = {}
        for i, (x, y) in enumerate(points):
            px, py = float(min(max(x, 0), w - 1)), float(min(max(y, 0), h - 1))
            index[(round(px, 3), round(py, 3))] = i
            subdiv.insert((px, py))
        triangles = []
        for tri in subdiv.getTriangleList():
            pts = [(round(float(tri[k]), 3), round(float(tri[k + 1]), 3)) for k in (0, 2, 4)]
            if all(q in index for q in pts):
                a, b, c = (index[q] for q in pts)
                triangles.append((a, b, c))
        return triangles

    @staticmethod
    def _shut(image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """A shut eye's look over what the warp left: the slit between the lids and the lashes around it
        covered with the skin just below the eye (mirrored), and the lash line drawn along the lower lid."""
        out = image.copy()
        h, w = out.shape[:2]
        for eye in (slice(36, 42), slice(42, 48)):
            pts = points[eye]
            x0, x1 = float(pts[:, 0].min()), float(pts[:, 0].max())
            cy = float(pts[:, 1].mean())
            ew = x1 - x0
            top, bottom = int(cy - 0.5 * ew), int(cy + 0.2 * ew)
            left, right = int(x0 - 0.3 * ew), int(x1 + 0.3 * ew) + 1
            span = bottom - top
            gap = int(0.05 * ew)  # below the lower lashes
            if span <= 0 or top < 0 or left < 0 or right > w or bottom + gap + span > h:
                continue
            skin = out[bottom + gap : bottom + gap + span, left:right][::-1].astype(np.float32)
            mask = np.zeros((span, right - left), np.float32)
            cv2.ellipse(
                mask,
                ((right - left) // 2, span // 2),
                (int(0.36 * (right - left)), int(0.3 * span)),
                0,
                0,
                360,
                1.0,
                -1,
            )
            soft = cv2.GaussianBlur(mask, (0, 0), max(1.0, span / 8))[..., None]
            region = out[top:bottom, left:right].astype(np.float32)
            out[top:bottom, left:right] = (soft * skin + (1 - soft) * region).astype(np.uint8)
            lash = np.round(pts[[0, 5, 4, 3]]).astype(np.int32)  # the outer corner, the lower lid, the inner
            colour = tuple(int(c) for c in np.percentile(image[top:bottom, left:right].reshape(-1, 3), 3, axis=0))
            cv2.polylines(out, [lash], False, colour, 1, cv2.LINE_AA)
        return out

    def blink(self, i: int) -> list[np.ndarray]:
        """The frames of the person's `i`-th blink: the real blinks in turn (one real blink is replayed for
        every blink), or without them the rendered lids shut for 0.2 s and open for 0.3 s."""
        if self.blinks:
            return [f.copy() for f in self.blinks[i % len(self.blinks)]]
        shut = self.frame(0.0, eyes_closed=True)
        return [shut, shut.copy(), *(self.photo.copy() for _ in range(3))]

    def perform(self, actions: tuple[Action, ...], rng: random.Random) -> Iterator[np.ndarray]:
        """A person doing `actions`, with a little natural sway."""
        yield from (self.frame(rng.uniform(-1.5, 1.5)) for _ in range(5))
        for action in actions:
            if action == Action.BLINK_TWICE:
                for closed in [False, True, True, True, False, False, False, True, True, True, False, False, False]:
                    sway = rng.uniform(-0.5, 0.5)  # none while shut: warped half a degree, some lids read open
                    yield self.frame(0.0 if closed else sway, eyes_closed=closed)
            else:
                sign = 1 if action == Action.TURN_LEFT else -1
                # held 0.6 s at 20 degrees: beyond about 22 some photos' landmarks stop following the
                # warp (a still photo has no far cheek; PromptedPerson turns 20-30 and is re-prompted)
                for deg in [6, 12, 16, 20, 20, 20, 20, 20, 20, 16, 10, 3, 0, 0]:
                    yield self.frame(sign * deg)

    def held_print(self, frames: int, rng: random.Random, picture: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """The photo (or `picture`) as a print in a hand: moved, scaled, rotated and tilted a little
        differently each frame."""
        photo = self.photo if picture is None else picture
        h, w = photo.shape[:2]
        background = np.full((h, w, 3), (120, 125, 130), np.uint8)
        yaw = 0.0
        for i in range(frames):
            yaw = max(-35.0, min(35.0, yaw + rng.uniform(-6, 6) if i > 3 else 0.0))
            pitch = rng.uniform(-8, 8)
            scale = rng.uniform(0.85, 1.05)
            roll = rng.uniform(-10, 10)
            shift = (rng.uniform(-30, 30), rng.uniform(-20, 20))
            hmat = _plane_pose(w, h, yaw, pitch, roll, scale, shift)
            frame = cv2.warpPerspective(photo, hmat, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), hmat, (w, h))
            out = background.copy()
            out[mask > 0] = frame[mask > 0]
            yield cv2.GaussianBlur(out, (3, 3), 0)


def filmed_print(held: Iterator[np.ndarray], rng: random.Random) -> Iterator[np.ndarray]:
    """A held print as a camera films it: glare that stays where the light is while the print moves, motion
    blur, sensor noise, lower contrast and JPEG compression."""
    glare_x, glare_y = rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.5)
    for frame in held:
        h, w = frame.shape[:2]
        out = frame.astype(np.float32) * rng.uniform(0.75, 0.9) + rng.uniform(10, 30)
        yy, xx = np.mgrid[0:h, 0:w]
        spot = np.exp(-(((xx - glare_x * w) / (0.18 * w)) ** 2 + ((yy - glare_y * h) / (0.12 * h)) ** 2))
        out += (120 * spot)[..., None]
        length = rng.choice((1, 3, 5))
        if length > 1:
            kernel = np.zeros((length, length), np.float32)
            kernel[length // 2, :] = 1.0 / length
            out = np.asarray(cv2.filter2D(out, -1, kernel), np.float32)
        out += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 4, out.shape)
        ok, jpeg = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
        decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
        yield frame if decoded is None else decoded


def _plane_pose(
    w: int, h: int, yaw: float, pitch: float, roll: float, scale: float, shift: tuple[float, float]
) -> np.ndarray:
    """The homography of a flat picture turned by yaw/pitch/roll degrees, seen by a camera ~1.2 widths away."""
    f = 1.2 * w
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    ry, rp, rr = (math.radians(a) for a in (yaw, pitch, roll))
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(rp), -math.sin(rp)], [0, math.sin(rp), math.cos(rp)]])
    rot_z = np.array([[math.cos(rr), -math.sin(rr), 0], [math.sin(rr), math.cos(rr), 0], [0, 0, 1]])
    r = rot_z @ rot_x @ rot_y
    # plane z = 0 in picture coordinates centred on the image, placed at distance f/scale in front of the camera
    t = np.array([shift[0], shift[1], f / scale])
    to_centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    plane = np.column_stack([r[:, 0], r[:, 1], t])
    return k @ plane @ to_centre

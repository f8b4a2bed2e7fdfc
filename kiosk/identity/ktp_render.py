"""KTP-like cards for the OCR benchmark and the demo camera: the layout of an Indonesian identity card
(province and city header, "NIK :" and the number in large bold type, the personal fields, a photo box),
placed in a camera frame at a degradation level. Nothing here is a real person's card."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.identity.nik import make_nik
from kiosk.identity.regions import load_regions

CARD_W, CARD_H = 856, 540  # 85.6 x 54 mm at 10 px/mm
# where the NIK's digits sit on the card (fractions of width and height): the reader crops this band
NIK_BOX = (0.215, 0.165, 0.78, 0.285)
LEVELS = ("clean", "worn", "handheld", "poor")


def random_nik(rng: random.Random) -> str:
    """A NIK that passes validation: an existing district, a real birth date, a serial."""
    districts = sorted(load_regions().districts)
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    return make_nik(rng.choice(districts), born, rng.random() < 0.5, rng.randrange(1, 9999))


@dataclass(frozen=True)
class Degradation:
    """How rough the camera's view is."""

    blur: float  # Gaussian sigma, pixels
    noise: float  # Gaussian noise sigma, grey levels
    jpeg: int  # JPEG quality
    tilt: float  # perspective, degrees either way
    roll: float  # in-plane rotation, degrees either way
    light: tuple[float, float]  # brightness gain range
    scale: tuple[float, float]  # card width as a share of the frame width


DEGRADATIONS = {
    "clean": Degradation(0.0, 0.0, 95, 0.0, 0.0, (1.0, 1.0), (0.62, 0.62)),
    "worn": Degradation(0.8, 4.0, 80, 3.0, 2.0, (0.85, 1.05), (0.55, 0.65)),
    "handheld": Degradation(1.2, 6.0, 60, 8.0, 5.0, (0.7, 1.1), (0.5, 0.65)),
    "poor": Degradation(1.8, 9.0, 40, 12.0, 8.0, (0.5, 1.2), (0.45, 0.6)),
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)  # Pillow's own scalable font: no system fonts needed


def render_card(nik: str, rng: random.Random) -> np.ndarray:
    """A flat KTP-like card (BGR, CARD_W x CARD_H) with `nik` printed where a KTP prints it."""
    base = np.zeros((CARD_H, CARD_W, 3), np.uint8)
    for y in range(CARD_H):  # the pale blue-to-white wash of the card
        t = y / CARD_H
        base[y, :] = (int(235 - 30 * t), int(215 - 10 * t), int(175 + 40 * t))
    img = Image.fromarray(cv2.cvtColor(base, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(img)
    header, small, big = _font(30), _font(24), _font(46)
    draw.text((CARD_W / 2, 30), "PROVINSI NUSA TENGGARA TIMUR", fill=(20, 20, 20), font=header, anchor="mm")
    draw.text((CARD_W / 2, 64), "KOTA KUPANG", fill=(20, 20, 20), font=header, anchor="mm")
    y_nik = int(CARD_H * (NIK_BOX[1] + NIK_BOX[3]) / 2)
    draw.text((40, y_nik), "NIK", fill=(10, 10, 10), font=big, anchor="lm")
    draw.text((150, y_nik), ":", fill=(10, 10, 10), font=big, anchor="lm")
    draw.text((int(CARD_W * NIK_BOX[0]) + 12, y_nik), nik, fill=(10, 10, 10), font=big, anchor="lm")
    names = ["MARIA", "YOSEF", "AGUSTINA", "MELKIANUS", "DOMINGGUS", "FRANSISKA", "YOHANES", "ELISABETH"]
    fields = [
        ("Nama", f"{rng.choice(names)} {rng.choice(['LAKA', 'NALLE', 'TOELLE', 'BENU', 'NDUN'])}"),
        ("Tempat/Tgl Lahir", f"KUPANG, {nik[6:8]}-{nik[8:10]}-19{nik[10:12]}"),
        ("Jenis Kelamin", "PEREMPUAN" if int(nik[6:8]) > 40 else "LAKI-LAKI"),
        ("Alamat", f"JL. EL TARI NO. {rng.randrange(1, 200)}"),
        ("Agama", rng.choice(["KRISTEN", "KATOLIK", "ISLAM"])),
        ("Pekerjaan", rng.choice(["PETANI", "NELAYAN", "GURU", "WIRASWASTA"])),
    ]
    for i, (label, value) in enumerate(fields):
        y = 190 + i * 44
        draw.text((40, y), label, fill=(25, 25, 25), font=small)
        draw.text((250, y), ":  " + value, fill=(25, 25, 25), font=small)
    draw.rectangle((650, 180, 820, 400), fill=(200, 60, 50))  # the red photo background
    draw.ellipse((690, 210, 780, 320), fill=(120, 90, 70))
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


def in_frame(card: np.ndarray, level: str, rng: random.Random, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """The card held up to a camera at a degradation level, as one BGR frame."""
    d = DEGRADATIONS[level]
    fw, fh = size
    frame = np.full((fh, fw, 3), (rng.randrange(60, 120),) * 3, np.uint8)
    w = fw * rng.uniform(*d.scale)
    h = w * CARD_H / CARD_W
    cx, cy = fw / 2 + rng.uniform(-0.05, 0.05) * fw, fh / 2 + rng.uniform(-0.05, 0.05) * fh
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    a = np.radians(rng.uniform(-d.roll, d.roll))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    corners = corners @ rot.T
    tilt = rng.uniform(-d.tilt, d.tilt) / 100  # perspective: one side nearer the camera
    corners[:, 1] *= 1 + tilt * np.sign(corners[:, 0])
    corners += (cx, cy)
    src = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(card, m, size)
    mask = cv2.warpPerspective(np.full((CARD_H, CARD_W), 255, np.uint8), m, size)
    frame[mask > 0] = warped[mask > 0]
    out: np.ndarray = frame.astype(np.float32) * rng.uniform(*d.light)
    if d.blur:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), d.blur))
    if d.noise:
        out += np.random.default_rng(rng.randrange(1 << 30)).normal(0, d.noise, out.shape)
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg])
    decoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR) if ok else None
    return out8 if decoded is None else np.asarray(decoded)

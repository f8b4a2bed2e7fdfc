"""The printed-NIK reader (tesseract) on rendered KTP-like cards: a sure read, or none; never a wrong one."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from kiosk.identity.ktp_render import in_frame, random_nik, render_card
from kiosk.identity.ocr_nik import TesseractNikReader, find_card

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def reader() -> TesseractNikReader:
    return TesseractNikReader(today=TODAY)


@pytest.mark.parametrize("level", ["clean", "handheld"])
def test_reads_the_printed_nik_of_a_card_held_up(reader: TesseractNikReader, level: str) -> None:
    rng = random.Random(level)
    for _ in range(3):
        nik = random_nik(rng)
        assert reader.read(in_frame(render_card(nik, rng), level, rng)) == nik


def test_a_number_that_is_not_a_valid_nik_is_never_returned(reader: TesseractNikReader) -> None:
    rng = random.Random(3)
    bad = "9999" + random_nik(rng)[4:]  # province 99 does not exist: the digits read fine, the NIK is not one
    frame = in_frame(render_card(bad, rng), "clean", rng)
    assert reader.read(frame) is None
    assert bad in reader.last_raw, "tesseract did read the digits; the NIK rules refused them"


def test_no_card_no_read(reader: TesseractNikReader) -> None:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    assert reader.read(frame) is None


def test_the_card_is_found_and_flattened_whatever_its_angle() -> None:
    rng = random.Random(9)
    card = render_card(random_nik(rng), rng)
    flat = find_card(in_frame(card, "handheld", rng))
    grey = card.mean(axis=2)
    # the flattened card lines up with the original: a strong correlation of the two images
    a, b = flat.astype(float).ravel(), grey.ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.8

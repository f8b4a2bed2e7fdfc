"""The backlight: /sys/class/backlight/<device> on a folder laid out like it, its bad values and a missing
device, and the night window that decides the level from the local time."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from kiosk.config.document import Document
from kiosk.config.screen import DisplayConfig, backlight_level, read_display
from kiosk.hardware.backlight import PictureDimmer, SimBacklight, SysfsBacklight, build_backlight, find_backlight
from kiosk.runner.parts import Parts

WITA = 8 * 3600  # Kota Kupang


def device(root: Path, name: str = "10-0045", max_brightness: str = "255", brightness: str = "255") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "max_brightness").write_text(max_brightness + "\n")
    (folder / "brightness").write_text(brightness + "\n")
    return folder


def written(folder: Path) -> str:
    return (folder / "brightness").read_text()


def test_level_is_written_scaled_by_max_brightness(tmp_path):
    folder = device(tmp_path, max_brightness="31")
    light = SysfsBacklight(folder)
    light.set(0.5)
    assert written(folder) == "16" and light.level == 0.5 and light.shade == 0
    light.set(1.0)
    assert written(folder) == "31"


def test_levels_are_clamped_and_never_switch_the_panel_off(tmp_path):
    folder = device(tmp_path, max_brightness="255")
    light = SysfsBacklight(folder)
    for level, expected in ((0.0, "1"), (-3.0, "1"), (7.0, "255"), (float("nan"), "255"), (float("inf"), "255")):
        light.set(level)
        assert written(folder) == expected, level


def test_max_brightness_is_read_once(tmp_path):
    folder = device(tmp_path, max_brightness="100")
    light = SysfsBacklight(folder)
    (folder / "max_brightness").write_text("7")
    light.set(0.5)
    assert written(folder) == "50"


@pytest.mark.parametrize("bad", ["", "bright", "0", "-5", "12.5", "99999999999", "1" * 64])
def test_a_bad_max_brightness_writes_nothing_and_darkens_the_picture(tmp_path, bad, caplog):
    folder = device(tmp_path, max_brightness=bad, brightness="200")
    with caplog.at_level(logging.WARNING):
        light = SysfsBacklight(folder)
        light.set(0.5)
    assert written(folder) == "200\n", "the device is left as it was"
    assert light.shade == 0.5, "the level shows through the picture instead"
    assert len(caplog.records) == 1


def test_a_failing_write_is_logged_once_never_raised_and_the_picture_darkened(tmp_path, caplog):
    folder = device(tmp_path)
    light = SysfsBacklight(folder)
    (folder / "brightness").unlink()
    (folder / "brightness").mkdir()  # writing it now fails, as a read-only /sys would
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            light.set(0.4)
        assert light.failing and light.shade == pytest.approx(0.6)
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
        (folder / "brightness").rmdir()
        light.set(0.4)
    assert written(folder) == "102" and not light.failing and light.shade == 0
    assert "works again" in caplog.records[-1].getMessage()


def test_a_device_that_vanishes_is_not_an_error(tmp_path):
    folder = device(tmp_path)
    light = SysfsBacklight(folder)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    light.set(0.5)  # no exception into the UI
    assert light.failing and light.shade == 0.5


def test_missing_device_falls_back_to_darkening_the_picture(tmp_path):
    assert isinstance(build_backlight("auto", tmp_path / "no-such-folder"), PictureDimmer)
    assert isinstance(build_backlight("auto", tmp_path), PictureDimmer)  # the folder is there, no device in it
    device(tmp_path, "rpi_backlight")
    assert isinstance(build_backlight("10-0045", tmp_path), PictureDimmer)  # named, but not this one
    assert isinstance(build_backlight("none", tmp_path), PictureDimmer)
    dimmer = PictureDimmer()
    dimmer.set(0.3)
    assert dimmer.level == 0.3 and dimmer.shade == pytest.approx(0.7)


def test_auto_takes_the_first_device_and_a_name_takes_that_one(tmp_path):
    b = device(tmp_path, "rpi_backlight")
    a = device(tmp_path, "10-0045")
    (tmp_path / "not-a-backlight").mkdir()
    assert find_backlight("auto", tmp_path) == a
    assert find_backlight("rpi_backlight", tmp_path) == b
    chosen = build_backlight("rpi_backlight", tmp_path)
    assert isinstance(chosen, SysfsBacklight) and chosen.folder == b


def test_the_simulator_records_every_level_and_the_parts_have_one_by_default():
    light = SimBacklight()
    assert light.level == 1.0
    light.set(0.5)
    light.set(2.0)
    assert light.levels == [0.5, 1.0] and light.shade == 0
    assert Parts.__dataclass_fields__["backlight"].default_factory is SimBacklight


def at(hour: int, minute: int = 0) -> float:
    """A moment at this local time in Kota Kupang (WITA)."""
    return dt.datetime(2026, 9, 21, hour, minute, tzinfo=dt.timezone(dt.timedelta(seconds=WITA))).timestamp()


@pytest.mark.parametrize(
    ("hour", "minute", "level"),
    [(23, 0, 0.5), (0, 0, 0.5), (5, 59, 0.5), (6, 0, 1.0), (9, 0, 1.0), (21, 59, 1.0), (22, 0, 0.5)],
)
def test_night_crosses_midnight(hour, minute, level):
    display = DisplayConfig(night_start="22:00", night_end="06:00", night_brightness=0.5)
    assert backlight_level(display, at(hour, minute), WITA) == level


def test_night_within_one_day_and_a_window_of_no_length():
    display = DisplayConfig(night_start="01:00", night_end="05:00", night_brightness=0.3)
    assert [backlight_level(display, at(h), WITA) for h in (0, 1, 4, 5, 23)] == [1.0, 0.3, 0.3, 1.0, 1.0]
    never = DisplayConfig(night_start="22:00", night_end="22:00", night_brightness=0.3)
    assert {backlight_level(never, at(h), WITA) for h in range(24)} == {1.0}


def test_full_brightness_in_a_visit_even_at_night():
    display = DisplayConfig(night_brightness=0.2)
    assert backlight_level(display, at(2), WITA) == 0.2
    assert backlight_level(display, at(2), WITA, idle=False) == 1.0


def test_the_local_time_follows_the_offset():
    display = DisplayConfig()
    utc_23 = dt.datetime(2026, 9, 21, 23, 0, tzinfo=dt.UTC).timestamp()
    assert backlight_level(display, utc_23, 0) == 0.5
    assert backlight_level(display, utc_23, WITA) == 1.0  # 07:00 in Kupang


@pytest.mark.parametrize(("value", "expected"), [(None, "auto"), ("none", "none"), ("10-0045", "10-0045")])
def test_the_backlight_key_names_a_device(value, expected):
    doc = Document({"display": {} if value is None else {"backlight": value}})
    assert read_display(doc).backlight == expected and doc.problems == []


@pytest.mark.parametrize("value", ["../../etc", "", 3, True, "a b"])
def test_a_bad_backlight_key_names_the_key_and_the_fix(value):
    doc = Document({"display": {"backlight": value}})
    assert read_display(doc).backlight == "auto"
    assert len(doc.problems) == 1 and doc.problems[0].startswith("display.backlight:") and '"auto"' in doc.problems[0]

"""[display] and [speech]: the screen the kiosk draws on (its pixels and its real size, so that the layout's
millimetres are real ones) and the voice that speaks every instruction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config.document import Document
from kiosk.hardware.speaker import player_command

ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True)
class Panel:
    """A display model: its pixels and active area as mounted (portrait models are taller than wide)."""

    width: int
    height: int
    width_mm: float
    height_mm: float


# Active areas from the makers' data sheets; the rest are the common panel sizes of those resolutions.
PANELS: dict[str, Panel] = {
    "pi-touch-7": Panel(800, 480, 154.08, 85.92),  # Raspberry Pi Touch Display (7", 2015)
    "pi-touch-2-7": Panel(720, 1280, 88.0, 155.0),  # Raspberry Pi Touch Display 2 (7", portrait)
    "hdmi-7-1024x600": Panel(1024, 600, 154.2, 85.9),  # the common 7" HDMI panels
    "10.1-1280x800": Panel(1280, 800, 216.96, 135.6),
    "15.6-1366x768": Panel(1366, 768, 344.23, 193.54),
    "15.6-1920x1080": Panel(1920, 1080, 344.16, 193.59),
    "21.5-1080x1920": Panel(1080, 1920, 268.11, 476.64),  # a 21.5" monitor mounted portrait
}
DEFAULT_PANEL = "10.1-1280x800"


@dataclass(frozen=True)
class DisplayConfig:
    """[display]: the panel (a model name, or its pixels and millimetres), rotation, full screen, night dimming."""

    width: int = 1280
    height: int = 800
    width_mm: float = 216.96
    height_mm: float = 135.6
    rotation: int = 0  # degrees the picture is turned (a landscape panel mounted portrait: 90 or 270)
    fullscreen: bool = True
    night_start: str = "22:00"  # local time; the screen dims from here ...
    night_end: str = "06:00"  # ... to here
    night_brightness: float = 0.5  # 1 = as by day
    attract_s: float = 8.0  # the idle screen's pages turn this often
    backlight: str = "auto"  # /sys/class/backlight/<this> ("auto": the first there is; "none": dim the picture)

    @property
    def px_per_mm(self) -> float:
        """Pixels per real millimetre on this panel."""
        return (self.width / self.width_mm + self.height / self.height_mm) / 2

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def mounted_size(self) -> tuple[int, int]:
        """The window's pixels as the resident sees them: width and height swapped when turned 90 or 270."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    @classmethod
    def of(cls, panel: str | Panel, **kwargs: object) -> DisplayConfig:
        """The configuration of a known panel (a name from PANELS) with other keys as given."""
        p = PANELS[panel] if isinstance(panel, str) else panel
        return cls(width=p.width, height=p.height, width_mm=p.width_mm, height_mm=p.height_mm, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SpeechConfig:
    """[speech]: spoken prompts through espeak-ng."""

    enabled: bool = True
    volume: int = 80  # 0-100
    rate_wpm: int = 150  # words per minute
    voices: dict[str, str] = field(default_factory=lambda: {"id": "id", "en": "en"})  # language -> espeak-ng voice
    player: str = "aplay"  # plays the rendered WAV files
    cache_dir: Path | None = None  # rendered prompts (default: data_dir/speech)


def _minutes(hh_mm: str) -> int:
    hh, _, mm = hh_mm.partition(":")
    return int(hh) * 60 + int(mm)


def backlight_level(display: DisplayConfig, now: float, utc_offset_s: int, *, idle: bool = True) -> float:
    """How bright the panel shines at `now` (seconds since the epoch): night_brightness from night_start
    to night_end local time (the window may cross midnight; equal times: never night) while the kiosk is
    idle, else 1 (a resident using the kiosk at night sees it at full brightness)."""
    if not idle:
        return 1.0
    local = dt.datetime.fromtimestamp(now + utc_offset_s, dt.UTC)
    minute = local.hour * 60 + local.minute
    start, end = _minutes(display.night_start), _minutes(display.night_end)
    night = start <= minute < end if start <= end else (minute >= start or minute < end)
    return display.night_brightness if night else 1.0


def _backlight(doc: Document) -> str:
    value = doc.get("display.backlight")
    if value is None:
        return "auto"
    if not isinstance(value, str) or not value or not all(c.isalnum() or c in "-_.:" for c in value):
        doc.problem(
            f'display.backlight: {value!r} must be "auto", "none" or a device in /sys/class/backlight, '
            'e.g. backlight = "10-0045"'
        )
        return "auto"
    return value


def _clock_time(doc: Document, key: str, default: str) -> str:
    value = doc.get(key)
    if value is None:
        return default
    text = str(value)
    hh, sep, mm = text.partition(":")
    digits = text.isascii() and hh.isdigit() and mm.isdigit() and len(hh) <= 2 and len(mm) == 2
    if not (isinstance(value, str) and sep and digits and int(hh) < 24 and int(mm) < 60):
        doc.problem(f'{key}: {value!r} must be a local time "HH:MM", e.g. {key.split(".")[-1]} = "{default}"')
        return default
    return f"{int(hh):02d}:{int(mm):02d}"


def _bool(doc: Document, key: str, default: bool) -> bool:
    value = doc.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        doc.problem(f"{key}: {value!r} must be true or false (no quotes)")
        return default
    return value


def read_display(doc: Document) -> DisplayConfig:
    """[display]: panel = a model from PANELS, or width/height (pixels) and width_mm/height_mm (active area)."""
    base = DisplayConfig.of(DEFAULT_PANEL)
    panel = doc.get("display.panel")
    if panel is not None:
        if panel not in PANELS:
            doc.problem(
                f"display.panel: {panel!r} is not a known panel; use one of {', '.join(PANELS)}, or set "
                "display.width, height, width_mm and height_mm"
            )
        else:
            base = DisplayConfig.of(panel)
    width = doc.whole("display.width", base.width, 320, 7680)
    height = doc.whole("display.height", base.height, 240, 7680)
    width_mm = doc.number("display.width_mm", base.width_mm, 40, 2000)
    height_mm = doc.number("display.height_mm", base.height_mm, 40, 2000)
    if abs(width / width_mm - height / height_mm) > 0.25 * max(width / width_mm, height / height_mm):
        doc.problem(
            "display.width_mm, display.height_mm: the pixels are not square on this size; give the active "
            "area as mounted (a portrait panel is taller than wide)"
        )
    rotation = doc.get("display.rotation")
    if rotation is None:
        rotation = 0
    elif isinstance(rotation, bool) or rotation not in ROTATIONS:
        doc.problem(f"display.rotation: {rotation!r} must be one of 0, 90, 180, 270 (degrees)")
        rotation = 0
    return DisplayConfig(
        width=width,
        height=height,
        width_mm=width_mm,
        height_mm=height_mm,
        rotation=int(rotation),
        fullscreen=_bool(doc, "display.fullscreen", True),
        night_start=_clock_time(doc, "display.night_start", "22:00"),
        night_end=_clock_time(doc, "display.night_end", "06:00"),
        night_brightness=doc.number("display.night_brightness", 0.5, 0.1, 1.0),
        attract_s=doc.number("display.attract_s", 8.0, 3.0, 60.0),
        backlight=_backlight(doc),
    )


def read_speech(doc: Document) -> SpeechConfig:
    """[speech]: enabled, volume (0-100), rate_wpm, voice_id / voice_en (espeak-ng voices), player."""
    voices = {"id": "id", "en": "en"}
    for lang in voices:
        key = f"speech.voice_{lang}"
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value or not all(c.isalnum() or c in "-+_" for c in value):
            doc.problem(f'{key}: {value!r} must be an espeak-ng voice name, e.g. {key.split(".")[-1]} = "{lang}"')
        else:
            voices[lang] = value
    player = doc.get("speech.player")
    if player is None:
        player = "aplay"
    elif not isinstance(player, str) or not player.strip():
        doc.problem('speech.player: must be the command that plays a WAV file, e.g. player = "aplay"')
        player = "aplay"
    elif not player_command(player):  # split as the speaker splits it
        doc.problem(f"speech.player: {player!r} has a quote that is not closed; the command is split as a shell would")
        player = "aplay"
    cache = doc.get("speech.cache_dir")
    return SpeechConfig(
        enabled=_bool(doc, "speech.enabled", True),
        volume=doc.whole("speech.volume", 80, 0, 100),
        rate_wpm=doc.whole("speech.rate_wpm", 150, 80, 300),
        voices=voices,
        player=player.strip(),
        cache_dir=doc.path(cache) if isinstance(cache, str) and cache else None,
    )

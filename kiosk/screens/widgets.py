"""Small widgets shared by the screens: QR images, the camera view with its guide, the keypad, the outcome
band, the waiting dots, day and time formatting."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import numpy as np
import qrcode
from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.widget import Widget

from kiosk.flow.model import OperatorNote
from kiosk.i18n import N_, tr
from kiosk.screens import pictures, root  # noqa: F401  (registers Picture, CameraGuide, DeleteKey for kv)

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


def format_day(iso: str, lang: str) -> str:
    """'Selasa, 24 November 2026' / 'Tuesday, 24 November 2026'."""
    day = dt.date.fromisoformat(iso)
    return f"{tr(lang, WEEKDAYS[day.weekday()])}, {day.day} {tr(lang, MONTHS[day.month - 1])} {day.year}"


class QrImage(Image):
    """Shows `data` as a QR code (crisp: nearest-neighbour scaling)."""

    data = StringProperty("")

    def on_data(self, _instance: object, value: str) -> None:
        if not value:
            self.texture = None
            return
        img = qrcode.make(value, box_size=8, border=2)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        buf.seek(0)
        texture = CoreImage(buf, ext="png").texture
        texture.mag_filter = "nearest"
        self.texture = texture


class CameraView(Image):
    """Shows camera frames (BGR numpy arrays), mirrored like a mirror so residents can aim."""

    def show_frame(self, frame: np.ndarray | None) -> None:
        if frame is None:
            return
        h, w = frame.shape[:2]
        texture = getattr(self, "texture", None)
        if texture is None or texture.size != (w, h):
            texture = Texture.create(size=(w, h), colorfmt="bgr")
            texture.flip_vertical()
            texture.flip_horizontal()
            self.texture = texture
        texture.blit_buffer(np.ascontiguousarray(frame).tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.canvas.ask_update()


class ChoiceButton(Button):
    """One choice in a list: an office, a day or a time. Styled in common.kv."""

    value = StringProperty("")
    label = StringProperty("")
    sub = StringProperty("")
    kind = StringProperty("")


def render_note(translate: Callable[[str], str], note: OperatorNote | None) -> str:
    """An operator note in the screen's language (kv: `render_note(tr._, root.note)` follows the language)."""
    return translate(note.msgid).format(**dict(note.fields)) if note else ""


class Keypad(GridLayout):
    """Digits 0-9, Delete and OK; fires on_key(key) with '0'-'9', 'del' or 'ok'. Styled in keypad.kv."""

    __events__ = ("on_key",)

    def on_key(self, key: str) -> None:
        """A key was pressed (bind to it)."""


def say_screen_again() -> None:
    """The screen's instruction changed without a new session (a hint, another layout): the app says it, once
    the new words are drawn."""
    app = App.get_running_app()
    if app is not None and hasattr(app, "speak_screen"):
        Clock.schedule_once(lambda _dt: app.speak_screen(), 0.1)


# What the live hint on the camera view says for each of pictures.frame_hint's findings
HINTS = {
    "dark": N_("Too dark: come closer to the light."),
    "bright": N_("Too much glare: tilt it a little."),
    "still": N_("Hold still."),
}
HINT_EVERY_S = 0.4  # how often a frame is looked at for a hint
HINT_AFTER = 2  # a hint shows (or goes) after this many looks in a row agree: no flicker


class Viewer(FloatLayout):
    """The live camera image with its guide drawn over it (QR frame, face oval, card outline, the challenge's
    direction) and a live hint (too dark, glare, hold still) from the frames themselves."""

    guide = StringProperty("")
    direction = StringProperty("")
    hint_msgid = StringProperty("")  # one of HINTS' texts, or ""
    motion_hint = BooleanProperty(True)  # "hold still" (off where nobody is holding anything up yet)
    ok = BooleanProperty(False)
    drawn = True  # for the layout check: it always shows something

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._looked_at = 0.0
        self._previous: np.ndarray | None = None
        self._candidate, self._agreed = "", 0

    def show_frame(self, frame: np.ndarray | None) -> None:
        self.ids.camera.show_frame(frame)
        now = Clock.get_time()
        if frame is not None and now - self._looked_at >= HINT_EVERY_S:
            self._looked_at = now
            self.look_at(frame)

    def look_at(self, frame: np.ndarray) -> None:
        """Take one frame's finding; the hint changes when HINT_AFTER findings in a row agree."""
        found = pictures.frame_hint(frame, self._previous)
        self._previous = frame
        if found == "still" and not self.motion_hint:
            found = ""
        self._agreed = self._agreed + 1 if found == self._candidate else 1
        self._candidate = found
        if self._agreed >= HINT_AFTER:
            self.hint_msgid = HINTS.get(found, "")

    def on_hint_msgid(self, _instance: object, _msgid: str) -> None:
        """The page shows the hint as its instruction while it lasts: say the page again."""
        say_screen_again()


class Outcome(BoxLayout):
    """How a visit ended, at a glance: an icon on a coloured band (never colour alone) and the words."""

    spoken = True  # its words are said aloud (kiosk.screens.steps.spoken_text)
    kind = StringProperty("done")  # a Picture kind: done, booking, status, refused, help
    tone = StringProperty("good")  # good, info or warn: the band's colour
    text = StringProperty("")


class Waiting(Widget):
    """Three dots that take turns: the kiosk is working, not stuck."""

    phase = NumericProperty(0)
    drawn = True

    def on_parent(self, _instance: object, parent: Widget | None) -> None:
        if parent is not None:
            self._tick = Clock.schedule_interval(self._advance, 0.4)
        elif getattr(self, "_tick", None) is not None:
            self._tick.cancel()

    def _advance(self, _dt: float) -> None:
        self.phase = (self.phase + 1) % 3


class Buttons(BoxLayout):
    """A row of buttons as tall as its tallest label needs (at least a touch target)."""

    def add_widget(self, widget: Widget, *args: object, **kwargs: object) -> None:
        super().add_widget(widget, *args, **kwargs)
        for w in widget.walk(restrict=True):
            if "texture_size" in w.properties():
                w.bind(texture_size=self._fit, opacity=self._fit)
        self._fit()

    def _fit(self, *_args: object) -> None:
        from kiosk.screens.look import look

        labels = [w for w in self.walk(restrict=True) if "texture_size" in w.properties() and w.opacity > 0]
        self.height = max([look.touch, *(w.texture_size[1] + look.pad for w in labels)])

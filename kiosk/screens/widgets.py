"""Small widgets shared by the screens: QR images, the camera view, day and time formatting."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import numpy as np
import qrcode
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.properties import StringProperty
from kivy.uix.button import Button
from kivy.uix.image import Image

from kiosk.flow.model import OperatorNote
from kiosk.i18n import N_, tr

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

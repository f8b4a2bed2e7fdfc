"""The frame around the step screens: the step indicator and the controls every screen has (help, listen
again, language, cancel), arranged for the panel's orientation, and the 'are you still there?' overlay."""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Ellipse, Line, Triangle
from kivy.properties import ListProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.modalview import ModalView

from kiosk.screens.look import look

CONTROLS = ("step", "help", "listen", "language", "corner")
PIECES = (*CONTROLS, "cancel", "accessible", "sm", "rail", "rail_row", "rail_space", "top", "bottom", "kiosk_area")


class RootView(BoxLayout):
    """The kiosk area (controls and step screens) and, in the demo, the developer panel beside it.

    Landscape: a rail of controls on the right (the 7" panel is 86 mm tall: a top and a bottom bar would
    leave too little): the step, help, language, and at the bottom the corner (cancel, or on the idle
    screen the accessible mode) beside listen. Portrait: a top bar (step, listen, help) and a bottom bar (corner,
    language)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # kv's ids are weak references: hold the pieces while they are out of the tree
        self.pieces = {name: self.ids[name].__self__ for name in PIECES}
        look.bind(portrait=lambda *_a: self.arrange())
        self.arrange()

    def arrange(self) -> None:
        """Put the controls where this orientation has them."""
        ids = self.pieces
        for widget in ids.values():
            if widget.parent is not None:
                widget.parent.remove_widget(widget)
        area = ids["kiosk_area"]
        self.add_widget(area, index=len(self.children))  # leftmost: the demo's panel goes on its right
        if look.portrait:
            area.orientation = "vertical"
            ids["top"].add_widget(ids["step"])
            ids["top"].add_widget(ids["listen"])
            ids["top"].add_widget(ids["help"])
            ids["bottom"].add_widget(ids["corner"])
            ids["bottom"].add_widget(ids["language"])
            for widget in (ids["top"], ids["sm"], ids["bottom"]):
                area.add_widget(widget)
        else:
            area.orientation = "horizontal"
            ids["rail_row"].add_widget(ids["corner"])
            ids["rail_row"].add_widget(ids["listen"])
            for name in ("step", "help", "language", "rail_space", "rail_row"):
                ids["rail"].add_widget(ids[name])
            area.add_widget(ids["sm"])
            area.add_widget(ids["rail"])
        self.show_corner(self.idle)

    idle = True

    def show_corner(self, idle: bool) -> None:
        """The corner holds Cancel during a visit and the accessible mode's switch on the idle screen."""
        self.idle = idle
        corner = self.pieces["corner"]
        corner.clear_widgets()
        corner.add_widget(self.pieces["accessible" if idle else "cancel"])


class SpeakerButton(Button):
    """'Listen again': a loudspeaker drawn with its sound waves (no words: it is the same in every language)."""

    ink = ListProperty([1, 1, 1, 1])
    level = NumericProperty(3)  # waves drawn: 0 shows a muted speaker

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, ink=self._draw, level=self._draw)

    def _draw(self, *_args: Any) -> None:
        self.canvas.after.clear()
        s = min(self.width, self.height) * 0.6
        cx, cy = self.center
        x0 = cx - s * 0.5
        with self.canvas.after:
            Color(*self.ink)
            body = s * 0.22
            Triangle(points=[x0 + body, cy, x0 + s * 0.5, cy + s * 0.4, x0 + s * 0.5, cy - s * 0.4])
            Line(rectangle=(x0, cy - body / 2, body, body), width=max(1.0, s * 0.04))
            Ellipse(pos=(x0, cy - body / 2), size=(body, body), angle_start=0, angle_end=0)
            for i in range(int(self.level)):
                r = s * (0.18 + 0.13 * i)
                Line(circle=(x0 + s * 0.52, cy, r, 50, 130), width=max(1.0, s * 0.045))


class WarningView(ModalView):
    """'Are you still there?' with the seconds left, 'I am still here' and 'start over'."""

    seconds = NumericProperty(0)


class DeleteKey(Button):
    """The keypad's delete key: the usual backspace sign, drawn (the same in every language)."""

    ink = ListProperty([1, 1, 1, 1])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, ink=self._draw)

    def _draw(self, *_args: Any) -> None:
        self.canvas.after.clear()
        s = min(self.width, self.height) * 0.55
        cx, cy = self.center
        left, right, half = cx - s * 0.55, cx + s * 0.5, s * 0.32
        tip = left + s * 0.3
        width = max(1.0, s * 0.06)
        with self.canvas.after:
            Color(*self.ink)
            Line(
                points=[left, cy, tip, cy + half, right, cy + half, right, cy - half, tip, cy - half],
                close=True,
                width=width,
            )
            mx, d = (tip + right) / 2, half * 0.5
            Line(points=[mx - d, cy - d, mx + d, cy + d], width=width)
            Line(points=[mx - d, cy + d, mx + d, cy - d], width=width)

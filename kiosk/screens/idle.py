"""The idle screen: show your queue ticket, with an attract loop of what the kiosk does and what to bring."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.i18n import N_
from kiosk.screens.base import StepScreen

# The idle screen's attract loop: what the kiosk does and what to bring, one page at a time
ATTRACT = (
    ("ticket", N_("Take a queue ticket at the queue machine first.")),
    ("done", N_("Here you collect your new e-KTP when it is ready.")),
    ("booking", N_("Not recorded yet? Book your recording appointment here.")),
    ("status", N_("Or find out where your e-KTP stands.")),
    ("reader", N_("Bring your old KTP. Nobody may collect a card for someone else.")),
)


class IdleScreen(StepScreen):
    """Attract screen: scan your queue ticket. Its lower half turns pages (and moves a little: no static
    image burns into the panel)."""

    page = NumericProperty(0)
    attract_kind = StringProperty(ATTRACT[0][0])
    attract_msgid = StringProperty(ATTRACT[0][1])

    def turn_page(self) -> None:
        self.page = (self.page + 1) % len(ATTRACT)
        self.attract_kind, self.attract_msgid = ATTRACT[self.page]

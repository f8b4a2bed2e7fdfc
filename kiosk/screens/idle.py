"""The idle screen: show your queue ticket, with an attract loop of what the kiosk does and what to bring,
and a picture that never stands still long enough to burn into the panel."""

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

# Against burn-in: every MOVE_S the whole idle page moves to the next spot of a small square orbit, in steps
# of ORBIT_MM real millimetres, so no edge of its text or pictures stays on the same pixels for hours. It
# moves within the page's margin (look.PAD_MM), so it takes no room from the layout.
ORBIT_MM = 2.5
ORBIT = ((0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
MOVE_S = 60.0


class IdleScreen(StepScreen):
    """Attract screen: scan your queue ticket. Its lower half turns pages every `attract_s` seconds, and
    the whole page moves a little every minute (within its margin: nothing leaves the window)."""

    page = NumericProperty(0)
    attract_kind = StringProperty(ATTRACT[0][0])
    attract_msgid = StringProperty(ATTRACT[0][1])
    attract_s = NumericProperty(8.0)
    spot = NumericProperty(0)  # where on ORBIT the page is
    drift_x = NumericProperty(0.0)  # real mm right of the centre
    drift_y = NumericProperty(0.0)  # real mm above the centre

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._turned_at: float | None = None
        self._moved_at: float | None = None

    def turn_page(self) -> None:
        self.page = (self.page + 1) % len(ATTRACT)
        self.attract_kind, self.attract_msgid = ATTRACT[self.page]

    def move_on(self) -> None:
        """The next spot of the orbit."""
        self.spot = (self.spot + 1) % len(ORBIT)
        dx, dy = ORBIT[self.spot]
        self.drift_x, self.drift_y = dx * ORBIT_MM, dy * ORBIT_MM

    def restart(self, now: float) -> None:
        """A visit ended: the next one to look starts at the first page."""
        self.page = 0
        self.attract_kind, self.attract_msgid = ATTRACT[0]
        self._turned_at = now

    def keep(self, now: float) -> None:
        """Called while this screen shows (about once a second; `now`: the kiosk's clock): turn the page
        and move the picture when their time has come. A clock set back starts both counts again."""
        if self._turned_at is None or now < self._turned_at:
            self._turned_at = now
        if self._moved_at is None or now < self._moved_at:
            self._moved_at = now
        if now - self._turned_at >= self.attract_s:
            self.turn_page()
            self._turned_at = now
        if now - self._moved_at >= MOVE_S:
            self.move_on()
            self._moved_at = now

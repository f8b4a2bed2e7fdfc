"""The vault's slots as staff see them in operator mode: one cell per slot, laid out as the vault is seen from
the front (numbered left to right, top to bottom), each with the slot number, the last 4 characters of the
card it holds, the day that card is due to come out and a mark for an alarm; the slot open for the
operator's hands stands out. The facts come from the status snapshot; the look is in operator.kv."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ColorProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView

from kiosk.flow.model import OperatorNote

ALARM_MARK = "!"  # with the alarm colour: a cue that is not colour alone
EMPTY_MARK = "–"  # the slot holds no card
WIDEST = 1.4  # a cell grows to at most this many times its narrowest, to fill the room it has


class SlotLike(Protocol):
    """What the grid needs of one slot (kiosk.runner.status.SlotFacts)."""

    @property
    def slot(self) -> int: ...
    @property
    def card(self) -> str: ...
    @property
    def due(self) -> float | None: ...
    @property
    def alarm(self) -> bool: ...


@dataclass(frozen=True)
class Cell:
    """What one cell shows, in words that need no translation (numbers and marks)."""

    slot: int
    head: str  # the slot number, and the alarm mark
    card: str  # the card id's last characters, or the empty mark
    due: str  # day/month the card is due to come out, or ""
    alarm: bool = False
    open: bool = False
    full: bool = False


def due_day(due: float | None, utc_offset_s: float) -> str:
    """The kiosk-local day a card is due to come out, as day/month ('21/10'); '' when there is none."""
    if due is None:
        return ""
    day = dt.datetime.fromtimestamp(due + utc_offset_s, dt.UTC)
    return f"{day.day:02d}/{day.month:02d}"


def open_slot(note: OperatorNote | None) -> int:
    """The slot the operator's hands are at: the one a waiting (busy) note names; 0 when none is open."""
    if note is None or not note.busy:
        return 0
    value = dict(note.fields).get("slot", "")
    return int(value) if value.isdigit() else 0


def cells(slots: Iterable[SlotLike], opened: int, utc_offset_s: float) -> list[Cell]:
    """The cells of the grid, in slot order."""
    return [
        Cell(
            slot=s.slot,
            head=f"{s.slot} {ALARM_MARK}" if s.alarm else str(s.slot),
            card=s.card or EMPTY_MARK,
            due=due_day(s.due, utc_offset_s) if s.card else "",
            alarm=s.alarm,
            open=s.slot == opened,
            full=bool(s.card),
        )
        for s in sorted(slots, key=lambda s: s.slot)
    ]


def shape(slot_count: int, columns: int) -> tuple[int, int]:
    """(rows, columns) of a vault of `slot_count` slots, `columns` to a row (the last row may be short), as
    the resident's release picture draws it."""
    cols = max(1, columns)
    return max(1, -(-slot_count // cols)), cols


class SlotCell(BoxLayout):
    """One slot: its number (and alarm mark), its card, its due day."""

    slot = NumericProperty(0)
    head = StringProperty("")
    card = StringProperty("")
    due = StringProperty("")
    alarm = BooleanProperty(False)
    open = BooleanProperty(False)
    full = BooleanProperty(False)
    ink = ColorProperty((1, 1, 1, 1))  # the text's colour on this cell's fill (operator.kv)

    def show(self, cell: Cell) -> None:
        self.slot, self.head, self.card, self.due = cell.slot, cell.head, cell.card, cell.due
        self.alarm, self.open, self.full = cell.alarm, cell.open, cell.full


def fit(
    columns: int, rows: int, most: tuple[float, float], cell: tuple[float, float], gap: float, bar: float
) -> tuple[float, float, float]:
    """(width, height, cell width) of a grid of `columns` x `rows` cells in at most `most` (width, height),
    with room for a scroll bar (`bar`) beside and below the cells: whole columns in view, the cells widened
    (up to WIDEST times `cell`'s width) until they fill the width; as many rows as the height holds."""
    shown = max(1, min(columns, int((most[0] - bar + gap) // (cell[0] + gap))))
    wide = (most[0] - bar - gap * (shown - 1)) / shown
    cell_width = float(int(max(cell[0], min(wide, cell[0] * WIDEST))))  # whole pixels: no bar for 1e-13 px
    width = shown * cell_width + gap * (shown - 1) + bar
    height = min(most[1], rows * cell[1] + gap * (rows - 1) + bar)
    return width, height, cell_width


def first_shown(index: int, shown: int, count: int, first: int) -> int:
    """The first row (or column) in view so that `index` is in view, `shown` at a time of `count`, moving the
    view from `first` as little as can be."""
    if first <= index < first + shown:
        return max(0, min(first, count - shown))
    return max(0, min(index if index < first else index - shown + 1, count - shown))


class SlotGrid(ScrollView):
    """Every slot of the vault, in a view that scrolls both ways when the panel is smaller than the vault.

    The screen says how much room the grid may take (`most_width`, `most_height`); the grid takes whole
    columns and rows of it (see `fit`). `cell_min`, `cell_height` and `gap` come from the look (operator.kv)."""

    cells = ListProperty([])  # Cell rows, slot order
    columns = NumericProperty(6)
    most_width = NumericProperty(100)
    most_height = NumericProperty(100)
    cell_min = NumericProperty(100)
    cell_height = NumericProperty(100)
    gap = NumericProperty(4)
    cell_width = NumericProperty(100)
    scroll_x: float  # ScrollView's, for the type checker
    scroll_y: float

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trigger = Clock.create_trigger(lambda _dt: self._resize())
        for name in ("columns", "most_width", "most_height", "cell_min", "cell_height", "gap", "bar_width"):
            self.fbind(name, self._trigger)

    def on_cells(self, _instance: object, rows: list[Cell]) -> None:
        board = self.ids.board
        if len(board.children) != len(rows):
            board.clear_widgets()
            for _ in rows:
                board.add_widget(SlotCell())
        for widget, cell in zip(reversed(board.children), rows, strict=True):
            widget.show(cell)
        self._resize()

    def _resize(self) -> None:
        rows, cols = shape(len(self.cells), int(self.columns))
        most = (self.most_width, self.most_height)
        width, height, self.cell_width = fit(
            cols, rows, most, (self.cell_min, self.cell_height), self.gap, self.bar_width
        )
        self.size = (width, height)
        for widget in self.ids.board.children:
            widget.size = (self.cell_width, self.cell_height)
        Clock.schedule_once(lambda _dt: self.show_open(), 0.1)  # once the board is laid out again

    def show_open(self) -> None:
        """Scroll the open slot into view, whole rows and columns from the edge, moving as little as can be."""
        index = next((i for i, c in enumerate(self.cells) if c.open), None)
        board = self.ids.board
        if index is None or not board.children:
            return
        rows, cols = shape(len(self.cells), int(self.columns))
        for axis, at, count, pitch in (
            (0, index % cols, cols, self.cell_width),
            (1, index // cols, rows, self.cell_height),
        ):
            pitch += self.gap
            spare = board.size[axis] - self.size[axis]  # how far the board can move
            if spare <= 0:
                continue
            shown = max(1, int((self.size[axis] - self.bar_width + self.gap) // pitch))
            scroll = self.scroll_x if axis == 0 else 1 - self.scroll_y  # 0: at the left or the top
            first = first_shown(at, shown, count, round(scroll * spare / pitch))
            offset = min(1.0, first * pitch / spare)
            if axis == 0:
                self.scroll_x = offset
            else:
                self.scroll_y = 1 - offset

"""What a resident would notice on a screen, found from the widget tree of the real window: anything
outside the window, things drawn over each other, text that does not fit its box, touch targets under
15 mm and text under 4.8 mm high (real millimetres on the configured panel)."""

from __future__ import annotations

from collections.abc import Iterator

from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.screens.look import MIN_TEXT_MM, MIN_TOUCH_MM, look
from kiosk.screens.pictures import Picture

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in window pixels
TOLERANCE = 1.0


def window_rect(w: Widget) -> Rect:
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def describe(w: Widget) -> str:
    text = getattr(w, "text", "")
    name = type(w).__name__
    return f"{name} {text[:40]!r}" if text else name


def _visible(w: Widget) -> bool:
    node: Widget | None = w
    while node is not None and not isinstance(node, type(node.get_root_window())):
        if node.opacity == 0 or node.width <= 0 or node.height <= 0:
            return False
        parent = node.parent
        if parent is node:
            break
        node = parent
    return True


def _shows_something(w: Widget) -> bool:
    if isinstance(w, Label):
        return bool(w.text.strip()) or isinstance(w, Button)
    if isinstance(w, Image):
        return w.texture is not None
    return bool(getattr(w, "drawn", False)) or isinstance(w, Picture)  # drawn widgets


def leaves(root: Widget) -> Iterator[tuple[Widget, Rect | None]]:
    """Visible widgets that show something, with the clip of the scroll view they are in (if any)."""

    def walk(w: Widget, clip: Rect | None) -> Iterator[tuple[Widget, Rect | None]]:
        if w.opacity == 0 or w.width <= 0 or w.height <= 0:
            return
        if _shows_something(w):
            yield w, clip
        if isinstance(w, ScrollView):
            clip = window_rect(w)
        for child in w.children:
            yield from walk(child, clip)

    yield from walk(root, None)


def _inter(a: Rect, b: Rect) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _related(a: Widget, b: Widget) -> bool:
    for x, y in ((a, b), (b, a)):
        node = y.parent
        while node is not None and node is not node.parent:
            if node is x:
                return True
            node = node.parent
    return False


def layout_problems(root: Widget, size: tuple[int, int]) -> list[str]:
    """Every problem a resident would see on this screen; [] when there is none."""
    width, height = size
    problems: list[str] = []
    shown: list[tuple[Widget, Rect]] = []
    for w, clip in leaves(root):
        r = window_rect(w)
        if clip is not None:
            if _inter(r, clip) <= 0:
                continue  # scrolled out of view: the scroll bar says there is more
            r = (max(r[0], clip[0]), max(r[1], clip[1]), min(r[2], clip[2]), min(r[3], clip[3]))
        elif r[0] < -TOLERANCE or r[1] < -TOLERANCE or r[2] > width + TOLERANCE or r[3] > height + TOLERANCE:
            problems.append(f"outside the window: {describe(w)} at {tuple(round(v) for v in r)} of {size}")
        shown.append((w, r))
        if isinstance(w, Label) and w.text.strip():
            tw, th = w.texture_size
            if tw > w.width + TOLERANCE or th > w.height + TOLERANCE:
                problems.append(f"text does not fit: {describe(w)} needs {tw}x{th}, has {w.width:.0f}x{w.height:.0f}")
            limit = w.text_size[0]
            if limit and w._label is not None:
                for word in set(w.text.split()):
                    if w._label.get_extents(word)[0] > limit + TOLERANCE:
                        problems.append(f"a word is broken across lines: {word!r} in {describe(w)}")
            if look.text_mm(w.font_size) < MIN_TEXT_MM - 0.05:
                problems.append(f"text too small: {describe(w)} {look.text_mm(w.font_size):.1f} mm high")
        if isinstance(w, Button) and not w.disabled:
            mm_w, mm_h = w.width / look.px_per_mm, w.height / look.px_per_mm
            if min(mm_w, mm_h) < MIN_TOUCH_MM - 0.05:
                problems.append(f"touch target too small: {describe(w)} {mm_w:.1f} x {mm_h:.1f} mm")
    for i, (a, ra) in enumerate(shown):
        for b, rb in shown[i + 1 :]:
            if (
                _inter(ra, rb) > 4
                and not _related(a, b)
                and not (getattr(a, "overlay", False) or getattr(b, "overlay", False))
            ):
                problems.append(f"drawn over each other: {describe(a)} and {describe(b)}")
    return problems


def modal_or(root: Widget) -> Widget:
    """The open overlay (it covers the screen) or the root."""
    window = root.get_root_window()
    for child in window.children if window else []:
        if isinstance(child, ModalView):
            return child
    return root

"""Live translation for kv rules: `text: tr._(msgid)` re-evaluates when the language changes.

This is the Observable pattern from Kivy's i18n example: binding to the attribute `_` registers the
rule, and `switch()` calls every registered rule again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.event import Observable

from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.i18n import tr as translate


class Translator(Observable):
    """The language of the screens; `_` translates."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        super().__init__()
        self.lang = lang
        self._observers: dict[int, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}
        self._next_uid = 1

    def _(self, msgid: str) -> str:
        return translate(self.lang, msgid)

    def fbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            uid = self._next_uid
            self._next_uid += 1
            self._observers[uid] = (func, largs, kwargs)
            return uid
        return super().fbind(name, func, *largs, **kwargs)

    def funbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            key = (func, largs, kwargs)
            for uid, entry in list(self._observers.items()):
                if entry == key:
                    del self._observers[uid]
            return None
        return super().funbind(name, func, *largs, **kwargs)

    def unbind_uid(self, name: str, uid: int) -> Any:
        """Kivy calls this when a widget whose rule used `tr._` goes away: forget its rule."""
        if name == "_":
            self._observers.pop(uid, None)
            return None
        return super().unbind_uid(name, uid)

    @property
    def observers(self) -> int:
        """How many kv rules follow the language (flat over visits; a growing count is a leak)."""
        return len(self._observers)

    def switch(self, lang: str) -> None:
        if lang == self.lang:
            return
        self.lang = lang
        for uid, (func, largs, _kwargs) in list(self._observers.items()):
            try:
                func(*largs, None, None)
            except ReferenceError:  # the rule's widget is gone and Kivy did not say so: forget it
                self._observers.pop(uid, None)


tr = Translator()

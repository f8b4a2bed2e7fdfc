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
        self._observers: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def _(self, msgid: str) -> str:
        return translate(self.lang, msgid)

    def fbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            self._observers.append((func, largs, kwargs))
            return 1
        return super().fbind(name, func, *largs, **kwargs)

    def funbind(self, name: str, func: Callable[..., Any], *largs: Any, **kwargs: Any) -> Any:
        if name == "_":
            key = (func, largs, kwargs)
            if key in self._observers:
                self._observers.remove(key)
            return None
        return super().funbind(name, func, *largs, **kwargs)

    def switch(self, lang: str) -> None:
        if lang == self.lang:
            return
        self.lang = lang
        for func, largs, _kwargs in list(self._observers):
            func(*largs, None, None)


tr = Translator()

"""The base of every step screen: it holds the session and turns touches into events."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.flow import events as ev
from kiosk.flow.model import Session
from kiosk.texts import REASONS


class StepScreen(Screen):
    """Base of every step screen: holds the session and posts presses."""

    session = ObjectProperty(None, allownone=True)
    notice_msgid = StringProperty("")  # a hint on this screen, e.g. 'try again'
    notice_next_msgid = StringProperty("")

    def press(self, action: str, value: str = "") -> None:
        App.get_running_app().post(ev.Press(action, value))

    def on_session(self, _instance: object, s: Session | None) -> None:
        notice = s.notice if s else None
        self.notice_msgid, self.notice_next_msgid = REASONS[notice] if notice else ("", "")
        if s is not None:
            self.show(s)

    def show(self, s: Session) -> None:
        """Copy what this screen shows from the session (override)."""

"""The Kivy App: wires configuration, hardware, gateway, store and flow together, and shows the flow's
state on one screen per step. It decides nothing itself."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.metrics import Metrics
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget

from kiosk.config import KioskConfig
from kiosk.display import IdleDisplay
from kiosk.flow import events as ev
from kiosk.flow.model import Session, Step
from kiosk.flow.rules import offers_cancel, slip_for
from kiosk.hardware.printer import PrinterState
from kiosk.health import Health
from kiosk.lockdown import KIOSK, Lockdown, WindowGuard, chosen
from kiosk.ops.memory import bound_heap, release_free_heap
from kiosk.runner import Kiosk, Parts, StatusSnapshot
from kiosk.screens.idle import IdleScreen
from kiosk.screens.look import look
from kiosk.screens.root import RootView, WarningView
from kiosk.screens.steps import SCREENS, STEP_NUMBERS, STEP_TOTAL, StepScreen, spoken_text
from kiosk.screens.translator import tr
from kiosk.texts import PART_STATES, PRINTER_STATES

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}  # each in its own language: not translated
KV_FILES = (
    "common.kv",
    "widgets.kv",
    "keypad.kv",
    "root.kv",
    "idle.kv",
    "card.kv",
    "nik_entry.kv",
    "busy.kv",
    "face.kv",
    "release.kv",
    "tap_new.kv",
    "handed_over.kv",
    "choose.kv",
    "booked.kv",
    "status.kv",
    "refused.kv",
    "operator.kv",
)
CAMERA_FPS = 8


def load_kv(demo: bool = False) -> None:
    files = [("kiosk.screens", name) for name in KV_FILES] + ([("kiosk.sim", "panel.kv")] if demo else [])
    for package, name in files:
        with resources.as_file(resources.files(package).joinpath(name)) as path:
            Builder.load_file(str(path))


class KioskApp(App):
    """The kiosk's window."""

    use_kivy_settings = False  # no Kivy settings panel (see open_settings)

    lang = StringProperty("id")
    other_language_name = StringProperty(LANGUAGE_NAMES["en"])
    help_called = BooleanProperty(False)
    can_cancel = BooleanProperty(False)
    staff_badge = StringProperty("")
    kiosk_id = StringProperty("")
    vault_cards = NumericProperty(0)  # for operator mode
    outbox_pending = NumericProperty(0)
    reader_state = StringProperty("")
    printer_ok = BooleanProperty(True)
    printer_state = StringProperty("")
    vault_alarms = ListProperty([])  # operator mode: active alarm names ("tamper", "slot:7")
    service_notice = StringProperty("")  # a msgid: what is not possible right now, said before anyone starts
    step_number = NumericProperty(0)  # 'Step 2 of 4' (0: no indicator on this screen)
    step_total = NumericProperty(STEP_TOTAL)
    speech_on = BooleanProperty(True)

    def __init__(
        self,
        kiosk: Kiosk,
        *,
        panel: Callable[[], Widget] | None = None,
        camera_thread: bool = True,
        lockdown: Lockdown | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        bound_heap()  # a kiosk runs for months: camera frames must not settle in its heap (kiosk.ops.memory)
        # the ways out of the app (kiosk.lockdown): none but the service manager's unless the demo chose
        self.guard = WindowGuard(chosen() if lockdown is None else lockdown, self.stop)
        self.title = "Loket Mandiri e-KTP"
        self.kiosk = kiosk
        self.panel = panel  # the demo's stand-in for the resident, beside the screens
        self.kiosk_id = kiosk.cfg.kiosk_id
        self.camera_thread = camera_thread
        self._halt = threading.Event()
        self.warning: WarningView | None = None
        self._camera: threading.Thread | None = None
        self.sm: ScreenManager | None = None
        self.idle_display: IdleDisplay | None = None
        self._idle = True
        look.use(kiosk.cfg.display, *kiosk.cfg.display.mounted_size)
        self.speech_on = kiosk.cfg.speech.enabled
        self._said = ""
        # another layout can show other words (a 7" panel drops some titles): say the screen again
        look.bind(compact=lambda *_a: Clock.schedule_once(lambda _dt: self.speak_screen(), 0.1))

    # -- building ---------------------------------------------------------------------------

    def build(self) -> RootView:
        load_kv(demo=self.panel is not None)
        root = RootView()
        self.sm = sm = root.ids.sm
        sm.transition = NoTransition()
        for step, cls in SCREENS.items():
            sm.add_widget(cls(name=step.value))
        if self.panel is not None:
            root.add_widget(self.panel())
        self.warning = WarningView()
        idle, k = sm.get_screen(Step.IDLE.value), self.kiosk
        assert isinstance(idle, IdleScreen)
        shown = self.idle_display = IdleDisplay(k.cfg, k.parts.backlight, k.clock, idle, root)
        Clock.schedule_interval(lambda _dt: shown.keep(), 1.0)  # idle pages, drift, backlight
        Window.bind(rotation=self._rotated)
        trigger = Clock.create_trigger(lambda _dt: self.kiosk.pump())
        self.kiosk.wakeup = trigger
        self.kiosk.listeners.append(self._on_session)
        Clock.schedule_interval(lambda _dt: self.kiosk.tick(), 1.0)
        Clock.schedule_interval(lambda _dt: self._count_down(), 0.5)
        Clock.schedule_interval(lambda _dt: self.refresh_badge(), 5.0)
        Clock.schedule_interval(self._refresh_camera, 1 / CAMERA_FPS)
        if self.camera_thread:
            self._camera = threading.Thread(target=self._camera_loop, name="kiosk-camera", daemon=True)
            self._camera.start()
        self._on_session(self.kiosk.session)
        self._start_notify()
        return root

    def open_window(self) -> None:
        """Build the window and show the first screen without entering Kivy's main loop (tests drive the
        loop themselves, frame by frame)."""
        self._run_prepare()

    def on_start(self) -> None:
        self.guard.install()  # after Kivy bound its own keys, so the lock-down is asked first

    def open_settings(self, *_args: Any) -> bool:
        """No settings panel on a kiosk: Kivy opens one on F1 or the menu key, and it can change how the app
        quits. The lock-down swallows those keys; this closes the door behind them (also for the demo)."""
        return False

    def _start_notify(self) -> None:
        """Tell systemd the kiosk is up (after the first frame) and ping its watchdog from this loop."""
        from kiosk.ops.notify import Notifier, Watchdog

        notifier = Notifier.from_env()
        if not notifier.enabled:
            return
        watchdog = Watchdog(notifier, [self.kiosk.store.ping])
        Clock.schedule_once(lambda _dt: notifier.ready(f"serving as {self.kiosk_id}"), 0)
        if watchdog.interval_s:
            Clock.schedule_interval(lambda _dt: watchdog.ping(), watchdog.interval_s)

    def _rotated(self, _window: object, _rotation: int) -> None:
        """The picture was turned: lay out for the window's new shape (a landscape panel mounted portrait
        lays out as portrait)."""
        look.use(self.kiosk.cfg.display, *Window.size)

    def on_stop(self) -> None:
        self.guard.remove()
        Window.unbind(rotation=self._rotated)
        self._halt.set()
        if self._camera is not None:
            self._camera.join(timeout=2)
        self.kiosk.close()

    # -- events in --------------------------------------------------------------------------

    def post(self, event: ev.Event) -> None:
        self.kiosk.post(event)

    def press(self, action: str, value: str = "") -> None:
        self.post(ev.Press(action, value))

    def _camera_loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.kiosk.scan_frame()
            except Exception:
                log.exception("camera pass failed")
            self._halt.wait(1 / CAMERA_FPS)

    # -- state out --------------------------------------------------------------------------

    def _on_session(self, s: Session) -> None:
        if s.lang != tr.lang:
            tr.switch(s.lang)
        self.lang = s.lang
        self.other_language_name = LANGUAGE_NAMES["en" if s.lang == "id" else "id"]
        self.help_called = s.help_called
        self.can_cancel = offers_cancel(s.step)
        self.step_number = STEP_NUMBERS.get(s.step, 0)
        idle = s.step == Step.IDLE
        if idle and not self._idle:
            self._visit_ended()
        self._idle = idle
        if self.idle_display is not None:
            self.idle_display.follow(idle)
        Clock.schedule_once(lambda _dt: self.speak_screen(), 0.1)  # after the screen has its new texts
        if self.root is not None:
            self.root.show_corner(s.step == Step.IDLE)
        if self.sm is not None:
            self.sm.current = s.step.value
            screen = self.sm.current_screen
            if isinstance(screen, StepScreen):
                screen.session = s
        if self.warning is not None:
            if s.warned:
                self._count_down()
            if s.warned and self.warning.parent is None:
                self.warning.open(animation=False)
            elif not s.warned and self.warning.parent is not None:
                self.warning.dismiss(animation=False)
        status = self.refresh_badge()
        if slip_for(s.step) or s.step == Step.OPERATOR:
            self.printer_ok = status.printer == PrinterState.OK
            self.printer_state = PRINTER_STATES[status.printer.value]
        if s.step == Step.OPERATOR:
            self.outbox_pending = status.outbox_pending
            self.vault_cards = status.vault_cards
            self.vault_alarms = sorted(status.alarms)
            reader = status.state_of("reader")
            self.reader_state = PART_STATES[reader.state.value if reader else "failed"]

    def _count_down(self) -> None:
        s, flow = self.kiosk.session, self.kiosk.cfg.flow
        if self.warning is not None and s.warned:
            left = s.last_activity + flow.timeout_for(s.step) - self.kiosk.clock()
            self.warning.seconds = max(0, round(left))

    def toggle_accessible(self) -> None:
        """Larger text, high contrast and speech on (or back), from the idle screen's corner. It lasts for the
        visit that follows: when the kiosk returns to idle the next resident starts from the default."""
        look.large = not look.large
        if look.large:
            self.speech_on = True

    def _visit_ended(self) -> None:
        """Back to idle after a visit (or operator mode): the accessible mode off, speech as configured, and
        the memory the visit freed handed back once the idle screen is drawn (kiosk.ops.memory)."""
        look.large = False
        self.speech_on = self.kiosk.cfg.speech.enabled
        Clock.schedule_once(lambda _dt: release_free_heap(), 1.0)

    def listen_again(self) -> None:
        """Say this screen's instruction again (and turn speech on: a tap on the loudspeaker asks for it)."""
        self.speech_on = True
        self._said = ""
        Clock.schedule_once(lambda _dt: self.speak_screen(), 0)

    def speak_screen(self) -> None:
        """Say what the screen shows as its instruction, once per change, in the screen's language."""
        screen = self.sm.current_screen if self.sm else None
        text = spoken_text(screen) if screen is not None else ""
        if not self.speech_on or not text or text == self._said:
            return
        self._said = text
        self.kiosk.parts.speaker.say(text, self.lang)

    def refresh_badge(self) -> StatusSnapshot:
        """The staff line in the corner: kiosk ID, events waiting, and since when the link is down; and
        the residents' notice of what this kiosk cannot do right now. Returns the snapshot it read."""
        status = self.kiosk.status()
        self.service_notice = status.service_notice
        parts = [self.kiosk_id]
        if status.outbox_pending:
            parts.append(tr._("outbox {n}").format(n=status.outbox_pending))
        if status.offline_since is not None:
            local = dt.datetime.fromtimestamp(status.offline_since + self.kiosk.cfg.flow.utc_offset_s, dt.UTC)
            parts.append(tr._("offline since {time}").format(time=local.strftime("%H:%M")))
        self.staff_badge = " · ".join(parts)
        return status

    def _refresh_camera(self, _dt: float) -> None:
        screen = self.sm.current_screen if self.sm else None
        viewer = screen.ids.get("viewer") if screen is not None else None
        if viewer is not None:
            viewer.show_frame(self.kiosk.last_frame)


def window_setup(windowed: bool, width: int, height: int, rotation: int = 0) -> None:
    """The window: `width` x `height` (the panel's own pixels) or full screen, its picture turned by
    `rotation` degrees (Kivy turns touches with it)."""
    Window.rotation = 0
    if windowed:
        Window.size = (width, height)
    else:
        Window.fullscreen = "auto"
        Window.show_cursor = False
    Window.rotation = rotation
    log.info("window %s, rotation %d, dpi %.0f", Window.size, rotation, Metrics.dpi)


def run_kiosk(cfg: KioskConfig, parts: Parts, health: Health, windowed: bool = False) -> int:
    """`kiosk run`: the kiosk as configured, on parts already built (kiosk.runner.parts.build_parts)."""
    from kiosk.gateway.client import GatewayClient
    from kiosk.store import Store
    from kiosk.sync.worker import SyncWorker

    store = Store(cfg.db_path)
    client = GatewayClient.for_kiosk(cfg)
    kiosk = Kiosk(cfg, store, client, parts, health=health)
    parts.reader.start()
    sync = SyncWorker(store, client, health=health)
    kiosk.attach_sync(sync)
    sync.start()
    ops = None
    if cfg.ops_listen is not None:
        from kiosk.ops.metrics import OpsServer

        ops = OpsServer(kiosk)
        log.info("metrics and health at %s", ops.start(*cfg.ops_listen))
    display = cfg.display
    window_setup(windowed or not display.fullscreen, display.width, display.height, display.rotation)
    try:
        KioskApp(kiosk, lockdown=KIOSK).run()  # locked, whatever else this process chose
    finally:
        if ops is not None:
            ops.stop()
        sync.stop()
        parts.vault.close()
        store.close()
    return 0

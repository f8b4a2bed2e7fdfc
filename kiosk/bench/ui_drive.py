"""The resident journeys of `kiosk bench ui`'s `journeys` child, driven through the kiosk's real window on
the simulated world: the demo panel's acts on the simulated camera, reader and vault, and the screens'
presses posted as their buttons post them. Used by kiosk.bench.ui_child."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.flow import events as ev
from kiosk.flow.model import Session, Step
from kiosk.hardware.backlight import SimBacklight
from kiosk.hardware.camera import Face, HeldTicket, Nothing, PrintedCard
from kiosk.identity.ticket import Service
from kiosk.ops.memory import release_free_heap, rss_kib
from kiosk.sim.journeys import SimClock
from kiosk.sim.office import Resident
from kiosk.sim.speaker import RecordingSpeaker
from kiosk.sim.world import World

if TYPE_CHECKING:  # Kivy is imported inside functions, once its environment is set (ui_child's prepare_kivy)
    from kiosk.app import KioskApp

JOURNEY_DEADLINE_S = 30.0  # wall-clock time one journey may take before it counts as stuck
# journey kind -> weight: the demo's mix of pickups, bookings, status lookups, refusals and give-ups
MIX = {
    "pickup": 24,
    "booking": 16,
    "status": 16,
    "forged_ticket": 4,
    "expired_ticket": 4,
    "foreign_ticket": 4,
    "used_ticket": 4,
    "cancel": 5,
    "help": 5,
}
REFUSALS = ("forged_ticket", "expired_ticket", "foreign_ticket", "used_ticket")
ASKING = ("verification", "printing", "waiting_blanko", "ready_elsewhere")  # statuses a lookup shows


class Stuck(Exception):
    """A journey did not reach the step it was waiting for."""


class Walker:
    """Walks residents through the real app: the demo panel's acts on the simulated camera, reader and
    vault, the screens' presses posted as their buttons post them, frames pumped until each step shows."""

    def __init__(self, app: KioskApp, world: World, clock: SimClock, rng: random.Random, english: float) -> None:
        self.app, self.w, self.clock, self.rng = app, world, clock, rng
        self.english = english  # the share of residents who switch the screens to English
        self.deadline = 0.0
        self.last_accepted = ""  # the last ticket that started a visit (shown again: used_ticket)
        self.pickups = iter(world.residents("ready_here"))  # each card leaves the vault once
        self.bookers = world.residents("never_recorded")
        self.asking = [r for r in world.gateway.residents if r.status in ASKING]

    # -- frames and steps -------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.w.kiosk.session

    def frame(self) -> None:
        from kivy.base import EventLoop

        EventLoop.idle()
        if time.monotonic() > self.deadline:
            raise Stuck(f"at {self.session.step.value}")

    def shows(self, step: Step) -> bool:
        """Whether the window's current screen is this step's."""
        return self.app.root is not None and self.app.root.ids.sm.current == step.value

    def until(self, *steps: Step, after: Session | None = None, check: Callable[[], bool] | None = None) -> None:
        """Pump frames until the session is at one of `steps` (and differs from `after`), its screen is
        current and drawn; a refusal nobody waited for ends the journey at once."""
        refused_before = self.session.step == Step.REFUSED
        while True:
            s = self.session
            if s.step in steps and (after is None or s != after) and (check is None or check()) and self.shows(s.step):
                break
            if s.step == Step.REFUSED and not refused_before and Step.REFUSED not in steps:
                raise Stuck(f"refused: {s.reason.value if s.reason else '?'}")
            self.frame()
        self.frame()  # that step's screen, drawn

    def press(self, action: str, value: str = "", *steps: Step) -> None:
        """A button on screen: post what it posts, then wait for one of `steps` (if any)."""
        before = self.session
        self.app.post(ev.Press(action, value))
        if steps:
            self.until(*steps, after=before)

    # -- what the demo panel does -----------------------------------------------------------------

    def show_ticket(self, r: Resident, service: Service, **kw: Any) -> str:
        text = self.w.gateway.issue_ticket(r, service, **{"now": self.clock(), **kw})
        self.w.camera.show(HeldTicket(text))
        return text

    def put_away(self) -> None:
        self.w.camera.show(Nothing())

    def present_card(self, r: Resident, *steps: Step) -> None:
        """The old KTP: on the reader if it has a chip, else held up to the camera (or, one time in
        three, its NIK typed on the keypad)."""
        if r.old_chip_uid:
            self.w.reader.insert(r.old_chip_uid)
            self.until(*steps, Step.NIK_ENTRY)
            self.w.reader.remove()
            if self.session.step != Step.NIK_ENTRY:  # else the chip could not be checked: type the NIK
                return
        elif self.rng.random() < 1 / 3:
            self.press(ev.TYPE_NIK, "", Step.NIK_ENTRY)
        else:
            self.w.camera.show(PrintedCard(r.nik))
            self.until(*steps)
            self.put_away()
            return
        before = self.session
        self.app.post(ev.NikRead(r.nik, "typed"))  # what the keypad's OK posts
        self.until(*steps, after=before)

    def start_visit(self, r: Resident, service: Service) -> None:
        text = self.show_ticket(r, service)
        self.until(Step.CARD)
        self.put_away()
        self.last_accepted = text
        if self.english and self.rng.random() < self.english:
            self.press(ev.LANGUAGE, "", Step.CARD)

    def finish(self) -> None:
        if self.session.step != Step.REFUSED and self.rng.random() < 0.5:
            self.press(ev.PRINT)
        self.press(ev.FINISH, "", Step.IDLE)

    # -- journeys ---------------------------------------------------------------------------------

    def walk(self, kind: str) -> None:
        """One resident's journey of this kind, to its end screen and back to idle; Stuck if not."""
        self.deadline = time.monotonic() + JOURNEY_DEADLINE_S
        everyone = self.w.gateway.residents
        if kind == "pickup":
            r = next(self.pickups)
            self.start_visit(r, Service.PICKUP)
            self.present_card(r, Step.FACE, Step.RELEASE)
            self.w.camera.show(Face(r.person))
            self.until(Step.RELEASE, check=lambda: self.w.vault.moving is not None)
            self.put_away()
            self.w.vault.take()
            self.until(Step.TAP_NEW)
            self.w.reader.insert(r.new_chip_uid or "")
            self.until(Step.HANDED_OVER)
            self.w.reader.remove()
            self.finish()
        elif kind == "booking":
            r = self.rng.choice(self.bookers)
            self.start_visit(r, Service.RECORDING)
            self.present_card(r, Step.CHOOSE_OFFICE)
            for office in self.session.offices:  # the first office with free days
                self.press(ev.CHOOSE_OFFICE, office.office_id, Step.CHOOSE_DAY, Step.CHOOSE_OFFICE)
                if self.session.step == Step.CHOOSE_DAY:
                    break
            self.press(ev.CHOOSE_DAY, self.rng.choice(self.session.days), Step.CHOOSE_TIME)
            self.press(ev.CHOOSE_TIME, self.rng.choice(self.session.times).time, Step.CONFIRM_BOOKING)
            self.press(ev.CONFIRM, "", Step.BOOKED)
            self.finish()
        elif kind == "status":
            r = self.rng.choice(self.asking)
            self.start_visit(r, Service.STATUS)
            self.present_card(r, Step.STATUS)
            self.finish()
        elif kind in REFUSALS:
            self.refused_ticket(kind, self.rng.choice(everyone))
        elif kind == "cancel":
            self.start_visit(self.rng.choice(everyone), Service.STATUS)
            self.press(ev.CANCEL, "", Step.IDLE)
        elif kind == "help":
            self.start_visit(self.rng.choice(everyone), Service.STATUS)
            self.press(ev.HELP, "", Step.CARD)
            self.press(ev.CANCEL, "", Step.IDLE)
        else:
            raise ValueError(f"unknown journey kind {kind}")

    def refused_ticket(self, kind: str, r: Resident) -> None:
        if kind == "forged_ticket":
            self.show_ticket(r, Service.STATUS, key=Ed25519PrivateKey.generate())
        elif kind == "expired_ticket":
            self.show_ticket(r, Service.STATUS, now=self.clock() - 8 * 3600, valid_s=3600)
        elif kind == "foreign_ticket":
            self.show_ticket(r, Service.STATUS, office="KEC-01")
        else:
            self.w.camera.show(HeldTicket(self.last_accepted))
        self.until(Step.REFUSED)
        self.put_away()
        self.finish()

    def recover(self) -> None:
        """After a stuck journey: everything put away and the resident gone; the kiosk times out to idle."""
        self.put_away()
        self.w.reader.remove()
        self.app.post(ev.Press(ev.CANCEL))
        self.deadline = time.monotonic() + JOURNEY_DEADLINE_S
        while self.session.step != Step.IDLE:
            self.clock.advance(30)  # past any step's timeout within a few ticks
            self.w.kiosk.tick()
            self.frame()

    def settled_rss(self, camera_frames: int = 3) -> int:
        """RSS after a garbage collection, the least of the reads one window frame apart over the
        time of `camera_frames` of the camera's frames: its frames (2.7 MB each, one to three alive at any moment,
        mapped and unmapped whole) come and go between reads, so one read, or reads over less than a camera
        frame (five window frames were), is off by whole frames; what stays is held."""
        from kivy.base import EventLoop

        from kiosk.app import CAMERA_FPS

        least = None
        until = time.monotonic() + camera_frames / CAMERA_FPS
        while least is None or time.monotonic() < until:
            EventLoop.idle()
            release_free_heap()  # as the kiosk does after each visit: what stays is held, not the heap's peak
            rss = rss_kib()
            least = rss if least is None else min(least, rss)
        assert least is not None
        return least

    def expire_timed_caches(self) -> None:
        """What the minute between two residents does to Kivy's caches that expire on real time (label
        textures, images, resource lookups: 60 s): the benchmark walks a resident about every second of
        real time, so without this those caches would hold the last minute's fifty journeys, as no kiosk's
        does. The caches without a timeout (atlases, GL textures) and the shaders' hour stay as they are."""
        from kivy.cache import Cache

        for category in ("kv.texture", "kv.image", "kv.resourcefind"):
            Cache.remove(category)

    def forget_sim_records(self) -> None:
        """The simulators keep what they did for tests to inspect (slips printed, lights, gates, requests,
        prompts said, backlight levels); real parts and a remote gateway keep none of it in the kiosk's
        process, so neither does this."""
        self.w.printer.printed.clear()
        self.w.indicators.history.clear()
        self.w.vault.history.clear()
        self.w.gateway.access_log.clear()
        parts = self.w.kiosk.parts
        if isinstance(parts.speaker, RecordingSpeaker):  # every prompt said: several a journey
            parts.speaker.clear()
        if isinstance(parts.backlight, SimBacklight):  # every level set: at least one a simulated minute
            parts.backlight.levels[:-1] = []


def people_needed(kinds: list[str]) -> int:
    """Residents in each status in each of the six kecamatan the town needs: every pickup takes a card out
    of the vault for good, so enough ready_here residents for all of them."""
    return max(2, math.ceil((kinds.count("pickup") + 1) / 6))


def plan(journeys: int, seed: int) -> list[str]:
    """The journey kinds in order, drawn from MIX; the same for a given seed."""
    kinds = random.Random(seed).choices(list(MIX), weights=list(MIX.values()), k=journeys)
    if kinds and kinds[0] == "used_ticket":  # no ticket was shown before the first resident
        kinds[0] = "status"
    return kinds

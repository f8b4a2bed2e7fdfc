"""The event loop: events from any thread go into one inbox; the loop thread runs them through the flow,
one at a time, and hands each effect the flow asks for to the effect table.

Threading: `post()` may be called from any thread (reader, camera, workers); `pump()` runs on one loop
thread (the UI thread in the app) and is the only caller of the flow.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import FlowConfig, start, step
from kiosk.flow.model import Session, Step

log = logging.getLogger(__name__)


@dataclass
class Counters:
    """What happened since start (for metrics, the heartbeat and `kiosk simulate`)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)  # reported by the gateway, by kind

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def refused(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1

    def conflict(self, kind: str) -> None:
        self.conflicts[kind] = self.conflicts.get(kind, 0) + 1


def visit_outcome(last: Session, event: ev.Event) -> str:
    """How a visit ended, named by the step it left from."""
    named = {Step.HANDED_OVER: "handed_over", Step.BOOKED: "booked", Step.STATUS: "status", Step.REFUSED: "refused"}
    if last.step in named:
        return named[last.step]
    if last.step in (Step.OPERATOR_PIN, Step.OPERATOR):
        return "operator"
    if last.step == Step.TAP_NEW:
        return "handed_over_unconfirmed"
    if isinstance(event, ev.Press) and event.action == ev.CANCEL:
        return "cancelled"
    return "abandoned"


@dataclass(frozen=True)
class Refresh:
    """Not a journey event: the parts' state changed, so the listeners show the session again."""


SessionListener = Callable[[Session], None]
VisitListener = Callable[[str, float], None]  # (outcome, seconds) when a visit ends


class EventLoop:
    """The one place the flow runs: inbox, session, listeners, and what each visit came to."""

    def __init__(
        self,
        flow: FlowConfig,
        language: str,
        clock: Callable[[], float],
        carry_out: Callable[[fx.Effect], None],
        counters: Counters,
    ) -> None:
        self.flow = flow
        self.clock = clock
        self.carry_out = carry_out
        self.counters = counters
        self.session: Session = start(language)
        self.inbox: queue.Queue[ev.Event | Refresh] = queue.Queue()
        self.wakeup: Callable[[], None] = lambda: None
        self.listeners: list[SessionListener] = []
        self.visit_ended: list[VisitListener] = []
        self._visit_started = 0.0
        self._pumping = threading.Lock()

    def post(self, event: ev.Event | Refresh) -> None:
        """Queue an event from any thread."""
        self.inbox.put(event)
        self.wakeup()

    def pump(self) -> Session:
        """Run every queued event through the flow (on the loop thread)."""
        with self._pumping:
            while True:
                try:
                    event = self.inbox.get_nowait()
                except queue.Empty:
                    return self.session
                if isinstance(event, Refresh):
                    self.notify()
                else:
                    self._run(event)

    def dispatch(self, event: ev.Event) -> Session:
        """Post one event and pump (convenience for the loop thread)."""
        self.post(event)
        return self.pump()

    def tick(self) -> Session:
        return self.dispatch(ev.Tick())

    def notify(self) -> None:
        """Tell every listener the session again (something they show besides it changed)."""
        for listener in list(self.listeners):
            listener(self.session)

    def _run(self, event: ev.Event) -> None:
        before = self.session
        try:
            self.session, effects = step(before, event, self.clock(), self.flow)
        except Exception:  # a bug in the flow must not leave a resident on a dead screen
            log.exception("flow failed on %s in %s", type(event).__name__, before.step)
            self.counters.errors += 1
            self.session, effects = start(), (fx.EndVisit(),)
        self._count(before, event)
        for effect in effects:
            try:
                self.carry_out(effect)
            except Exception:
                log.exception("effect %s failed", type(effect).__name__)
                self.counters.errors += 1
        if self.session != before:
            self.notify()

    def _count(self, before: Session, event: ev.Event) -> None:
        now = self.session
        if now.step == Step.REFUSED and before.step != Step.REFUSED and now.reason:
            self.counters.refused(now.reason.value)
        if before.step == Step.IDLE and now.step != Step.IDLE:
            self._visit_started = self.clock()
        if now.step == Step.IDLE and before.step != Step.IDLE:
            outcome = visit_outcome(before, event)
            self.counters.count(outcome)
            for ended in list(self.visit_ended):
                ended(outcome, max(0.0, self.clock() - self._visit_started))

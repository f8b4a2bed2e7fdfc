"""The effect table: one handler per effect type, each declaring whether it runs inline on the loop
thread (quick bookkeeping), on a worker (anything that waits on a part or a slow hash) or on the gateway's
own workers (anything that waits on the gateway: a stalled link never delays a release or a face check).
A handler gets everything it needs in the effect itself and may answer with one event for the flow."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from kiosk.flow import effects as fx
from kiosk.flow import events as ev

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    """How one effect type is carried out."""

    run: Callable[[Any], ev.Event | None]
    on_worker: bool = False
    gateway: bool = False  # on the gateway's workers, not the parts'


def inline(run: Callable[[Any], ev.Event | None]) -> Handler:
    return Handler(run, on_worker=False)


def worker(run: Callable[[Any], ev.Event | None]) -> Handler:
    return Handler(run, on_worker=True)


def gateway_worker(run: Callable[[Any], ev.Event | None]) -> Handler:
    return Handler(run, on_worker=True, gateway=True)


class InlineExecutor(Executor):
    """Runs work at once on the caller's thread (for `kiosk simulate` and tests)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


class EffectTable:
    """Looks up each effect's handler and runs it where it declared; results go back to the loop."""

    def __init__(
        self,
        handlers: Mapping[type, Handler],
        post: Callable[[ev.Event], None],
        executor: Executor,
        on_error: Callable[[], None],
        gateway_executor: Executor | None = None,
        current_visit: Callable[[], int] | None = None,
    ) -> None:
        """`gateway_executor` runs the gateway handlers (default: `executor`); with `current_visit`, gateway
        work queued for a visit that has ended since is dropped before it waits on the gateway (offline, a
        few abandoned visits' calls would otherwise hold the next resident's behind them)."""
        missing = [t.__name__ for t in fx.Effect.__args__ if t not in handlers]
        if missing:
            raise TypeError(f"effects without a handler: {', '.join(missing)}")
        self.handlers = dict(handlers)
        self.post = post
        self.executor = executor
        self.gateway_executor = gateway_executor or executor
        self.current_visit = current_visit
        self.on_error = on_error

    def __call__(self, effect: fx.Effect) -> None:
        handler = self.handlers[type(effect)]
        if handler.on_worker:
            pool = self.gateway_executor if handler.gateway else self.executor
            pool.submit(self._in_background, handler, effect)
            return
        result = handler.run(effect)
        if result is not None:
            self.post(result)

    def _in_background(self, handler: Handler, effect: fx.Effect) -> None:
        visit = getattr(effect, "visit", None)
        if handler.gateway and self.current_visit is not None and visit is not None and visit != self.current_visit():
            log.info("%s of visit %s dropped: that visit has ended", type(effect).__name__, visit)
            return
        try:
            result = handler.run(effect)
        except Exception:
            log.exception("%s failed in the background", type(effect).__name__)
            self.on_error()
            return
        if result is not None:
            self.post(result)

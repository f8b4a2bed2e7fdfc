"""One kiosk, assembled: the event loop, intake, the effect table and its handlers, the resident and
vault desks, the status board and the upkeep the outbox worker runs. The Kivy app, `kiosk simulate`
and the tests all drive this object; it decides nothing itself (the flow does).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

import numpy as np

from kiosk.config import KioskConfig
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.model import Session, Step
from kiosk.flow.rules import Part, part_to_use, slip_for
from kiosk.gateway.client import GatewayClient
from kiosk.gateway.head import HeadSigner
from kiosk.health import Health
from kiosk.identity.face_check import LiveFaceVerifier
from kiosk.identity.templates import Templates
from kiosk.runner.desk import ResidentDesk
from kiosk.runner.effects import EffectTable
from kiosk.runner.handlers import EffectHandlers
from kiosk.runner.intake import Intake
from kiosk.runner.loop import Counters, EventLoop, Refresh, SessionListener, VisitListener
from kiosk.runner.parts import Parts
from kiosk.runner.status import StatusBoard, StatusSnapshot
from kiosk.runner.upkeep import Upkeep
from kiosk.runner.vaultdesk import Reconciled, VaultDesk
from kiosk.store import Store
from kiosk.store.sealed import Sealer
from kiosk.sync.worker import SyncWorker

log = logging.getLogger(__name__)


class Kiosk:
    """One kiosk: flow session, store, gateway and parts, wired together."""

    def __init__(
        self,
        cfg: KioskConfig,
        store: Store,
        gateway: GatewayClient,
        parts: Parts,
        *,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
        gateway_executor: Executor | None = None,
        health: Health | None = None,
    ) -> None:
        """`executor` runs the work that waits on parts, `gateway_executor` the work that waits on the
        gateway (by default their own thread pools; a given `executor` alone runs both)."""
        self.cfg, self.store, self.gateway, self.parts, self.clock = cfg, store, gateway, parts, clock
        self.health = health or Health()
        self.gateway_executor = (
            gateway_executor or executor or ThreadPoolExecutor(2, thread_name_prefix="kiosk-gateway")
        )
        self.executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiosk-work")
        self.counters = Counters()
        self.templates = Templates(store, Sealer.from_file(cfg.seal_key_path), parts.enrol)
        self.vault = self._vault_desk()
        self.desk = ResidentDesk(
            cfg.kiosk_id, cfg.office, store, gateway, self.vault, self.templates.sealer.keyed_digest, cfg.flow, clock
        )
        self.status_board = StatusBoard(
            cfg.kiosk_id, store, self.health, self.vault, parts.printer, self.counters, cfg.data_dir
        )
        signer = HeadSigner.from_file(cfg.kiosk_id, cfg.journal_key_path)
        self.upkeep = Upkeep(store, gateway, self.status_board, self.today, signer)
        self.loop = EventLoop(cfg.flow, cfg.language, clock, self._carry_out, self.counters)
        self.intake = Intake(cfg, parts.camera, parts.nik_reader, store, self.health, self.loop.post, clock)
        if isinstance(parts.face, LiveFaceVerifier):  # it reads the frames the screen shows, and the templates
            parts.face.attach(lambda: self.last_frame, self.templates.get)
        handlers = EffectHandlers(
            cfg, store, parts, self.health, self.desk, self.vault, self.status_board, self.post, self.refresh, clock
        )
        self.effects = EffectTable(
            handlers.table(),
            self.post,
            self.executor,
            self._count_error,
            gateway_executor=self.gateway_executor,
            current_visit=lambda: self.loop.session.visit,
        )
        self._pointed: tuple[Part | None, int | None] | None = None  # where the guide lights point now
        self.loop.listeners.extend([self.intake.follow, self._follow, self._point])
        self.reconciled: list[Reconciled] = self.vault.reconcile()  # before the first resident is served
        self._point(self.session)  # the idle screen's camera, before anyone arrives
        parts.reader.subscribe(self.intake.on_card_event)

    def _vault_desk(self) -> VaultDesk:
        """The vault desk, on the vault's parts, with the hardware's timeouts and the kiosk's templates."""
        hw = self.cfg.hardware
        return VaultDesk(
            self.parts.vault,
            self.store,
            self.gateway,
            self.parts.indicators,
            self.health,
            release_timeout_s=hw.release_timeout_s,
            load_timeout_s=hw.load_timeout_s,
            unload_after_days=hw.unload_after_days,
            templates=self.templates,
            clock=self.clock,
            today=lambda: self.today().isoformat(),
        )

    def today(self) -> dt.date:
        """Today, kiosk-local."""
        return self.cfg.flow.today(self.clock())

    # -- the loop ---------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.loop.session

    @property
    def listeners(self) -> list[SessionListener]:
        return self.loop.listeners

    @property
    def visit_ended(self) -> list[VisitListener]:
        return self.loop.visit_ended

    @property
    def wakeup(self) -> Callable[[], None]:
        return self.loop.wakeup

    @wakeup.setter
    def wakeup(self, fn: Callable[[], None]) -> None:
        self.loop.wakeup = fn

    def post(self, event: ev.Event) -> None:
        """Queue an event from any thread."""
        self.loop.post(event)

    def pump(self) -> Session:
        return self.loop.pump()

    def dispatch(self, event: ev.Event) -> Session:
        return self.loop.dispatch(event)

    def tick(self) -> Session:
        return self.loop.tick()

    def refresh(self) -> None:
        """From any thread: views show the parts' state again on the loop thread."""
        self.loop.post(Refresh())

    def _carry_out(self, effect: fx.Effect) -> None:
        self.effects(effect)

    def _count_error(self) -> None:
        self.counters.errors += 1

    def _follow(self, s: Session) -> None:
        """Operator mode lets the door open; a screen that can print, or operator mode, wants to know
        whether the printer can (asked on a worker: the printer is I/O)."""
        self.vault.maintenance = s.step == Step.OPERATOR
        if slip_for(s.step) or s.step == Step.OPERATOR:
            self.executor.submit(self._probe_printer)

    def _point(self, s: Session) -> None:
        """The guide lights and the buzzer point at the part this step uses, once each time it changes. They
        are a help, not the journey: a fault there is logged and counted, and the visit goes on."""
        target = part_to_use(s)
        if target == self._pointed:
            return
        self._pointed = target
        try:
            self.parts.indicators.point(*target)
        except Exception:
            log.exception("guide lights failed pointing at %s", target[0])
            self.counters.errors += 1

    def _probe_printer(self) -> None:
        before = self.status_board.printer_state
        if self.status_board.probe_printer() != before:
            self.refresh()

    # -- camera -----------------------------------------------------------------------------------

    def scan_frame(self) -> list[str]:
        """Read one frame from the camera and post what it shows (see Intake.scan_frame)."""
        return self.intake.scan_frame()

    @property
    def last_frame(self) -> np.ndarray | None:
        return self.intake.last_frame

    # -- status and sync --------------------------------------------------------------------------

    def status(self) -> StatusSnapshot:
        """The read-only status snapshot every reader uses."""
        return self.status_board.snapshot()

    def use_gateway(self, gateway: GatewayClient) -> None:
        """Talk to the gateway through `gateway` from now on (a new client certificate, say)."""
        self.gateway = self.desk.gateway = self.vault.gateway = self.upkeep.gateway = gateway

    def attach_sync(self, sync: SyncWorker) -> None:
        """Let the outbox worker run the upkeep after each drain that reached the gateway."""
        self.upkeep.attach(sync)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.gateway_executor.shutdown(wait=False, cancel_futures=True)

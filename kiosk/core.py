"""The kiosk without its window: runs events through the flow and carries out the flow's effects
through the ports (hardware, gateway, store). The Kivy app and `kiosk simulate` both drive this.

Threading: `post()` may be called from any thread (reader, camera, workers); `pump()` runs on one
loop thread (the UI thread in the app) and is the only caller of the flow.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.config import KioskConfig
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import start, step
from kiosk.flow.model import Booking, CardStatus, Lookup, Office, OperatorNote, Reason, Session, Slot, Step
from kiosk.gateway.client import GatewayClient, GatewayRefused, GatewayUnavailable
from kiosk.hardware.camera import Camera
from kiosk.hardware.indicators import Indicators, Light
from kiosk.hardware.printer import Document, Printer, PrinterState
from kiosk.hardware.reader import CardEvent, CardFailed, CardGone, CardPresented, CardReader
from kiosk.hardware.vault import Vault
from kiosk.i18n import N_, tr
from kiosk.identity.face import FaceVerifier
from kiosk.identity.nik import mask_nik
from kiosk.identity.operator import Attempts, judge
from kiosk.identity.printed_nik import NoNikReader, PrintedNikReader
from kiosk.identity.qr import QrScanner
from kiosk.identity.templates import Enrol, Templates
from kiosk.identity.ticket import Service, Ticket, TicketRefusal, public_key_from_hex, verify_ticket
from kiosk.ops.health import Health, State
from kiosk.store import Store
from kiosk.store.sealed import Sealer
from kiosk.sync.worker import SyncWorker
from kiosk.texts import STALE_NOTE, STATUSES
from kiosk.vaultdesk import VaultDesk

log = logging.getLogger(__name__)

# journal kinds that also go to the gateway through the outbox
OUTBOX_KINDS = frozenset(
    {
        "ticket_accepted",
        "ticket_refused",
        "refused",
        "booked",
        "help_called",
        "cancelled",
        "abandoned",
        "face_check",
        "wrong_card_tapped",
    }
)
TICKET_REPEAT_S = 5.0  # the same QR text is not re-reported until it was out of view this long
CAMERA_MISSES_FAILED = 30  # frames in a row without a picture (3 s at 10 fps): the camera has failed


def clock_synchronised() -> bool | None:
    """systemd-timesyncd's view of the clock (None where timedatectl cannot say)."""
    if shutil.which("timedatectl") is None:
        return None
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return value == "yes" if out.returncode == 0 and value in ("yes", "no") else None


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


class InlineExecutor(Executor):
    """Runs work at once on the caller's thread (for `kiosk simulate` and tests)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


@dataclass
class Parts:
    """The kiosk's hardware, behind its ports."""

    camera: Camera
    reader: CardReader
    vault: Vault
    printer: Printer
    indicators: Indicators
    face: FaceVerifier
    nik_reader: PrintedNikReader = field(default_factory=NoNikReader)
    enrol: Enrol | None = None  # computes a face template from a recording photo (None: simulated faces)


@dataclass
class Counters:
    """What happened since start (for metrics and `kiosk simulate`)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class KioskCore:
    """One kiosk: flow session, store, gateway and parts."""

    def __init__(
        self,
        cfg: KioskConfig,
        store: Store,
        gateway: GatewayClient,
        parts: Parts,
        *,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
        health: Health | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.gateway = gateway
        self.parts = parts
        self.clock = clock
        self.health = health or Health()
        self.executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiosk-work")
        self.keys = {kid: public_key_from_hex(k) for kid, k in cfg.ticket_keys.items()}
        self.session: Session = start(cfg.language)
        self.counters = Counters()
        self.inbox: queue.Queue[ev.Event] = queue.Queue()
        self.wakeup: Callable[[], None] = lambda: None
        self.listeners: list[Callable[[Session], None]] = []
        self.last_frame: np.ndarray | None = None
        self._last_qr: tuple[str, float] = ("", 0.0)
        self.qr = QrScanner()
        self._camera_misses = 0
        self.sync: SyncWorker | None = None  # the outbox worker, once attached
        self._manifest_version: int | None = None
        self._visit_started = 0.0
        self.visit_ended: list[Callable[[str, float], None]] = []  # (outcome, seconds) when a visit ends
        self._pumping = threading.Lock()
        self.templates = Templates(store, Sealer.from_file(cfg.seal_key_path), parts.enrol)
        self.desk = VaultDesk(
            parts.vault,
            store,
            gateway,
            parts.indicators,
            self.health,
            release_timeout_s=cfg.hardware.release_timeout_s,
            load_timeout_s=cfg.hardware.load_timeout_s,
            unload_after_days=cfg.hardware.unload_after_days,
            templates=self.templates,
            clock=clock,
        )
        self.listeners.append(self._track_operator_mode)
        self.reconciled = self.desk.reconcile()  # before the first resident is served
        parts.reader.subscribe(self._on_card_event)

    def attach_sync(self, sync: SyncWorker) -> None:
        """Let the outbox worker, after each drain that reached the gateway, poll the manifest, refresh
        the leases and send the heartbeat; and let the kiosk say how its link is."""
        self.sync = sync
        sync.after_sync.extend([self.refresh_manifest, self.refresh_leases, self.heartbeat])

    def link_up(self) -> bool | None:
        return self.sync.link_up if self.sync else None

    def offline_since(self) -> float | None:
        return self.sync.offline_since if self.sync else None

    def _track_operator_mode(self, s: Session) -> None:
        self.desk.maintenance = s.step == Step.OPERATOR

    # -- events in ----------------------------------------------------------------------------

    def post(self, event: ev.Event) -> None:
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
                self._dispatch(event)

    def dispatch(self, event: ev.Event) -> Session:
        """Post one event and pump (convenience for the loop thread)."""
        self.post(event)
        return self.pump()

    def tick(self) -> Session:
        return self.dispatch(ev.Tick())

    def _dispatch(self, event: ev.Event) -> None:
        before = self.session
        try:
            self.session, effects = step(before, event, self.clock(), self.cfg.flow)
        except Exception:  # a bug in the flow must not leave a resident on a dead screen
            log.exception("flow failed on %s in %s", type(event).__name__, before.step)
            self.counters.errors += 1
            self.session, effects = start(), (fx.EndVisit(),)
        if self.session.step == Step.REFUSED and before.step != Step.REFUSED and self.session.reason:
            self.counters.refusals[self.session.reason.value] = (
                self.counters.refusals.get(self.session.reason.value, 0) + 1
            )
        if before.step == Step.IDLE and self.session.step != Step.IDLE:
            self._visit_started = self.clock()
        if self.session.step == Step.IDLE and before.step != Step.IDLE:
            outcome = visit_outcome(before, event)
            self.counters.count(outcome)
            for ended in list(self.visit_ended):
                ended(outcome, max(0.0, self.clock() - self._visit_started))
        for effect in effects:
            try:
                self._apply(effect)
            except Exception:
                log.exception("effect %s failed", type(effect).__name__)
                self.counters.errors += 1
        if self.session != before:
            for listener in list(self.listeners):
                listener(self.session)

    def _on_card_event(self, event: CardEvent) -> None:
        if isinstance(event, CardPresented):
            operator = self.cfg.operator_for(event.uid)
            if operator is not None:
                self.post(ev.OperatorCard(operator.card_uid, operator.name))
            else:
                self.post(ev.CardInserted(event.uid, event.atr))
        elif isinstance(event, CardGone):
            self.post(ev.CardRemoved())
        elif isinstance(event, CardFailed):
            log.info("card could not be read: %s", event.reason)
            self.post(ev.CardUnreadable())

    # -- camera -------------------------------------------------------------------------------

    def scan_frame(self) -> list[str]:
        """Read one frame; while idle, decode and verify any ticket QR in it. Returns the QR texts."""
        frame = self.parts.camera.read()
        self.last_frame = frame
        step_now = self.session.step
        if frame is None:
            self._camera_misses += 1
            if self._camera_misses == CAMERA_MISSES_FAILED:  # a few seconds without a frame
                self.health.report("camera", State.FAILED, "no frames")
            return []
        if self._camera_misses:
            self._camera_misses = 0
        self.health.report("camera", State.OK, "")
        now = self.clock()
        if step_now == Step.CARD:
            nik = self.parts.nik_reader.read(frame)
            if nik and not self._seen(nik, now):
                self.post(ev.NikRead(nik, "ocr"))
            return []
        if step_now != Step.IDLE:
            return []
        texts = self.qr.scan(frame)
        for text in texts[:1]:
            if not self._seen(text, now):
                self.post(ev.TicketScanned(self.verify(text, now)))
        return texts

    def _seen(self, text: str, now: float) -> bool:
        """True if `text` was read moments ago; a code held in view stays quiet until gone a while."""
        repeated = text == self._last_qr[0] and now - self._last_qr[1] < TICKET_REPEAT_S
        self._last_qr = (text, now)
        return repeated

    def verify(self, text: str, now: float) -> Ticket | TicketRefusal:
        return verify_ticket(text, self.keys, self.cfg.office, now, self.store.ticket_used)

    # -- effects out --------------------------------------------------------------------------

    def _work(self, fn: Callable[[], ev.Event]) -> None:
        """Run slow work off the loop thread and post its result event."""

        def run() -> None:
            try:
                result = fn()
            except Exception:
                log.exception("background work failed")
                self.counters.errors += 1
                return
            self.post(result)

        self.executor.submit(run)

    def _apply(self, e: fx.Effect) -> None:
        s = self.session
        if isinstance(e, fx.Journal):
            data = {"kiosk": self.cfg.kiosk_id, **e.data}
            self.store.journal(e.kind, data, outbox=e.kind in OUTBOX_KINDS)
            log.info("journey %s %s", e.kind, e.data)
        elif isinstance(e, fx.ConsumeTicket):
            self.store.use_ticket(e.ticket_id)
            self.store.enqueue("ticket_consumed", {"ticket_id": e.ticket_id, "kiosk": self.cfg.kiosk_id}, e.ticket_id)
        elif isinstance(e, fx.ResolveChip):
            self._work(lambda: self._resolve_chip(e))
        elif isinstance(e, fx.LookUp):
            self._work(lambda: ev.LookupDone(e.visit, self._lookup(e.nik)))
        elif isinstance(e, fx.StartFaceCheck):
            self._work(lambda: self._face(e))
        elif isinstance(e, fx.ReleaseCard):
            self.parts.indicators.show(Light.BUSY)
            self._work(lambda: ev.VaultOutcome(e.visit, self.desk.release(e.slot, e.card_id)))
        elif isinstance(e, fx.RecordHandover):
            data = {
                "kiosk": self.cfg.kiosk_id,
                "card": e.card_id,
                "code": e.code,
                "confirmed": e.confirmed,
                "nik": mask_nik(s.nik or ""),
                "face_attempts": s.face_attempts,
                "nik_source": s.nik_source,
            }
            self.store.journal("handover", data, outbox=True, ordering_key=e.card_id)
        elif isinstance(e, fx.LoadOffices):
            self._work(lambda: ev.OfficesLoaded(e.visit, self._offices()))
        elif isinstance(e, fx.LoadSlots):
            self._work(lambda: ev.SlotsLoaded(e.visit, self._slots(e.office_id)))
        elif isinstance(e, fx.Book):
            self._work(lambda: self._book(e))
        elif isinstance(e, fx.PrintDocument):
            doc = self.document(s, e.document)
            if doc and not self.parts.printer.print_document(doc):
                log.warning("printer cannot print: %s", self.printer_state())
                self.health.error("printer")
                for listener in list(self.listeners):  # the screen now offers the on-screen QR instead
                    listener(self.session)
        elif isinstance(e, fx.CallOperator):
            self.store.journal(
                "operator_call", {"kiosk": self.cfg.kiosk_id, "step": e.step, "reason": e.reason}, outbox=True
            )
            self.parts.indicators.show(Light.ATTENTION)
            self.parts.indicators.beep(2)
        elif isinstance(e, fx.CheckPin):
            self._work(lambda: self._check_pin(e))
        elif isinstance(e, fx.LoadCard):
            operator = s.operator or "?"
            self._work(lambda: ev.OperatorDone(e.visit, self.desk.load(e.uid, operator, self._progress(e.visit))))
        elif isinstance(e, fx.UnloadNext):
            operator = s.operator or "?"
            self._work(lambda: ev.OperatorDone(e.visit, self.desk.unload_next(operator, self._progress(e.visit))))
        elif isinstance(e, fx.ClearAlarms):
            operator = s.operator or "?"
            self._work(lambda: ev.OperatorDone(e.visit, self.desk.clear_alarms(operator)))
        elif isinstance(e, fx.EndVisit):
            self.parts.indicators.show(Light.READY)

    def _progress(self, visit: int) -> Callable[[str, dict[str, Any]], None]:
        """Operator work reports what it waits for (e.g. which slot is open) while it waits."""

        def report(msgid: str, fields: dict[str, Any]) -> None:
            self.post(ev.OperatorDone(visit, OperatorNote.of(msgid, busy=True, **fields)))

        return report

    def printer_state(self) -> PrinterState:
        """Ask the printer how it is, and keep the health model told."""
        state = self.parts.printer.state()
        health = {PrinterState.OK: State.OK, PrinterState.PAPER_OUT: State.DEGRADED}.get(state, State.FAILED)
        self.health.report("printer", health, "" if state == PrinterState.OK else state.value)
        return state

    def _check_pin(self, e: fx.CheckPin) -> ev.Event:
        operator = self.cfg.operator_for(e.card_uid)
        verdict, remembered = judge(operator, e.pin, Attempts(*self.store.operator_attempts(e.card_uid)), self.clock())
        data = {
            "kiosk": self.cfg.kiosk_id,
            "operator": operator.name if operator else "?",
            "attempts_left": verdict.attempts_left,
            "locked_until": round(verdict.locked_until),
        }
        self.store.record_operator_attempt(
            e.card_uid,
            remembered.failures,
            remembered.lockouts,
            remembered.locked_until,
            "operator_pin_" + verdict.reason,
            data,
        )
        if verdict.reason == "locked":
            log.warning("staff card of %s locked until %s", data["operator"], verdict.locked_until)
        return ev.PinChecked(e.visit, verdict.ok, verdict.reason)

    def _resolve_chip(self, e: fx.ResolveChip) -> ev.Event:
        local = self.store.nik_for_old_chip(e.uid)  # a holder whose new card is here: no gateway needed
        if local is not None:
            return ev.ChipResolved(e.visit, local)
        try:
            return ev.ChipResolved(e.visit, self.gateway.resolve_chip(e.uid))
        except GatewayUnavailable:
            return ev.ChipResolved(e.visit, None, unavailable=True)

    def _lookup(self, nik: str) -> Lookup:
        card = self.store.card_for_nik(nik)
        today = self.cfg.flow.today(self.clock()).isoformat()
        valid = card is not None and (card.valid_until or today) >= today
        reader = self.health.status("reader")
        reader_down = reader is not None and reader.state == State.FAILED  # the new card's tap cannot be checked
        releasable = valid and not self.desk.releases_stopped() and not reader_down
        if card is not None and releasable and not card.out_of_service:
            return Lookup(CardStatus.READY_HERE, card.card_id, card.slot, card.chip_uid)
        if card is not None and not valid:
            log.warning(
                "card %s is past its manifest validity: not released until the gateway confirms it", card.card_id
            )
        key = self._nik_key(nik)
        try:
            answer = self.gateway.lookup(nik)
        except GatewayUnavailable as exc:
            log.warning("lookup for %s failed: %s", mask_nik(nik), exc)
            return self._lookup_offline(key)
        except GatewayRefused as exc:
            log.warning("lookup for %s refused: %s", mask_nik(nik), exc)
            return Lookup(CardStatus.UNAVAILABLE)
        status = CardStatus(answer["status"])
        if status == CardStatus.READY_HERE:  # at this office, but not in this kiosk's vault: the counter
            status = CardStatus.READY_ELSEWHERE
            answer.setdefault("office_name", self.cfg.office)
        today = self.cfg.flow.today(self.clock()).isoformat()
        self.store.remember_status(key, status.value, answer.get("office_name"), today)
        return Lookup(
            status, answer.get("card_id"), office_name=answer.get("office_name"), known_at=answer.get("since")
        )

    def _nik_key(self, nik: str) -> str:
        """The status cache's key: an HMAC of the NIK under this kiosk's sealing key (no NIK at rest)."""
        return self.templates.sealer.keyed_digest(nik)

    def _lookup_offline(self, key: str) -> Lookup:
        """With the link down: the last status this kiosk saw, marked as possibly out of date; or, for a
        recording ticket, 'never recorded' (the office's queue system issued it for that)."""
        known = self.store.known_status(key)
        if known is not None:
            status, office_name, known_at = known
            return Lookup(CardStatus(status), office_name=office_name, known_at=known_at, stale=True)
        ticket = self.session.ticket
        if ticket is not None and ticket.service == Service.RECORDING:
            return Lookup(CardStatus.NEVER_RECORDED, stale=True)
        return Lookup(CardStatus.UNAVAILABLE)

    def _face(self, e: fx.StartFaceCheck) -> ev.Event:
        result = self.parts.face.verify(e.card_id, lambda msgid: self.post(ev.FacePrompt(e.visit, msgid)))
        return ev.FaceChecked(e.visit, result.match, result.live, result.score, result.reason)

    def _offices(self) -> tuple[Office, ...]:
        try:
            return tuple(Office(o["office_id"], o["name"], o["district"]) for o in self.gateway.offices())
        except GatewayUnavailable as exc:  # offline: the offices where this kiosk holds leased places
            log.warning("offices unavailable (%s): offering the leased ones", exc)
            return tuple(Office(*row) for row in self.store.lease_offices())
        except GatewayRefused as exc:
            log.warning("offices refused: %s", exc)
            return ()

    def _slots(self, office_id: str) -> tuple[Slot, ...]:
        first = self.cfg.flow.today(self.clock()) + dt.timedelta(days=1)
        try:
            rows = self.gateway.slots(office_id, first)
        except GatewayUnavailable as exc:
            log.warning("slots unavailable (%s): offering the leased ones", exc)
            return tuple(Slot(d, t, n) for d, t, n in self.store.lease_slots(office_id, first.isoformat()))
        except GatewayRefused as exc:
            log.warning("slots refused: %s", exc)
            return ()
        return tuple(Slot(r["day"], r["time"], int(r["remaining"])) for r in rows)

    def _book(self, e: fx.Book) -> ev.Event:
        office = next((o for o in self.session.offices if o.office_id == e.office_id), None)
        if office is None:
            return ev.BookingDone(e.visit, None, Reason.BOOKING_FAILED)
        booking_id = uuid.uuid4().hex
        try:
            answer = self.gateway.book(booking_id, e.nik, e.office_id, e.day, e.time)
        except GatewayRefused as exc:
            reason = Reason.SLOT_TAKEN if exc.code == "slot_full" else Reason.BOOKING_FAILED
            return ev.BookingDone(e.visit, None, reason)
        except GatewayUnavailable:
            return self._book_offline(e, office, booking_id)
        booking = Booking(answer["code"], office, e.day, e.time)
        return ev.BookingDone(e.visit, booking)

    def _book_offline(self, e: fx.Book, office: Office, booking_id: str) -> ev.Event:
        """Book on this kiosk's lease; the gateway confirms it from the outbox when the link is back."""
        code = "L" + booking_id[:8].upper()
        payload = {
            "booking_id": booking_id,
            "nik": e.nik,
            "office_id": e.office_id,
            "day": e.day,
            "time": e.time,
            "code": code,
            "kiosk": self.cfg.kiosk_id,
        }
        if not self.store.book_on_lease(payload):
            return ev.BookingDone(e.visit, None, Reason.OFFLINE_FULL)
        log.info("booked offline on the lease: %s %s %s", e.office_id, e.day, e.time)
        return ev.BookingDone(e.visit, Booking(code, office, e.day, e.time))

    def probe(self) -> None:
        """Parts that report nothing by themselves: the data disk, the clock's synchronisation, the printer."""
        self.printer_state()
        usage = shutil.disk_usage(self.cfg.data_dir)
        free = usage.free / usage.total
        state = State.FAILED if free < 0.03 else State.DEGRADED if free < 0.10 else State.OK
        self.health.report("disk", state, f"{100 * free:.0f}% free")
        synced = clock_synchronised()
        if synced is not None:
            self.health.report(
                "clock", State.OK if synced else State.DEGRADED, "" if synced else "NTP not synchronised"
            )

    def summary(self) -> dict[str, Any]:
        """What the heartbeat tells the gateway: states and counts, never personal data."""
        seq, head = self.store.journal_head()
        return {
            "kiosk": self.cfg.kiosk_id,
            "components": {n: s.state.value for n, s in sorted(self.health.snapshot().items())},
            "outbox_pending": self.store.pending_count(),
            "vault_cards": len(self.store.inventory()),
            "alarms": sorted(self.store.alarms()),
            "outcomes": dict(self.counters.outcomes),
            "journal_head": {"seq": seq, "hash": head},
        }

    def heartbeat(self) -> bool:
        """Probe, then send the summary (called after each sync while the link is up)."""
        self.probe()
        try:
            self.gateway.heartbeat(self.summary())
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("heartbeat not delivered: %s", exc)
            return False
        return True

    def service_notice(self) -> str:
        """What residents should know before they start, when a part is down (a msgid, or "")."""
        states = self.health.snapshot()
        camera = states.get("camera")
        if camera is not None and camera.state == State.FAILED:
            return N_("This kiosk cannot serve right now. Please go to the counter.")
        reader = states.get("reader")
        if self.desk.releases_stopped() or (reader is not None and reader.state == State.FAILED):
            return N_("Collecting a new e-KTP is not possible here right now. Bookings and status still work.")
        return ""

    def refresh_manifest(self) -> int | None:
        """Poll the manifest (cheap when unchanged): renew each card's validity, withdraw cards no longer
        listed. Returns how many were withdrawn, None if the gateway could not be asked."""
        try:
            version, cards = self.gateway.manifest_since(self._manifest_version)
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("manifest not refreshed: %s", exc)
            return None
        self._manifest_version = version
        if cards is None:
            return 0
        withdrawn = self.store.renew_manifest({c.card_id: c.valid_until or "9999-12-31" for c in cards})
        if withdrawn:
            log.warning("%d card(s) withdrawn from this kiosk's manifest: due for unloading", withdrawn)
        return withdrawn

    def refresh_leases(self, days: int = 7) -> bool:
        """Ask the gateway for this kiosk's leased places (called by the sync worker while the link is up)."""
        first = self.cfg.flow.today(self.clock()) + dt.timedelta(days=1)
        try:
            rows = self.gateway.leases(first, days)
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("leases not refreshed: %s", exc)
            return False
        return self.store.replace_leases(rows)

    # -- printed documents --------------------------------------------------------------------

    def document(self, s: Session, kind: str) -> Document | None:
        """The slip for the current visit, in the resident's language; the NIK is always masked."""
        lang = s.lang
        header = (
            tr(lang, "Loket Mandiri e-KTP"),
            self.cfg.office,
            self.cfg.kiosk_id,
            dt.datetime.fromtimestamp(self.clock() + self.cfg.flow.utc_offset_s, dt.UTC).strftime("%Y-%m-%d %H:%M"),
        )
        nik_line = tr(lang, "NIK") + ": " + mask_nik(s.nik or "")
        if kind == "receipt" and s.handover_code and s.lookup:
            receipt = (
                nik_line,
                tr(lang, "Card") + ": " + (s.lookup.card_id or ""),
                tr(lang, "Handover code") + ": " + s.handover_code,
            )
            qr = f"LMR1:{self.cfg.kiosk_id}:{s.handover_code}"
            return Document(tr(lang, "e-KTP handover receipt"), receipt, qr, header)
        if kind == "booking" and s.booking:
            b = s.booking
            slip = (
                nik_line,
                b.office.name,
                f"{b.day} {b.time}",
                tr(lang, "Booking code") + ": " + b.code,
                tr(lang, "Bring your family card (KK) and this slip."),
            )
            return Document(tr(lang, "Recording appointment"), slip, f"LMB1:{b.code}", header)
        if kind == "status" and s.lookup:
            what, nxt = STATUSES[s.lookup.status]
            office = s.lookup.office_name or ""
            status = [nik_line, tr(lang, what).format(office=office), tr(lang, nxt).format(office=office)]
            if s.lookup.stale and s.lookup.known_at:
                status.append(tr(lang, STALE_NOTE).format(date=s.lookup.known_at))
            return Document(tr(lang, "e-KTP status"), tuple(status), None, header)
        return None

    # -- vault seeding (operator loading arrives with the real vault) ------------------------

    def load_vault_from_manifest(self) -> int:
        """Put this kiosk's manifest cards into free slots (the demo's stand-in for operator loading)."""
        cards = self.gateway.manifest()
        inventory = self.store.inventory()
        held = {c.card_id for c in inventory}
        taken = {c.slot for c in inventory}
        free = [n for n in range(1, self.parts.vault.slot_count + 1) if n not in taken]
        loaded = 0
        for card in cards:
            if card.card_id in held or not free:
                continue
            slot = free.pop(0)
            self.store.load_card(
                slot,
                card.card_id,
                card.nik,
                card.chip_uid,
                old_chip_uid=card.old_chip_uid,
                valid_until=card.valid_until,
            )
            self.desk.enrol(card)
            put = getattr(self.parts.vault, "put", None)
            if put:
                put(slot)
            loaded += 1
        return loaded

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

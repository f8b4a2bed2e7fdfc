"""One handler per effect the flow can ask for. Each works only from the effect it is given (never from the
live session) and answers with the event the flow waits for, if any. `table()` says where each runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.config import KioskConfig
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.model import OperatorNote
from kiosk.hardware.indicators import Light
from kiosk.health import Health
from kiosk.identity.operator import Attempts, judge
from kiosk.runner.desk import ResidentDesk
from kiosk.runner.effects import Handler, gateway_worker, inline, worker
from kiosk.runner.parts import Parts
from kiosk.runner.slips import slip
from kiosk.runner.status import StatusBoard
from kiosk.runner.vaultdesk import VaultDesk
from kiosk.store import Store

log = logging.getLogger(__name__)

# journal kinds that also go to the gateway through the outbox
OUTBOX_KINDS = frozenset(
    {
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


@dataclass
class EffectHandlers:
    """The kiosk's hands: store, desks, parts and status board, as the handlers use them."""

    cfg: KioskConfig
    store: Store
    parts: Parts
    health: Health
    desk: ResidentDesk
    vault: VaultDesk
    status: StatusBoard
    post: Callable[[ev.Event], None]
    refresh: Callable[[], None]  # views show the parts' state again (e.g. the printer failed)
    clock: Callable[[], float]

    def table(self) -> Mapping[type, Handler]:
        return {
            fx.Journal: inline(self.journal),
            fx.ClaimTicket: gateway_worker(lambda e: self.desk.claim_ticket(e.visit, e.ticket_id)),
            fx.ConsumeTicket: inline(self.consume_ticket),
            fx.RecordHandover: inline(self.record_handover),
            fx.CallOperator: inline(self.call_operator),
            fx.EndVisit: inline(self.end_visit),
            fx.ResolveChip: gateway_worker(lambda e: self.desk.resolve_chip(e.visit, e.uid)),
            fx.LookUp: gateway_worker(lambda e: ev.LookupDone(e.visit, self.desk.look_up(e.nik, e.service))),
            fx.LoadOffices: gateway_worker(lambda e: ev.OfficesLoaded(e.visit, self.desk.offices())),
            fx.LoadSlots: gateway_worker(lambda e: ev.SlotsLoaded(e.visit, self.desk.slots(e.office_id))),
            fx.Book: gateway_worker(self.desk.book),
            fx.StartFaceCheck: worker(self.face_check),
            fx.ReleaseCard: worker(self.release),
            fx.PrintDocument: worker(self.print_slip),
            fx.CheckPin: worker(self.check_pin),
            fx.LoadCard: worker(lambda e: self._operator(e, self.vault.load(e.uid, e.operator, self._progress(e)))),
            fx.UnloadNext: worker(lambda e: self._operator(e, self.vault.unload_next(e.operator, self._progress(e)))),
            fx.ClearAlarms: worker(lambda e: self._operator(e, self.vault.clear_alarms(e.operator))),
        }

    # -- inline ---------------------------------------------------------------------------------

    def journal(self, e: fx.Journal) -> None:
        self.store.journal(e.kind, {"kiosk": self.cfg.kiosk_id, **e.data}, outbox=e.kind in OUTBOX_KINDS)
        log.info("journey %s %s", e.kind, e.data)

    def consume_ticket(self, e: fx.ConsumeTicket) -> None:
        accepted = {"kiosk": self.cfg.kiosk_id, **e.accepted}
        if not self.store.consume_ticket(e.ticket_id, accepted, self.cfg.kiosk_id):
            log.warning("ticket %s was already used here: not spent twice", e.ticket_id)
        log.info("journey ticket_accepted %s", e.accepted)

    def record_handover(self, e: fx.RecordHandover) -> None:
        data = {
            "kiosk": self.cfg.kiosk_id,
            "card": e.card_id,
            "code": e.code,
            "confirmed": e.confirmed,
            "nik": e.nik_masked,
            "face_attempts": e.face_attempts,
            "nik_source": e.nik_source,
        }
        self.store.journal("handover", data, outbox=True, ordering_key=e.card_id)

    def call_operator(self, e: fx.CallOperator) -> None:
        data = {"kiosk": self.cfg.kiosk_id, "step": e.step, "reason": e.reason}
        self.store.journal("operator_call", data, outbox=True)
        self.parts.indicators.show(Light.ATTENTION)
        self.parts.indicators.beep(2)

    def end_visit(self, e: fx.EndVisit) -> None:
        self.parts.indicators.show(Light.READY)

    # -- on a worker ----------------------------------------------------------------------------

    def face_check(self, e: fx.StartFaceCheck) -> ev.Event:
        result = self.parts.face.verify(e.card_id, lambda msgid: self.post(ev.FacePrompt(e.visit, msgid)))
        return ev.FaceChecked(e.visit, result.match, result.live, result.score, result.reason)

    def release(self, e: fx.ReleaseCard) -> ev.Event:
        self.parts.indicators.show(Light.BUSY)
        return ev.VaultOutcome(e.visit, self.vault.release(e.slot, e.card_id))

    def print_slip(self, e: fx.PrintDocument) -> None:
        doc = slip(
            e.session,
            e.document,
            kiosk_id=self.cfg.kiosk_id,
            office=self.cfg.office,
            now=self.clock(),
            utc_offset_s=self.cfg.flow.utc_offset_s,
        )
        if doc and not self.parts.printer.print_document(doc):
            log.warning("printer cannot print: %s", self.status.probe_printer())
            self.health.error("printer")
            self.refresh()  # the screen now offers the on-screen QR instead

    def check_pin(self, e: fx.CheckPin) -> ev.Event:
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

    def _operator(self, e: fx.LoadCard | fx.UnloadNext | fx.ClearAlarms, note: OperatorNote) -> ev.Event:
        return ev.OperatorDone(e.visit, note)

    def _progress(self, e: fx.LoadCard | fx.UnloadNext) -> Callable[[str, dict[str, Any]], None]:
        """Operator work reports what it waits for (e.g. which slot is open) while it waits."""

        def report(msgid: str, fields: dict[str, Any]) -> None:
            self.post(ev.OperatorDone(e.visit, OperatorNote.of(msgid, busy=True, **fields)))

        return report

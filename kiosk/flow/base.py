"""What every step of the flow shares: its configuration, the result type and the moves between steps
(go to a step, end the visit, refuse with a reason)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.flow import events as ev
from kiosk.flow.effects import CallOperator, Effect, EndVisit, Journal
from kiosk.flow.model import BUSY_STEPS, Reason, Session, Step
from kiosk.flow.policy import Policy
from kiosk.identity.nik import mask_nik
from kiosk.identity.ticket import Ticket

Result = tuple[Session, tuple[Effect, ...]]


@dataclass(frozen=True)
class FlowConfig:
    """Timeouts and limits of the journey (seconds)."""

    idle_timeout_s: float = 60.0  # no touch for this long: the visit is abandoned
    warn_before_s: float = 15.0  # 'are you still there?' this long before the timeout
    face_timeout_s: float = 90.0
    busy_timeout_s: float = 30.0  # waiting on the gateway or a reader
    release_timeout_s: float = 60.0  # safety net over the vault's own timeout
    done_timeout_s: float = 30.0  # receipt / status / refusal screens go back to idle
    operator_timeout_s: float = 300.0  # operator mode with nobody touching it
    max_face_attempts: int = 3
    policy: Policy = field(default_factory=Policy)
    max_wrong_taps: int = 3
    utc_offset_s: int = 8 * 3600  # WITA, Kota Kupang
    languages: tuple[str, ...] = ("id", "en")

    def timeout_for(self, step: Step) -> float:
        if step in BUSY_STEPS:
            return self.busy_timeout_s
        if step == Step.FACE:
            return self.face_timeout_s
        if step == Step.RELEASE:
            return self.release_timeout_s
        if step in (Step.HANDED_OVER, Step.BOOKED, Step.STATUS, Step.REFUSED):
            return self.done_timeout_s
        if step == Step.OPERATOR:
            return self.operator_timeout_s
        return self.idle_timeout_s

    def today(self, now: float) -> dt.date:
        return dt.datetime.fromtimestamp(now + self.utc_offset_s, dt.UTC).date()


def start(lang: str = "id") -> Session:
    """The session of an idle kiosk."""
    return Session(lang=lang)


def goto(s: Session, step: Step, now: float, **changes: Any) -> Session:
    return replace(s, step=step, entered_at=now, last_activity=now, warned=False, notice=None, **changes)


def idle(s: Session, now: float) -> Session:
    return Session(
        step=Step.IDLE, lang=s.lang if s.step == Step.IDLE else "id", visit=s.visit, entered_at=now, last_activity=now
    )


def end(s: Session, now: float, kind: str, **data: object) -> Result:
    effects: list[Effect] = [Journal(kind, {"step": s.step.value, **data}), EndVisit()]
    return idle(s, now), tuple(effects)


def refuse(s: Session, now: float, reason: Reason, *extra: Effect) -> Result:
    """The refusal screen with its reason and reference code; the journal has both. A refusal that calls an
    officer asks the resident to wait for them (help_called) rather than offering OK."""
    ref = refusal_reference(s.visit, now, reason)
    data: dict[str, object] = {"reason": reason.value, "step": s.step.value, "ref": ref}
    if s.nik:
        data["nik"] = mask_nik(s.nik)
    called = s.help_called or any(isinstance(x, CallOperator) for x in extra)
    s2 = goto(s, Step.REFUSED, now, reason=reason, reference=ref, help_called=called)
    return s2, (Journal("refused", data), *extra)


REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over a counter


def refusal_reference(visit: int, now: float, reason: Reason) -> str:
    """A short code for one refusal ("KQ7-M3P"), shown to the resident and journaled, so that staff find
    the visit with `kiosk audit find CODE`. From the visit, the moment and the reason: 30 bits, unique enough
    among one kiosk's refusals (a collision shows both rows)."""
    digest = int.from_bytes(hashlib.sha256(f"{visit}/{now:.3f}/{reason.value}".encode()).digest()[:4], "big")
    chars = [REFERENCE_ALPHABET[(digest >> (5 * i)) & 31] for i in range(6)]
    return "".join(chars[:3]) + "-" + "".join(chars[3:])


def handover_code(ticket: Ticket | None, card_id: str) -> str:
    """A short code printed on the receipt that ties the handover to ticket and card."""
    seed = f"{ticket.ticket_id if ticket else '-'}/{card_id}".encode()
    return base64.b32encode(hashlib.sha256(seed).digest()[:5]).decode()


def is_result_for(s: Session, e: ev.Event) -> bool:
    return getattr(e, "visit", s.visit) == s.visit

"""Intake: what the camera and the card reader see, turned into flow events. While idle a frame may hold
a ticket QR (decoded and verified here, at the edge); on the card step, a printed NIK; a card on the
reader is a resident's card or a staff card."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.config import KioskConfig
from kiosk.flow import events as ev
from kiosk.flow.model import Session, Step
from kiosk.hardware.camera import Camera
from kiosk.hardware.reader import CardEvent, CardFailed, CardGone, CardPresented
from kiosk.health import Health, State
from kiosk.identity.printed_nik import PrintedNikReader
from kiosk.identity.qr import QrScanner
from kiosk.identity.ticket import Ticket, TicketRefusal, public_key_from_hex, verify_ticket
from kiosk.store import Store

log = logging.getLogger(__name__)

TICKET_REPEAT_S = 5.0  # the same QR text is not re-reported until it was out of view this long
CAMERA_MISSES_FAILED = 30  # frames in a row without a picture (3 s at 10 fps): the camera has failed


class Intake:
    """Frames and card events in, flow events out (posted to the loop)."""

    def __init__(
        self,
        cfg: KioskConfig,
        camera: Camera,
        nik_reader: PrintedNikReader,
        store: Store,
        health: Health,
        post: Callable[[ev.Event], None],
        clock: Callable[[], float],
    ) -> None:
        self.cfg, self.camera, self.nik_reader = cfg, camera, nik_reader
        self.store, self.health, self.post, self.clock = store, health, post, clock
        self.qr = QrScanner()
        self.step = Step.IDLE  # the step the loop last showed (set on the loop thread, read here)
        self.last_frame: np.ndarray | None = None
        self._last_text: tuple[str, float] = ("", 0.0)
        self._camera_misses = 0

    def follow(self, s: Session) -> None:
        """Session listener: what the camera should look for now."""
        self.step = s.step

    def on_card_event(self, event: CardEvent) -> None:
        """The reader's events (its own thread): a staff card, a resident's card, or a card gone or unreadable."""
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

    def scan_frame(self) -> list[str]:
        """Read one frame; while idle, decode and verify any ticket QR in it. Returns the QR texts."""
        frame = self.camera.read()
        self.last_frame = frame
        step_now = self.step
        if frame is None:
            self._camera_misses += 1
            if self._camera_misses == CAMERA_MISSES_FAILED:  # a few seconds without a frame
                self.health.report("camera", State.FAILED, "no frames")
            return []
        self._camera_misses = 0
        self.health.report("camera", State.OK, "")
        now = self.clock()
        if step_now == Step.CARD:
            nik = self.nik_reader.read(frame)
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
        repeated = text == self._last_text[0] and now - self._last_text[1] < TICKET_REPEAT_S
        self._last_text = (text, now)
        return repeated

    def verify(self, text: str, now: float) -> Ticket | TicketRefusal:
        """A scanned QR text as a verified ticket of this office, or the reason it is refused."""
        keys = self.ticket_keys()
        return verify_ticket(text, keys, self.cfg.office, now, self.store.ticket_used, self.cfg.ticket_window)

    def ticket_keys(self) -> dict[int, Ed25519PublicKey]:
        """The keys a ticket may be signed with: exactly the set the last full manifest delivered (the
        gateway signs tickets, so a key it retired stops here too), or kiosk.toml's from enrolment before
        any manifest did."""
        held = self.store.ticket_keys() or self.cfg.ticket_keys
        return {kid: public_key_from_hex(k) for kid, k in held.items()}

"""The card reader for real: pyscard over pcsc-lite.

A monitor thread waits on SCardGetStatusChange (event-driven: it blocks until a reader or card changes,
with a short timeout so it can stop). pyscard's CardMonitor does the same internally, but its thread
ends for good when pcscd goes away; this one releases its context, reports the reader absent, and
reconnects with backoff, so a pcscd restart or a reader unplugged and plugged back needs no app restart.

Each card is read on a short-lived thread of its own with a deadline, so a card that never answers
becomes a 'card failed: timeout' event instead of a hung kiosk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from smartcard import scard as sc

from kiosk.hardware.atr import AtrDatabase
from kiosk.hardware.profiles import BaselineUidProfile, CardData, CardProfile, CardReadError, choose_profile
from kiosk.hardware.reader import CardFailed, CardGone, CardPresented, ReaderEvents
from kiosk.health import Health, State

log = logging.getLogger(__name__)

PNP = "\\\\?PnP?\\Notification"
COMPONENT = "reader"
_REMOVED = {
    sc.SCARD_W_REMOVED_CARD,
    sc.SCARD_E_NO_SMARTCARD,
    sc.SCARD_W_UNPOWERED_CARD,
    sc.SCARD_W_UNRESPONSIVE_CARD,
    sc.SCARD_E_READER_UNAVAILABLE,
}
_READER_GONE = {sc.SCARD_E_UNKNOWN_READER, sc.SCARD_E_READER_UNAVAILABLE}
# Right after a tap the reader may still be powering the card and negotiating its protocol: a command
# in that window fails with one of these, and the same command a moment later works.
_TRANSIENT = {sc.SCARD_E_NOT_TRANSACTED, sc.SCARD_W_RESET_CARD, sc.SCARD_E_SHARING_VIOLATION}
TRANSIENT_RETRIES = 4
REMOVAL_GRACE_S = 0.5  # longer than pcscd's 400 ms card presence poll


def _err(hr: int) -> str:
    return f"{sc.SCardGetErrorMessage(hr).strip()} (0x{hr & 0xFFFFFFFF:08X})"


class CardRemoved(Exception):
    """The card left the reader while it was being read."""


class TransientError(Exception):
    """A PC/SC error that goes away if the command is repeated a moment later."""


@dataclass(frozen=True)
class _ReadResult:
    data: CardData | None = None
    atr: bytes = b""
    description: str = ""
    failure: str | None = None
    removed: bool = False


class PcscCardReader(ReaderEvents):
    """A PC/SC reader (the first one whose name contains `reader_name`, or the first one)."""

    def __init__(
        self,
        reader_name: str = "",
        *,
        profiles: list[CardProfile] | None = None,
        atr_db: AtrDatabase | None = None,
        health: Health | None = None,
        read_timeout_s: float = 2.0,
        poll_ms: int = 250,
    ) -> None:
        super().__init__()
        self.reader_name = reader_name
        self.profiles: list[CardProfile] = profiles or [BaselineUidProfile()]
        self.atr_db = atr_db
        self.health = health or Health()
        self.read_timeout_s = read_timeout_s
        self.poll_ms = poll_ms
        self.reader: str | None = None
        self._present = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: int | None = None

    @property
    def connected(self) -> bool:
        return self.reader is not None

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        ctx = self._ctx
        if ctx is not None:
            sc.SCardCancel(ctx)  # wake the monitor from SCardGetStatusChange
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- monitor --------------------------------------------------------------------------

    def _set_reader(self, name: str | None, reason: str) -> None:
        if name != self.reader:
            log.info("card reader %s", f"attached: {name}" if name else f"absent: {reason}")
        self.reader = name
        if name:
            self.health.report(COMPONENT, State.OK, f"reader {name}")
        else:
            self.health.report(COMPONENT, State.FAILED, reason)
            self._card_left()

    def _card_left(self) -> None:
        if self._present:
            self._present = False
            self.emit(CardGone())

    def _run(self) -> None:
        backoff = 0.5
        while not self._halt.is_set():
            hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
            if hr != sc.SCARD_S_SUCCESS:
                self._set_reader(None, f"pcscd not reachable: {_err(hr)}")
                self._halt.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._ctx = ctx
            try:
                self._watch(ctx)
                backoff = 0.5
            except Exception:  # a fault here must become a health state, not a dead thread
                log.exception("card reader monitor failed; reconnecting")
                self.health.error(COMPONENT)
                self._halt.wait(backoff)
            finally:
                self._ctx = None
                sc.SCardReleaseContext(ctx)
        self._set_reader(None, "stopped")

    def _pick(self, ctx: int) -> str | int | None:
        """The reader to use; None if there is none; an error code if pcscd went away."""
        hr, readers = sc.SCardListReaders(ctx, [])
        if hr == sc.SCARD_E_NO_READERS_AVAILABLE or (hr == sc.SCARD_S_SUCCESS and not readers):
            return None
        if hr != sc.SCARD_S_SUCCESS:
            return int(hr)
        return next((r for r in readers if self.reader_name in r), None)

    def _watch(self, ctx: int) -> None:
        """Follow readers and cards until pcscd goes away or we are stopped."""
        pnp_state = sc.SCARD_STATE_UNAWARE
        while not self._halt.is_set():
            picked = self._pick(ctx)
            if isinstance(picked, int):
                self._set_reader(None, f"pcscd went away: {_err(picked)}")
                return
            if picked is None:
                self._set_reader(None, "no card reader attached")
                hr, states = sc.SCardGetStatusChange(ctx, self.poll_ms, [(PNP, pnp_state)])
                if hr == sc.SCARD_S_SUCCESS:
                    pnp_state = states[0][1] & ~sc.SCARD_STATE_CHANGED
                elif hr not in (sc.SCARD_E_TIMEOUT, sc.SCARD_E_CANCELLED):
                    self._halt.wait(self.poll_ms / 1000)  # no PnP support: poll the list instead
                continue
            self._set_reader(picked, "")
            if not self._follow(ctx, picked):
                return

    def _follow(self, ctx: int, reader: str) -> bool:
        """Follow one reader's card; False if pcscd went away, True if the reader is gone."""
        state = sc.SCARD_STATE_UNAWARE
        pnp_state = sc.SCARD_STATE_UNAWARE
        while not self._halt.is_set():
            hr, states = sc.SCardGetStatusChange(ctx, self.poll_ms, [(reader, state), (PNP, pnp_state)])
            if hr in (sc.SCARD_E_TIMEOUT, sc.SCARD_E_CANCELLED):
                continue
            if hr in _READER_GONE:
                self._set_reader(None, "card reader unplugged")
                return True
            if hr != sc.SCARD_S_SUCCESS:
                self._set_reader(None, f"pcscd went away: {_err(hr)}")
                return False
            for name, event, _atr in states:
                if name == PNP:
                    if event & sc.SCARD_STATE_CHANGED and self._pick(ctx) != reader:
                        self._set_reader(None, "card reader unplugged")
                        return True
                    pnp_state = event & ~sc.SCARD_STATE_CHANGED
                    continue
                state = event & ~sc.SCARD_STATE_CHANGED
                if event & (sc.SCARD_STATE_UNKNOWN | sc.SCARD_STATE_UNAVAILABLE | sc.SCARD_STATE_IGNORE):
                    self._set_reader(None, "card reader unplugged")
                    return True
                if event & sc.SCARD_STATE_PRESENT:
                    if not self._present:
                        self._present = True
                        if event & sc.SCARD_STATE_MUTE:
                            self.health.error(COMPONENT)
                            self.emit(CardFailed("card does not answer to reset"))
                        else:
                            self._read_and_report(reader)
                elif event & sc.SCARD_STATE_EMPTY:
                    self._card_left()
        return True

    # -- reading a card -------------------------------------------------------------------

    def _read_and_report(self, reader: str) -> None:
        box: list[_ReadResult] = []
        worker = threading.Thread(target=lambda: box.append(self._read(reader)), name="pcsc-read", daemon=True)
        worker.start()
        worker.join(self.read_timeout_s)
        if not box:
            self.health.error(COMPONENT)
            log.warning("card did not answer within %.1f s", self.read_timeout_s)
            self.emit(CardFailed("card did not answer in time"))
            return
        result = box[0]
        if result.removed:
            self._card_left()
        elif result.failure or result.data is None:
            self.health.error(COMPONENT)
            log.info("card could not be read: %s", result.failure)
            self.emit(CardFailed(result.failure or "unreadable"))
        else:
            data = result.data
            self.emit(CardPresented(data.uid, result.atr.hex().upper(), result.description, data.profile, data.nik))

    def _read(self, reader: str) -> _ReadResult:
        """Read the card, repeating the whole read a few times on transient errors."""
        result = _ReadResult(failure="not read")
        for attempt in range(TRANSIENT_RETRIES):
            try:
                result = self._read_once(reader)
            except TransientError as exc:
                result = _ReadResult(failure=str(exc))
                log.debug("card read attempt %d: %s", attempt + 1, exc)
            if result.failure is None:
                return result
            # A card pulled away mid-command shows up as 'not transacted' or an empty answer, and the
            # driver may notice the removal only at its next poll: a failed read of a card that is
            # then gone is a removal, not a bad card.
            if not self._card_present(reader, wait_s=REMOVAL_GRACE_S):
                return _ReadResult(removed=True)
            if not result.failure.startswith(("connect:", "transmit:")):
                return result  # the card is there and answers nonsense: repeating will not help
        return result

    def _card_present(self, reader: str, wait_s: float) -> bool:
        """False if the reader reports no card within `wait_s` (True if it cannot tell)."""
        hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
        if hr != sc.SCARD_S_SUCCESS:
            return True
        try:
            deadline = time.monotonic() + wait_s
            state = sc.SCARD_STATE_UNAWARE
            while True:
                left_ms = max(0, int((deadline - time.monotonic()) * 1000))
                hr, states = sc.SCardGetStatusChange(ctx, left_ms, [(reader, state)])
                if hr != sc.SCARD_S_SUCCESS:
                    return True
                state = states[0][1] & ~sc.SCARD_STATE_CHANGED
                if state & sc.SCARD_STATE_EMPTY:
                    return False
                if left_ms == 0:
                    return True
        finally:
            sc.SCardReleaseContext(ctx)

    def _read_once(self, reader: str) -> _ReadResult:
        hr, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
        if hr != sc.SCARD_S_SUCCESS:
            return _ReadResult(failure=f"no PC/SC context: {_err(hr)}")
        try:
            hr, card, protocol = sc.SCardConnect(
                ctx, reader, sc.SCARD_SHARE_SHARED, sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1
            )
            if hr in _REMOVED:
                return _ReadResult(removed=True)
            if hr in _TRANSIENT:
                raise TransientError(f"connect: {_err(hr)}")
            if hr != sc.SCARD_S_SUCCESS:
                return _ReadResult(failure=f"connect: {_err(hr)}")
            try:
                hr, _name, _state, _proto, atr_list = sc.SCardStatus(card)
                if hr in _REMOVED:
                    return _ReadResult(removed=True)
                atr = bytes(atr_list) if hr == sc.SCARD_S_SUCCESS else b""
                descriptions = self.atr_db.identify(atr) if self.atr_db and atr else []
                profile = choose_profile(self.profiles, atr, descriptions)
                data = profile.read(self._transmitter(card, protocol))
                return _ReadResult(data, atr, descriptions[0] if descriptions else "")
            except CardRemoved:
                return _ReadResult(removed=True)
            except CardReadError as exc:
                return _ReadResult(atr=atr, failure=str(exc))
            finally:
                sc.SCardDisconnect(card, sc.SCARD_LEAVE_CARD)
        finally:
            sc.SCardReleaseContext(ctx)

    @staticmethod
    def _transmitter(card: int, protocol: int) -> Callable[[bytes], bytes]:
        def transmit(apdu: bytes) -> bytes:
            hr, response = sc.SCardTransmit(card, protocol, list(apdu))
            if hr in _REMOVED:
                raise CardRemoved()
            if hr in _TRANSIENT:
                raise TransientError(f"transmit: {_err(hr)}")
            if hr != sc.SCARD_S_SUCCESS:
                raise CardReadError(f"transmit: {_err(hr)}")
            return bytes(response)

        return transmit

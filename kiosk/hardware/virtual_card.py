"""A virtual smart card for vsmartcard's virtual reader driver (vpcd), so the real PC/SC stack
(pcscd + pyscard) can be tested without hardware.

vpcd's protocol over TCP (the card connects to the reader, port 35963 for the first reader): every
message is a 2-byte big-endian length and a payload. A 1-byte payload is a control code (0 power off,
1 power on, 2 reset, 4 send ATR); anything longer is a command APDU, answered with a response APDU.
Connecting inserts the card; closing the connection removes it.

vpcd listens on all interfaces: it is a test dependency only and must never be on a kiosk image.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

from kiosk.hardware.profiles import GET_UID

VPCD_PORT = 35963
CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET, CONTROL_ATR = 0, 1, 2, 4


@dataclass
class VirtualCard:
    """A contactless card with an ATR and a UID; `behaviour` picks how it answers GET DATA."""

    atr: bytes
    uid: bytes
    behaviour: str = "normal"  # normal | garbage | short | error | silent | vanish
    apdus: list[bytes] = field(default_factory=list)
    _sock: socket.socket | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)

    def answer(self, apdu: bytes) -> bytes | None:
        if apdu[:4] == GET_UID[:4]:
            if self.behaviour == "garbage":
                return b"\x42"  # one byte: not even a status word
            if self.behaviour == "short":
                return self.uid[:2] + b"\x90\x00"  # a UID of 2 bytes is no UID
            if self.behaviour == "error":
                return b"\x6a\x81"  # function not supported
            if self.behaviour == "silent":
                return None
            return self.uid + b"\x90\x00"
        return b"\x6d\x00"  # instruction not supported

    def insert(self, host: str = "127.0.0.1", port: int = VPCD_PORT, timeout: float = 5.0) -> None:
        """Connect to vpcd: the card is now on the reader."""
        self._closing.clear()
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._serve, name="virtual-card", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Close the connection: the card left the reader."""
        self._closing.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            sock = self._sock
            if sock is None:
                return None
            try:
                chunk = sock.recv(n - len(buf))
                # vpcd writes length and payload separately: acknowledge at once, or every APDU
                # waits ~40 ms for a delayed ACK. Linux clears QUICKACK after use, so set it each time.
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_QUICKACK", 12), 1)
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def _send(self, payload: bytes) -> None:
        sock = self._sock
        if sock is not None:
            sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        while not self._closing.is_set():
            head = self._recv_exact(2)
            if head is None:
                return
            payload = self._recv_exact(struct.unpack(">H", head)[0])
            if payload is None:
                return
            if len(payload) == 1:
                if payload[0] == CONTROL_ATR:
                    self._send(self.atr)
                continue
            self.apdus.append(payload)
            if self.behaviour == "vanish":  # pulled away mid-APDU
                threading.Thread(target=self.remove, daemon=True).start()
                return
            reply = self.answer(payload)
            if reply is not None:
                self._send(reply)

"""Queue tickets: a compact, Ed25519-signed QR payload issued by the office's queue system.

The format is written down in docs/ticket-format.md. Verification is pure: the caller passes the
trusted public keys, the kiosk's office, the time and whether the ticket was used before.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.identity.base45 import Base45Error, b45decode, b45encode

PREFIX = "LM1:"
VERSION = 1
SIGNATURE_LEN = 64
DIGEST_LEN = 16
CLOCK_SKEW_S = 120  # tolerated lateness past a ticket's end (the queue system's clock against ours)
EARLY_S = 15 * 60  # a kiosk clock behind by this much still takes a fresh ticket (kiosks drift without NTP)


@dataclass(frozen=True)
class TicketWindow:
    """How far outside its printed validity a ticket is still taken: `early_s` before `not before` (a
    kiosk clock running behind), `late_s` after `not after` (the queue system's clock against ours).
    Configured as [tickets] early_s and late_s; the defaults are EARLY_S and CLOCK_SKEW_S."""

    early_s: float = EARLY_S
    late_s: float = CLOCK_SKEW_S


_HEAD = struct.Struct(">B8sBIIH")  # version, ticket id, service, not_before, not_after, key id


class Service(IntEnum):
    """What the resident came for, as named on the ticket."""

    PICKUP = 1
    RECORDING = 2
    STATUS = 3


class TicketReason(StrEnum):
    """Why a scanned ticket was refused."""

    MALFORMED = "ticket_malformed"
    UNKNOWN_KEY = "ticket_unknown_key"
    FORGED = "ticket_forged"
    EXPIRED = "ticket_expired"
    NOT_YET_VALID = "ticket_not_yet_valid"
    WRONG_OFFICE = "ticket_wrong_office"
    USED = "ticket_used"


@dataclass(frozen=True)
class Ticket:
    """A queue ticket whose signature has been checked."""

    ticket_id: str
    service: Service
    office: str
    not_before: int
    not_after: int
    key_id: int
    nik_digest: bytes

    def matches_nik(self, nik: str) -> bool:
        """True if `nik` is the NIK this ticket was issued for."""
        return hmac.compare_digest(nik_digest(nik, bytes.fromhex(self.ticket_id)), self.nik_digest)


@dataclass(frozen=True)
class TicketRefusal:
    """A ticket that must not be honoured, and why."""

    reason: TicketReason
    ticket_id: str | None = None


def nik_digest(nik: str, ticket_id: bytes) -> bytes:
    """Salted, deliberately slow digest of a NIK (scrypt, ~4 MiB): the ticket never carries the NIK."""
    return hashlib.scrypt(nik.encode(), salt=b"loket-ticket/" + ticket_id, n=2**12, r=8, p=1, dklen=DIGEST_LEN)


def issue_ticket(
    key: Ed25519PrivateKey,
    key_id: int,
    ticket_id: bytes,
    service: Service,
    office: str,
    nik: str,
    not_before: int,
    not_after: int,
) -> str:
    """Sign and encode a ticket (what the queue system does; used by the simulator and tests)."""
    if len(ticket_id) != 8:
        raise ValueError("ticket_id must be 8 bytes")
    office_b = office.encode()
    if not 1 <= len(office_b) <= 16:
        raise ValueError("office code must be 1-16 bytes")
    body = (
        _HEAD.pack(VERSION, ticket_id, int(service), not_before, not_after, key_id)
        + bytes([len(office_b)])
        + office_b
        + nik_digest(nik, ticket_id)
    )
    return PREFIX + b45encode(body + key.sign(body))


def _decode(text: str) -> tuple[bytes, bytes, Ticket] | None:
    if not text.startswith(PREFIX):
        return None
    try:
        raw = b45decode(text[len(PREFIX) :])
    except Base45Error:
        return None
    if len(raw) < _HEAD.size + 1 + SIGNATURE_LEN + DIGEST_LEN:
        return None
    version, tid, service, nb, na, key_id = _HEAD.unpack_from(raw)
    olen = raw[_HEAD.size]
    body_len = _HEAD.size + 1 + olen + DIGEST_LEN
    if version != VERSION or len(raw) != body_len + SIGNATURE_LEN or service not in Service._value2member_map_:
        return None
    try:
        office = raw[_HEAD.size + 1 : _HEAD.size + 1 + olen].decode()
    except UnicodeDecodeError:
        return None
    ticket = Ticket(tid.hex(), Service(service), office, nb, na, key_id, raw[body_len - DIGEST_LEN : body_len])
    return raw[:body_len], raw[body_len:], ticket


def verify_ticket(
    text: str,
    keys: Mapping[int, Ed25519PublicKey],
    office: str,
    now: float,
    is_used: Callable[[str], bool] = lambda ticket_id: False,
    window: TicketWindow = TicketWindow(),
) -> Ticket | TicketRefusal:
    """Check signature, validity window, office and single use, in that order.

    `is_used` answers whether a ticket ID was used before (the store's used-ticket table).
    """
    decoded = _decode(text)
    if decoded is None:
        return TicketRefusal(TicketReason.MALFORMED)
    body, signature, ticket = decoded
    key = keys.get(ticket.key_id)
    if key is None:
        return TicketRefusal(TicketReason.UNKNOWN_KEY, ticket.ticket_id)
    try:
        key.verify(signature, body)
    except InvalidSignature:
        return TicketRefusal(TicketReason.FORGED, ticket.ticket_id)
    if now < ticket.not_before - window.early_s:
        return TicketRefusal(TicketReason.NOT_YET_VALID, ticket.ticket_id)
    if now > ticket.not_after + window.late_s:
        return TicketRefusal(TicketReason.EXPIRED, ticket.ticket_id)
    if ticket.office != office:
        return TicketRefusal(TicketReason.WRONG_OFFICE, ticket.ticket_id)
    if is_used(ticket.ticket_id):
        return TicketRefusal(TicketReason.USED, ticket.ticket_id)
    return ticket


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    """Load a raw 32-byte Ed25519 public key written as hex (as in kiosk.toml)."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))

"""The signed journal head: a kiosk's word on how long its journal is and what its newest row hashes to,
signed with the kiosk's own journal key (Ed25519, made at provisioning, never leaves the kiosk).

Part of the contract (openapi.yaml, heartbeat): the kiosk signs, the gateway checks the signature with the
public key it received at enrolment and keeps every head as an anchor; an auditor checks a journal against
those anchors (`kiosk audit verify`). Like Certificate Transparency's signed tree heads, the point is that
the heads are held by someone else: rewriting the journal after a head was anchored is detectable.

The signed message is `loket-journal-head/v1`, the kiosk ID, the sequence number and the row hash, one per
line: the kiosk ID is inside, so one kiosk's head cannot be replayed as another's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.gateway.contract import head_message, head_signed_by
from kiosk.store.secret_files import tighten, write_secret

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
MAX_SEQ = 2**53  # a JSON number every reader keeps exactly


@dataclass(frozen=True)
class SignedHead:
    """A journal head (sequence number and row hash) with the kiosk's signature over it."""

    kiosk_id: str
    seq: int
    hash: str
    signature: str  # hex of the 64-byte Ed25519 signature

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "signature": self.signature}

    @classmethod
    def from_json(cls, kiosk_id: str, body: object) -> SignedHead:
        """A head from a heartbeat's `journal_head`; ValueError naming the field that does not fit."""
        if not isinstance(body, dict):
            raise ValueError("journal_head: not an object")
        seq, digest, signature = body.get("seq"), body.get("hash"), body.get("signature")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
            raise ValueError("journal_head.seq: not a whole number from 0")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise ValueError("journal_head.hash: not 64 lower-case hex digits")
        if not isinstance(signature, str) or not _HEX128.fullmatch(signature):
            raise ValueError("journal_head.signature: not 128 lower-case hex digits")
        return cls(kiosk_id, seq, digest, signature)

    def verify(self, public_key_hex: str) -> bool:
        """True when the signature is this kiosk's (the public key as 64 hex digits)."""
        return head_signed_by(public_key_hex, self.kiosk_id, self.seq, self.hash, self.signature)


class HeadSigner:
    """Signs journal heads with the kiosk's journal key."""

    def __init__(self, kiosk_id: str, key: Ed25519PrivateKey) -> None:
        self.kiosk_id = kiosk_id
        self._key = key

    @staticmethod
    def make_key_file(path: Path, owner: tuple[int, int] | None = None) -> str:
        """Make the journal key at `path` (0600, kept if it exists); returns its public key as hex."""
        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        try:
            write_secret(path, raw, replace=False, owner=owner)
        except FileExistsError:  # made before (or by another process): keep that one
            tighten(path)
            raw = path.read_bytes()
        # the new key's public half from memory: once given to `owner`, root without CAP_DAC_OVERRIDE (the
        # provisioning unit keeps only CAP_CHOWN) can no longer read the file (found on a booted image)
        return public_key_hex(Ed25519PrivateKey.from_private_bytes(raw))

    @classmethod
    def from_file(cls, kiosk_id: str, path: Path) -> HeadSigner:
        """The signer with the key in `path` (32 raw bytes); made there if missing, as at provisioning."""
        if not path.exists():  # only then: the kiosk's unit may not write its configuration folder
            log.warning("no journal key at %s: making one; the gateway must learn its public key", path)
            cls.make_key_file(path)
        tighten(path)
        return cls(kiosk_id, Ed25519PrivateKey.from_private_bytes(path.read_bytes()))

    @property
    def public_key(self) -> str:
        return public_key_hex(self._key)

    def sign(self, seq: int, digest: str) -> SignedHead:
        signature = self._key.sign(head_message(self.kiosk_id, seq, digest)).hex()
        return SignedHead(self.kiosk_id, seq, digest, signature)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def read_public_key(path: Path) -> str | None:
    """The public half of the journal key at `path` (hex), None when there is no usable key there."""
    try:
        return public_key_hex(Ed25519PrivateKey.from_private_bytes(path.read_bytes()))
    except (OSError, ValueError):
        return None

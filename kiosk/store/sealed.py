"""Sealing personal data at rest (face templates): AES-256-GCM with a per-kiosk key file.

The blob carries its nonce; the card ID is bound in as associated data, so a template copied onto
another card's row does not open. The key file is created 0600 on first use. On a Pi without a secure
element the key sits on the same SD card as the database, in a root-only folder (/etc/loket): it keeps
templates out of copies of the database and its backups, not out of the hands of someone holding the card.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class Sealer:
    """Seal and open small blobs bound to a context (e.g. a card ID)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a sealing key is 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = hmac.new(key, b"loket-status-cache", hashlib.sha256).digest()

    def keyed_digest(self, text: str) -> str:
        """A stable, unguessable-without-the-key name for `text` (a NIK as a cache key: no NIK at rest)."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        """The key in `path`, made (32 random bytes, mode 0600) if the file does not exist."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(AESGCM.generate_key(bit_length=256))
        return cls(path.read_bytes())

    def seal(self, data: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        """The data; raises cryptography's InvalidTag if the blob was changed or belongs elsewhere."""
        return self._aead.decrypt(blob[:NONCE], blob[NONCE:], context.encode())

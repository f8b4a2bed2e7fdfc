"""Sealing personal data at rest (face templates): AES-256-GCM with a per-kiosk key file.

The blob carries its nonce; the card ID is bound in as associated data, so a template copied onto
another card's row does not open. The key file is created 0600 on first use (kiosk.store.secret_files), and
an existing one that others may read is made 0600. On a Pi without a secure element the key sits on the
same SD card as the database, in a root-only folder (/etc/loket): it keeps templates out of copies of the
database and its backups, not out of the hands of someone holding the card.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.store.secret_files import tighten, write_secret

log = logging.getLogger(__name__)

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
            with contextlib.suppress(FileExistsError):  # another process made it a moment ago: use theirs
                write_secret(path, AESGCM.generate_key(bit_length=256), replace=False)
        elif tighten(path):
            log.warning("the sealing key %s could be read by others; it is 0600 now", path)
        return cls(path.read_bytes())

    def seal(self, data: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        """The data; raises cryptography's InvalidTag if the blob was changed or belongs elsewhere."""
        return self._aead.decrypt(blob[:NONCE], blob[NONCE:], context.encode())

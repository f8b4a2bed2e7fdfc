"""Writing a secret file (API key, private keys, the sealing key): all or nothing, and mode 0600 whatever
was at that path before.

The bytes go to a new file in the same folder, created 0600 (O_CREAT|O_EXCL, so never an existing file
with its old mode or owner) and synced; it then replaces the old file by rename, and the folder is synced
so the rename survives a power cut. A reader sees the old secret or the new one, never half of one. The
helper lives in the store, the one writer of disk state, so the gateway's PKI and provisioning share it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_MODE = 0o600


def write_secret(path: Path, data: bytes | str, *, replace: bool = True, owner: tuple[int, int] | None = None) -> None:
    """Write `data` to `path` atomically as a file only its owner can read and write. With `replace=False`
    an existing file is kept and FileExistsError raised (two processes making a key at once keep one).
    `owner` (uid, gid) gives the file to the account that will read it (provisioning runs as root for the
    kiosk's service user), before it takes the secret's name."""
    raw = data.encode() if isinstance(data, str) else data
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
        try:
            os.fchmod(fd, SECRET_MODE)  # exactly 0600, whatever the umask took away
            if owner is not None and replace:
                os.fchown(fd, *owner)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if replace:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)  # refused if `path` exists, as O_EXCL would be
                # given away only once linked: with fs.protected_hardlinks (Debian's default) root without
                # CAP_FOWNER may not link a file it does not own (found when provisioning a booted image,
                # whose unit keeps only CAP_CHOWN)
                if owner is not None:
                    os.fchown(fd, *owner)
        finally:
            os.close(fd)
    finally:
        tmp.unlink(missing_ok=True)  # gone already once renamed; a half-written one never stays
    sync_folder(folder)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename or a new file in it is on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tighten(path: Path) -> bool:
    """Make an existing secret file 0600 if anyone else may read it; True if its mode was changed."""
    mode = path.stat().st_mode & 0o777
    if mode == SECRET_MODE:
        return False
    os.chmod(path, SECRET_MODE)
    return True

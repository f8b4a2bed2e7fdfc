"""Field-update bundles (kiosk/ops/update.py installs them): made and signed at the office, checked at the
kiosk before anything of them is used.

A bundle is a tar of `bundle.json` (format, version, each wheel's name, size and SHA-256), `bundle.sig`
(hex Ed25519 signature over "loket-bundle/v1\\n" and bundle.json's bytes) and `wheels/*.whl`; nothing else.
Everything in it is checked before anything is installed: the size, the members, the signature against
the keys in /usr/share/loket/update-keys (the image's, read-only) and /etc/loket/update-keys (the
enrolment file's `update_keys`, trusted as its `ssh_keys` are), each wheel's size and digest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

FORMAT = "loket-bundle/1"
SIGNED_PREFIX = b"loket-bundle/v1\n"
KEYS_DIR = Path("/usr/share/loket/update-keys")  # the image's (read-only root)
ENROLLED_KEYS_DIR = Path("/etc/loket/update-keys")  # the enrolment file's update_keys (kiosk provision)
DIST = "loket_mandiri"  # the kiosk's own wheel: loket_mandiri-VERSION-...whl
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 64
MAX_MANIFEST_BYTES = 64 * 1024
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+!_-]{0,63}")
_WHEEL = re.compile(r"[A-Za-z0-9_.+!-]{1,160}\.whl")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


class UpdateRefused(Exception):
    """A bundle that is not installed, with the reason (for the journal and the admin)."""


@dataclass(frozen=True)
class Wheel:
    """One wheel a bundle carries: its file name, size and SHA-256 (hex)."""

    file: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Bundle:
    """A bundle's checked manifest."""

    version: str
    wheels: tuple[Wheel, ...]
    made: str

    def manifest(self) -> bytes:
        body = {
            "format": FORMAT,
            "version": self.version,
            "made": self.made,
            "wheels": [{"file": w.file, "size": w.size, "sha256": w.sha256} for w in self.wheels],
        }
        return json.dumps(body, indent=1, sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> Bundle:
        """The manifest from bundle.json; UpdateRefused naming what does not fit."""
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UpdateRefused(f"bundle.json is not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise UpdateRefused(f"bundle.json: format is not {FORMAT}")
        version, made, wheels = body.get("version"), body.get("made"), body.get("wheels")
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise UpdateRefused("bundle.json: version is not a version")
        if not isinstance(made, str) or len(made) > 40:
            raise UpdateRefused("bundle.json: made is not a time")
        if not isinstance(wheels, list) or not 1 <= len(wheels) <= MAX_MEMBERS - 2:
            raise UpdateRefused("bundle.json: wheels is not a list of 1 to 62")
        out = []
        for w in wheels:
            if not isinstance(w, dict):
                raise UpdateRefused("bundle.json: a wheel is not an object")
            name, size, digest = w.get("file"), w.get("size"), w.get("sha256")
            if not isinstance(name, str) or not _WHEEL.fullmatch(name) or name.startswith("."):
                raise UpdateRefused("bundle.json: a wheel's file is not a wheel's name")
            if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_BUNDLE_BYTES:
                raise UpdateRefused(f"bundle.json: {name}: size out of range")
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
                raise UpdateRefused(f"bundle.json: {name}: sha256 is not 64 hex digits")
            out.append(Wheel(name, size, digest))
        if len({w.file for w in out}) != len(out):
            raise UpdateRefused("bundle.json: a wheel is listed twice")
        if not any(w.file.startswith(f"{DIST}-{version}-") for w in out):
            raise UpdateRefused(f"bundle.json: no {DIST} wheel of version {version}")
        return cls(version, tuple(out), made)


def make_key(path: Path) -> str:
    """A new signing key at `path` (32 raw bytes, 0600; kept offline by whoever signs); its public key
    (64 hex digits, what goes into the image's update-keys folder)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    return _public_hex(key.public_key())


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def make_bundle(wheels: Iterable[Path], key_path: Path, out: Path, now: dt.datetime | None = None) -> Bundle:
    """Sign `wheels` (the kiosk's own wheel among them; its version is the bundle's) into `out`."""
    files = sorted(Path(w) for w in wheels)
    own = [w for w in files if w.name.startswith(f"{DIST}-")]
    if len(own) != 1:
        raise UpdateRefused(f"a bundle carries exactly one {DIST} wheel, not {len(own)}")
    version = own[0].name.split("-")[1]
    made = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = tuple(Wheel(w.name, w.stat().st_size, _sha256(w)) for w in files)
    bundle = Bundle.parse(Bundle(version, listed, made).manifest())
    key = Ed25519PrivateKey.from_private_bytes(key_path.read_bytes())
    signature = key.sign(SIGNED_PREFIX + bundle.manifest()).hex().encode()
    partial = out.with_name(out.name + ".part")
    with tarfile.open(partial, "w", format=tarfile.USTAR_FORMAT) as tar:
        _add(tar, "bundle.json", bundle.manifest())
        _add(tar, "bundle.sig", signature)
        for w in files:
            tar.add(w, arcname=f"wheels/{w.name}", recursive=False, filter=_plain)
    partial.replace(out)
    return bundle


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode, info.mtime = 0o644, 0
    return info


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def trusted_keys(*folders: Path) -> list[Ed25519PublicKey]:
    """The update-signing public keys in `folders` (default: the image's and the enrolment's; one file
    each, 64 hex digits); unreadable ones skipped with a warning."""
    keys = []
    searched = folders or (KEYS_DIR, ENROLLED_KEYS_DIR)
    paths = [p for folder in searched if folder.is_dir() for p in sorted(folder.glob("*.pub"))]
    for path in paths:
        try:
            text = path.read_text(encoding="ascii").strip()
            if not _HEX64.fullmatch(text):
                raise ValueError("not 64 hex digits")
            keys.append(Ed25519PublicKey.from_public_bytes(bytes.fromhex(text)))
        except (OSError, ValueError) as exc:
            log.warning("update key %s skipped: %s", path, exc)
    return keys


def check_bundle(path: Path, keys: list[Ed25519PublicKey], into: Path) -> Bundle:
    """Check the bundle at `path` against `keys` and put its wheels into `into`; UpdateRefused with the
    reason if anything does not fit (nothing is left in `into` then)."""
    if not keys:
        raise UpdateRefused(f"no update keys in {KEYS_DIR} or {ENROLLED_KEYS_DIR}: no bundle can be trusted")
    size = path.stat().st_size
    if size > MAX_BUNDLE_BYTES:
        raise UpdateRefused(f"bundle is {size} bytes, over {MAX_BUNDLE_BYTES}")
    try:
        with tarfile.open(path, "r:") as tar:
            members = tar.getmembers()
            if len(members) > MAX_MEMBERS:
                raise UpdateRefused(f"bundle has {len(members)} members, over {MAX_MEMBERS}")
            by_name = {}
            for m in members:
                ok_name = m.name in ("bundle.json", "bundle.sig") or (
                    m.name.startswith("wheels/") and _WHEEL.fullmatch(m.name[7:]) is not None
                )
                if not m.isreg() or not ok_name or m.name in by_name:
                    raise UpdateRefused(f"bundle member {m.name!r} is not allowed")
                by_name[m.name] = m
            manifest_raw = _read(tar, by_name, "bundle.json", MAX_MANIFEST_BYTES)
            signature = _read(tar, by_name, "bundle.sig", 256).strip().decode("ascii", "replace")
            if not _HEX128.fullmatch(signature):
                raise UpdateRefused("bundle.sig is not 128 hex digits")
            if not _signed(keys, bytes.fromhex(signature), SIGNED_PREFIX + manifest_raw):
                raise UpdateRefused("bad signature: not signed by any update key of this image")
            bundle = Bundle.parse(manifest_raw)
            listed = {f"wheels/{w.file}" for w in bundle.wheels}
            if set(by_name) - {"bundle.json", "bundle.sig"} != listed:
                raise UpdateRefused("the wheels in the bundle are not the ones its manifest lists")
            into.mkdir(parents=True, exist_ok=True)
            for w in bundle.wheels:
                _extract(tar, by_name[f"wheels/{w.file}"], w, into / w.file)
            return bundle
    except tarfile.TarError as exc:
        raise UpdateRefused(f"not a tar bundle: {exc}") from None
    except UpdateRefused:
        shutil.rmtree(into, ignore_errors=True)
        raise


def _read(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, limit: int) -> bytes:
    m = members.get(name)
    if m is None:
        raise UpdateRefused(f"bundle has no {name}")
    if m.size > limit:
        raise UpdateRefused(f"{name} is {m.size} bytes, over {limit}")
    f = tar.extractfile(m)
    assert f is not None  # a regular file
    return f.read(limit + 1)


def _signed(keys: list[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    for key in keys:
        with contextlib.suppress(InvalidSignature):
            key.verify(signature, message)
            return True
    return False


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, wheel: Wheel, dest: Path) -> None:
    if member.size != wheel.size:
        raise UpdateRefused(f"{wheel.file}: {member.size} bytes, the manifest says {wheel.size}")
    src = tar.extractfile(member)
    assert src is not None
    h = hashlib.sha256()
    with dest.open("wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
    if h.hexdigest() != wheel.sha256:
        raise UpdateRefused(f"{wheel.file}: SHA-256 does not match the signed manifest")

"""Base45 (RFC 9285): bytes as QR alphanumeric-mode text, about 20% denser than base64 in byte mode."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


class Base45Error(ValueError):
    """Text that is not valid base45."""


def b45encode(data: bytes) -> str:
    """Encode bytes as base45 text."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += [ALPHABET[c], ALPHABET[d], ALPHABET[e]]
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += [ALPHABET[c], ALPHABET[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode base45 text; raises Base45Error on bad characters, lengths or values."""
    try:
        vals = [_INDEX[ch] for ch in text]
    except KeyError as exc:
        raise Base45Error(f"invalid base45 character {exc}") from None
    if len(vals) % 3 == 1:
        raise Base45Error("invalid base45 length")
    out = bytearray()
    for i in range(0, len(vals), 3):
        chunk = vals[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if n > 0xFFFF:
                raise Base45Error("base45 triple out of range")
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise Base45Error("base45 pair out of range")
            out.append(n)
    return bytes(out)

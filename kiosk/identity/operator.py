"""Operator (staff) cards and PINs.

Staff cards are enrolled by chip UID in the kiosk's configuration (provisioned, never typed on the
kiosk), each with a salted scrypt hash of the staff member's PIN. Wrong PINs slow down and then lock the
card: a growing pause after each wrong PIN, a lockout after five, and each lockout longer than the one
before. Attempts survive restarts (the store keeps them) and every one is journaled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
FIRST_LOCKOUT_S = 300.0  # 5 minutes, doubling with every further lockout
MAX_LOCKOUT_S = 24 * 3600.0


def hash_pin(pin: str, salt: bytes | None = None, n: int = SCRYPT_N) -> str:
    """'scrypt$N$r$p$salt$hash' (base64), for the configuration."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of a PIN against its stored hash; False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def valid_pin_hash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 6 and parts[0] == "scrypt" and all(x.isdigit() for x in parts[1:4])


@dataclass(frozen=True)
class Operator:
    """A staff member allowed to open operator mode."""

    name: str
    card_uid: str  # hex, upper case
    pin_hash: str


@dataclass(frozen=True)
class Attempts:
    """What the store remembers about one card's PIN attempts."""

    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True)
class PinVerdict:
    """The answer to one PIN attempt."""

    ok: bool
    locked_until: float = 0.0  # when set, no attempt is accepted before this time
    attempts_left: int = MAX_FAILURES
    reason: str = ""  # ok | wrong_pin | wait (too soon after a wrong PIN) | locked | unknown_card


def pause_after(failures: int) -> float:
    """Seconds before the next attempt is accepted: 0, 1, 2, 4, 8 s after 0..4 failures."""
    return 0.0 if failures == 0 else float(2 ** (failures - 1))


def lockout_for(lockouts: int) -> float:
    """How long the n-th lockout lasts (n >= 1): 5 min, 10 min, 20 min, ... at most a day."""
    return min(FIRST_LOCKOUT_S * 2 ** (lockouts - 1), MAX_LOCKOUT_S)


def judge(operator: Operator | None, pin: str, attempts: Attempts, now: float) -> tuple[PinVerdict, Attempts]:
    """Decide one attempt (pure): the verdict and the attempts to remember."""
    if operator is None:
        return PinVerdict(False, reason="unknown_card"), attempts
    if now < attempts.locked_until:  # not even checked: a pause after a wrong PIN, or a lockout
        reason = "wait" if attempts.failures else "locked"
        return PinVerdict(False, attempts.locked_until, MAX_FAILURES - attempts.failures, reason), attempts
    if verify_pin(pin, operator.pin_hash):
        return PinVerdict(True, reason="ok"), Attempts()
    failures = attempts.failures + 1
    if failures >= MAX_FAILURES:
        lockouts = attempts.lockouts + 1
        until = now + lockout_for(lockouts)
        return PinVerdict(False, until, 0, "locked"), Attempts(0, lockouts, until)
    until = now + pause_after(failures)
    return PinVerdict(False, until, MAX_FAILURES - failures, "wrong_pin"), Attempts(failures, attempts.lockouts, until)

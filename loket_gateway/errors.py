"""The gateway's one refusal type: an HTTP status with a machine-readable code (the contract's Error)."""

from __future__ import annotations


class ApiError(Exception):
    """A refusal the contract documents: `status`, `code` (e.g. 'slot_full') and a message for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class UsageError(Exception):
    """Something the person at the terminal can fix (a command's argument): one line, exit 2."""


def mask_nik(nik: str) -> str:
    """A NIK as logs may show it: all but the last four digits hidden."""
    return "*" * max(0, len(nik) - 4) + nik[-4:]

"""Card profiles: what the kiosk can read from a card, chosen by its ATR.

The baseline profile reads the chip UID with PC/SC GET DATA (FF CA 00 00 00) and leaves it to the
gateway or the cached manifest to map UID to NIK. Reading e-KTP data itself needs a Dukcapil-issued SAM
in the reader (Permendagri 34/2014: ISO 14443 A/B reader with a SAM slot, mutual authentication); a
SAM-backed profile plugs in here. What such a profile must provide is in docs/card-profiles.md. No
e-KTP APDU protocol is invented here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

GET_UID = bytes.fromhex("FFCA000000")
UID_LENGTHS = (4, 7, 10)  # ISO 14443-3 single, double, triple size UIDs

Transmit = Callable[[bytes], bytes]  # send a command APDU, get the response APDU (data + SW1 SW2)


class CardReadError(Exception):
    """The card answered, but not with something this profile can use."""


@dataclass(frozen=True)
class CardData:
    """What a profile read from a card."""

    uid: str  # hex, upper case
    profile: str
    nik: str | None = None  # only a SAM-backed profile can read it from an e-KTP


class CardProfile(Protocol):
    """Reads one kind of card."""

    name: str

    def accepts(self, atr: bytes, descriptions: list[str]) -> bool:
        """True if this profile can read a card with this ATR."""
        ...

    def read(self, transmit: Transmit) -> CardData:
        """Read the card; raise CardReadError for answers that make no sense."""
        ...


def status_word(response: bytes) -> tuple[bytes, int]:
    """Split a response APDU into data and SW1SW2; CardReadError if it is too short to have one."""
    if len(response) < 2:
        raise CardReadError(f"response of {len(response)} byte(s) has no status word")
    return response[:-2], int.from_bytes(response[-2:], "big")


class BaselineUidProfile:
    """Any contactless card: the chip UID through the reader's GET DATA pseudo-APDU."""

    name = "baseline-uid"

    def accepts(self, atr: bytes, descriptions: list[str]) -> bool:
        return True

    def read(self, transmit: Transmit) -> CardData:
        data, sw = status_word(transmit(GET_UID))
        if sw != 0x9000:
            raise CardReadError(f"GET DATA UID answered status {sw:04X}")
        if len(data) not in UID_LENGTHS:
            raise CardReadError(f"UID of {len(data)} bytes (expected 4, 7 or 10)")
        return CardData(data.hex().upper(), self.name)


def choose_profile(profiles: list[CardProfile], atr: bytes, descriptions: list[str]) -> CardProfile:
    """The first profile that accepts the card (the baseline accepts every card)."""
    for profile in profiles:
        if profile.accepts(atr, descriptions):
            return profile
    return BaselineUidProfile()

"""The gateway's answers as typed values. Each is built from a body that already passed the contract's
schema (kiosk.gateway.contract), so the field access here cannot fail on shape; what the schema cannot
say (a photo that is not base64) is checked here and raised as ValueError."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from kiosk.identity.ticket import public_key_from_hex


@dataclass(frozen=True)
class ManifestCard:
    """A finished card assigned to this kiosk."""

    card_id: str
    nik: str = field(repr=False)  # never in a log line by accident
    chip_uid: str
    district: str
    ready_since: str
    photo: bytes | None = field(default=None, repr=False)  # the recording photo: only for the face template
    old_chip_uid: str | None = None  # the holder's old card: recognised locally when the link is down
    valid_until: str | None = None  # releasable without hearing from the gateway until this day


@dataclass(frozen=True)
class LookupAnswer:
    """Where a resident's card stands, in the gateway's words (`status` is one of the contract's)."""

    status: str
    card_id: str | None = None
    office_name: str | None = None
    since: str | None = None


@dataclass(frozen=True)
class OfficeAnswer:
    """An office that does biometric recording."""

    office_id: str
    name: str
    district: str


@dataclass(frozen=True)
class SlotAnswer:
    """A recording slot and its places left."""

    day: str
    time: str
    remaining: int


@dataclass(frozen=True)
class LeaseAnswer:
    """Places in a slot set aside for this kiosk's offline bookings."""

    office_id: str
    office_name: str
    district: str
    day: str
    time: str
    remaining: int


@dataclass(frozen=True)
class Conflict:
    """Something an event revealed that staff must look at (e.g. a ticket used at two kiosks)."""

    event_id: str
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class EventsAck:
    """Which of the sent events the gateway stored now, which it had, and what they revealed."""

    accepted: tuple[str, ...]
    duplicates: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class HeadRef:
    """A journal row as the gateway holds it: sequence number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class HeartbeatAnswer:
    """What the gateway made of the heartbeat's journal head, and the newest anchor it holds."""

    verdict: str  # anchored, unchanged, regressed, forked, bad_signature, no_key
    anchor: HeadRef | None


@dataclass(frozen=True)
class Anchor:
    """One signed journal head the gateway keeps for this kiosk."""

    seq: int
    hash: str
    signature: str
    at: float


def photo_bytes(text: str | None) -> bytes | None:
    """A manifest photo (base64) as bytes; ValueError if it is not base64."""
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("photo is not base64") from exc


def manifest_ticket_keys(data: dict[str, Any]) -> dict[int, str] | None:
    """A full manifest's ticket keys by key ID (None if it carries none); ValueError for a key that is no
    Ed25519 point."""
    keys = data.get("ticket_keys")
    if not keys:
        return None
    for hexkey in keys.values():
        try:
            public_key_from_hex(hexkey)
        except ValueError as exc:
            raise ValueError("a ticket key is not an Ed25519 public key") from exc
    return {int(kid): str(hexkey) for kid, hexkey in keys.items()}


def manifest_cards(data: dict[str, Any]) -> list[ManifestCard]:
    return [
        ManifestCard(
            c["card_id"],
            c["nik"],
            c["chip_uid"],
            c["district"],
            c["ready_since"],
            photo_bytes(c.get("photo")),
            c.get("old_chip_uid"),
            c.get("valid_until"),
        )
        for c in data["cards"]
    ]


def lookup(data: dict[str, Any]) -> LookupAnswer:
    return LookupAnswer(data["status"], data.get("card_id"), data.get("office_name"), data.get("since"))


def offices(data: dict[str, Any]) -> list[OfficeAnswer]:
    return [OfficeAnswer(o["office_id"], o["name"], o["district"]) for o in data["offices"]]


def slots(data: dict[str, Any]) -> list[SlotAnswer]:
    return [SlotAnswer(s["day"], s["time"], s["remaining"]) for s in data["slots"]]


def leases(data: dict[str, Any]) -> list[LeaseAnswer]:
    keys = ("office_id", "office_name", "district", "day", "time", "remaining")
    return [LeaseAnswer(*(row[k] for k in keys)) for row in data["leases"]]


def events_ack(data: dict[str, Any]) -> EventsAck:
    conflicts = tuple(Conflict(c["id"], c["kind"], c.get("detail", "")) for c in data.get("conflicts", []))
    return EventsAck(tuple(data["accepted"]), tuple(data["duplicates"]), conflicts)


def heartbeat(data: dict[str, Any]) -> HeartbeatAnswer:
    anchor = data.get("anchor")
    return HeartbeatAnswer(data["verdict"], HeadRef(anchor["seq"], anchor["hash"]) if anchor else None)


def anchors(data: dict[str, Any]) -> tuple[list[Anchor], bool]:
    """One page of anchors and whether another follows."""
    return [Anchor(a["seq"], a["hash"], a["signature"], float(a["at"])) for a in data["anchors"]], bool(data["more"])

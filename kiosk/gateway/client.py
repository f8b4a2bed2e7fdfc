"""Client of the kiosk gateway (contract: openapi.yaml), over requests with urllib3 Retry.

Every write carries a client-made ID, so retries are safe and the gateway deduplicates. Every answer is
checked against the contract (its status, its body's schema, its size) and becomes a typed value
(kiosk.gateway.answers); every call ends by its deadline (kiosk.gateway.transport). Nothing but the
declared errors leaves the client: `GatewayUnavailable` (link down, deadline, 5xx), `GatewayBadAnswer`
(an answer the contract does not allow: treated like no answer) and `GatewayRefused` (a 4xx with a code).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.gateway import answers
from kiosk.gateway.answers import (
    Anchor,
    Conflict,
    EventsAck,
    HeadRef,
    HeartbeatAnswer,
    LeaseAnswer,
    LookupAnswer,
    ManifestCard,
    OfficeAnswer,
    SlotAnswer,
)
from kiosk.gateway.contract import ContractViolation, operation
from kiosk.gateway.transport import BadBody, CallFailed, PacedRetry, fetch, watched_session

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

log = logging.getLogger(__name__)
# what any answer may hold (a full manifest has a few thousand): parsed, 5 million `{}` in a 16 MiB body
# would cost 350 MiB; counted first, in C, they cost nothing
MAX_CONTAINERS = 50_000

__all__ = [
    "Anchor",
    "Conflict",
    "EventsAck",
    "GatewayBadAnswer",
    "GatewayClient",
    "GatewayError",
    "GatewayRefused",
    "GatewayUnavailable",
    "HeadRef",
    "HeartbeatAnswer",
    "LeaseAnswer",
    "LookupAnswer",
    "ManifestCard",
    "OfficeAnswer",
    "SlotAnswer",
]


class GatewayError(Exception):
    """Any failure talking to the gateway."""


class GatewayUnavailable(GatewayError, ConnectionError):
    """The gateway could not be reached or did not answer in time (retry later)."""


class GatewayBadAnswer(GatewayUnavailable):
    """The gateway answered, but not as the contract says (shape, type, size, status): used like no
    answer at all, and logged as a fault of the gateway."""


class GatewayRefused(GatewayError):
    """The gateway answered with a refusal (4xx): `code` says which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class GatewayClient:
    """Talks to one gateway as one kiosk."""

    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        api_key: str,
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        deadline_s: float | None = None,
        ca_file: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`timeout_s` bounds each wait on the socket, `deadline_s` the whole call, retries included
        (default: long enough for every try, at most 3 timeouts); `ca_file` pins the CA the gateway's
        certificate must come from (the system's trust store is not used then); `client_cert` is this
        kiosk's (certificate, key) for mutual TLS; `sleep` waits out the backoff between tries (a
        simulation passes its clock's, so retries run on simulated time)."""
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.timeout = (min(3.0, timeout_s), timeout_s)  # (connect, read)
        self.deadline_s = deadline_s if deadline_s is not None else min(3, retries + 1) * timeout_s
        retry = PacedRetry(
            sleep=sleep,
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff_s,
            backoff_jitter=backoff_s,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),  # every POST carries an idempotency key
            raise_on_status=False,
            respect_retry_after_header=False,  # a Retry-After of hours would hold the call: our backoff only
        )
        self.session = watched_session(retry)
        self.session.headers.update({"X-Kiosk-Id": kiosk_id, "Authorization": f"Bearer {api_key}"})
        # passed with every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in requests
        self._verify: str | bool = str(ca_file) if ca_file is not None else True
        self._cert = (str(client_cert[0]), str(client_cert[1])) if client_cert is not None else None

    @classmethod
    def for_kiosk(cls, cfg: KioskConfig, retries: int = 2) -> GatewayClient:
        """The client of the kiosk `cfg` describes: its gateway, identity, timeout, pinned CA and certificate."""
        return cls(
            cfg.gateway_url,
            cfg.kiosk_id,
            cfg.api_key,
            timeout_s=cfg.gateway_timeout_s,
            retries=retries,
            ca_file=cfg.gateway_ca_file,
            client_cert=cfg.gateway_client_cert,
        )

    def close(self) -> None:
        self.session.close()

    def _call(
        self,
        operation_id: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The answer's body, checked against the contract; a refusal or fault as a declared error."""
        op = operation(operation_id)
        what = f"{method} {path.split('/v1/', 1)[-1].split('/', 1)[0]} ({operation_id})"
        try:
            answer = fetch(
                self.session,
                method,
                self.base_url + path,
                deadline_s=self.deadline_s,
                max_bytes=op.max_answer_bytes,
                timeout=self.timeout,
                json=body,
                params=params,
                verify=self._verify,
                cert=self._cert,
            )
        except BadBody as exc:
            raise GatewayBadAnswer(f"{what}: {exc.why}") from exc
        except CallFailed as exc:
            raise GatewayUnavailable(f"{what}: {exc.why}") from exc
        if answer.status >= 500:
            raise GatewayUnavailable(f"{what}: HTTP {answer.status}")
        if answer.body.count(b"{") + answer.body.count(b"[") > MAX_CONTAINERS:
            raise GatewayBadAnswer(f"{what}: more than {MAX_CONTAINERS} JSON objects and arrays")
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError) as exc:
            raise GatewayBadAnswer(f"{what}: HTTP {answer.status}, body is not JSON") from exc
        try:
            op.check(answer.status, data)
        except ContractViolation as exc:
            raise GatewayBadAnswer(f"{what}: {exc}") from exc
        if answer.status >= 400:
            raise GatewayRefused(answer.status, data["error"], data["message"])
        if not 200 <= answer.status < 300:  # the contract lists no other status on success
            raise GatewayBadAnswer(f"{what}: HTTP {answer.status}")
        result: dict[str, Any] = data
        return result

    @staticmethod
    def _typed(what: str, build: Any, data: dict[str, Any]) -> Any:
        """`build(data)`: a check the schema cannot make (a photo's base64) failing is a bad answer."""
        try:
            return build(data)
        except ValueError as exc:
            raise GatewayBadAnswer(f"{what}: {exc}") from exc

    def manifest(self) -> list[ManifestCard]:
        data = self._call("getManifest", "GET", f"/v1/kiosks/{self.kiosk_id}/manifest")
        cards: list[ManifestCard] = self._typed("manifest", answers.manifest_cards, data)
        return cards

    def manifest_since(self, version: int | None) -> tuple[int, list[ManifestCard] | None, dict[int, str] | None]:
        """(version, cards, ticket keys), or (version, None, None) if nothing changed since `version`; the
        keys are None when a full manifest carries none."""
        params = {"since_version": version} if version is not None else None
        data = self._call("getManifest", "GET", f"/v1/kiosks/{self.kiosk_id}/manifest", params=params)
        if data.get("unchanged"):
            return data["version"], None, None
        cards: list[ManifestCard] = self._typed("manifest", answers.manifest_cards, data)
        keys: dict[int, str] | None = self._typed("manifest", answers.manifest_ticket_keys, data)
        return data["version"], cards, keys

    def lookup(self, nik: str) -> LookupAnswer:
        """Where a resident's card stands (the NIK travels in the body, never in a URL)."""
        return answers.lookup(self._call("lookupResident", "POST", "/v1/lookup", {"nik": nik}))

    def resolve_chip(self, uid: str) -> str | None:
        """The NIK of the holder of an old card's chip, or None if unknown."""
        try:
            return str(self._call("resolveChip", "POST", "/v1/chips/resolve", {"uid": uid})["nik"])
        except GatewayRefused as exc:
            if exc.status == 404:
                return None
            raise

    def consume_ticket(self, ticket_id: str) -> bool:
        """Spend a queue ticket for this kiosk (idempotent); True if this was its first use. A ticket
        another kiosk spent is GatewayRefused(409, "ticket_used_elsewhere")."""
        return bool(self._call("consumeTicket", "POST", f"/v1/tickets/{ticket_id}/consume", {})["first_use"])

    def offices(self) -> list[OfficeAnswer]:
        return answers.offices(self._call("listOffices", "GET", "/v1/offices"))

    def slots(self, office_id: str, start: dt.date, days: int = 14) -> list[SlotAnswer]:
        params = {"from": start.isoformat(), "days": days}
        return answers.slots(self._call("listSlots", "GET", f"/v1/offices/{office_id}/slots", params=params))

    def book(self, booking_id: str, nik: str, office_id: str, day: str, time: str) -> str:
        """Book a slot; the booking's code."""
        body = {"booking_id": booking_id, "nik": nik, "office_id": office_id, "day": day, "time": time}
        return str(self._call("book", "POST", "/v1/bookings", body)["code"])

    def leases(self, start: dt.date, days: int = 7, per_slot: int = 1) -> list[LeaseAnswer]:
        """Recording places set aside for this kiosk's offline bookings (idempotent per slot)."""
        body = {"from": start.isoformat(), "days": days, "per_slot": per_slot}
        return answers.leases(self._call("grantLeases", "POST", f"/v1/kiosks/{self.kiosk_id}/leases", body))

    def send_events(self, events: list[dict[str, Any]]) -> EventsAck:
        return answers.events_ack(self._call("sendEvents", "POST", "/v1/events", {"events": events}))

    def heartbeat(self, summary: dict[str, Any]) -> HeartbeatAnswer:
        """Send the health summary with its signed `journal_head`; the gateway's verdict on the head."""
        return answers.heartbeat(self._call("heartbeat", "POST", f"/v1/kiosks/{self.kiosk_id}/heartbeat", summary))

    def anchors(self, max_pages: int = 1000) -> list[Anchor]:
        """Every journal head the gateway anchored for this kiosk, oldest first (paged, at most
        `max_pages` pages of 5000)."""
        found: list[Anchor] = []
        for _ in range(max_pages):
            params = {"after": found[-1].seq if found else 0, "limit": 5000}
            page, more = answers.anchors(
                self._call("getAnchors", "GET", f"/v1/kiosks/{self.kiosk_id}/anchors", params=params)
            )
            found.extend(page)
            if not more or not page:
                break
        return found


def enrol(
    gateway_url: str,
    token: str,
    kiosk_id: str,
    csr: str,
    *,
    journal_key: str | None = None,
    ca_file: Path | None = None,
    deadline_s: float = 20.0,
) -> dict[str, Any]:
    """Spend a one-time enrolment token at the gateway (no API key yet: the token is the credential), with
    the kiosk's journal public key (hex) when it has one. The
    answer is checked against the contract like every other; refusals are GatewayRefused (401: the token
    is unknown or spent, 403: it is another kiosk's)."""
    client = GatewayClient(gateway_url, kiosk_id, "", retries=0, timeout_s=10.0, deadline_s=deadline_s, ca_file=ca_file)
    client.session.headers.pop("Authorization", None)
    try:
        body = {"token": token, "kiosk_id": kiosk_id, "csr": csr}
        if journal_key is not None:
            body["journal_key"] = journal_key
        return client._call("enrol", "POST", "/v1/enrol", body)
    finally:
        client.close()

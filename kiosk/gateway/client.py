"""Client of the kiosk gateway (contract: openapi.yaml), over requests with urllib3 Retry.

Every write carries a client-made ID, so retries are safe and the gateway deduplicates. Faults are
exceptions: `GatewayUnavailable` (link down, timeout, 5xx) and `GatewayRefused` (a 4xx with a code).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class GatewayError(Exception):
    """Any failure talking to the gateway."""


class GatewayUnavailable(GatewayError, ConnectionError):
    """The gateway could not be reached or did not answer properly (retry later)."""


class GatewayRefused(GatewayError):
    """The gateway answered with a refusal (4xx): `code` says which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


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
        ca_file: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
    ) -> None:
        """`ca_file` pins the CA the gateway's certificate must come from (the system's trust store is
        not used then); `client_cert` is this kiosk's (certificate, key) for mutual TLS."""
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.timeout = (min(3.0, timeout_s), timeout_s)  # (connect, read)
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff_s,
            backoff_jitter=backoff_s,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),  # every POST carries an idempotency key
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers.update({"X-Kiosk-Id": kiosk_id, "Authorization": f"Bearer {api_key}"})
        # passed with every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in requests
        self._verify: str | bool = str(ca_file) if ca_file is not None else True
        self._cert = (str(client_cert[0]), str(client_cert[1])) if client_cert is not None else None

    def close(self) -> None:
        self.session.close()

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            resp = self.session.request(
                method,
                self.base_url + path,
                json=body,
                params=params,
                timeout=self.timeout,
                verify=self._verify,
                cert=self._cert,
            )
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise GatewayUnavailable(f"{method} {path}: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError as exc:
            raise GatewayUnavailable(f"{method} {path}: answer is not JSON") from exc
        if resp.status_code >= 400:
            raise GatewayRefused(resp.status_code, data.get("error", "unknown"), data.get("message", ""))
        if not isinstance(data, dict):
            raise GatewayUnavailable(f"{method} {path}: answer is not a JSON object")
        return data

    def manifest(self) -> list[ManifestCard]:
        data = self._call("GET", f"/v1/kiosks/{self.kiosk_id}/manifest")
        return self._cards(data)

    def manifest_since(self, version: int | None) -> tuple[int, list[ManifestCard] | None]:
        """(version, cards), or (version, None) if nothing changed since `version`."""
        params = {"since_version": version} if version is not None else None
        data = self._call("GET", f"/v1/kiosks/{self.kiosk_id}/manifest", params=params)
        return int(data["version"]), None if data.get("unchanged") else self._cards(data)

    @staticmethod
    def _cards(data: dict[str, Any]) -> list[ManifestCard]:
        return [
            ManifestCard(
                c["card_id"],
                c["nik"],
                c["chip_uid"],
                c["district"],
                c["ready_since"],
                base64.b64decode(c["photo"]) if c.get("photo") else None,
                c.get("old_chip_uid"),
                c.get("valid_until"),
            )
            for c in data["cards"]
        ]

    def lookup(self, nik: str) -> dict[str, Any]:
        """Where a resident's card stands (the NIK travels in the body, never in a URL)."""
        return self._call("POST", "/v1/lookup", {"nik": nik})

    def resolve_chip(self, uid: str) -> str | None:
        """The NIK of the holder of an old card's chip, or None if unknown."""
        try:
            return str(self._call("POST", "/v1/chips/resolve", {"uid": uid})["nik"])
        except GatewayRefused as exc:
            if exc.status == 404:
                return None
            raise

    def consume_ticket(self, ticket_id: str) -> None:
        self._call("POST", f"/v1/tickets/{ticket_id}/consume", {})

    def offices(self) -> list[dict[str, str]]:
        return list(self._call("GET", "/v1/offices")["offices"])

    def slots(self, office_id: str, start: dt.date, days: int = 14) -> list[dict[str, Any]]:
        params = {"from": start.isoformat(), "days": days}
        return list(self._call("GET", f"/v1/offices/{office_id}/slots", params=params)["slots"])

    def book(self, booking_id: str, nik: str, office_id: str, day: str, time: str) -> dict[str, Any]:
        body = {"booking_id": booking_id, "nik": nik, "office_id": office_id, "day": day, "time": time}
        return self._call("POST", "/v1/bookings", body)

    def leases(self, start: dt.date, days: int = 7, per_slot: int = 1) -> list[dict[str, Any]]:
        """Recording places set aside for this kiosk's offline bookings (idempotent per slot)."""
        body = {"from": start.isoformat(), "days": days, "per_slot": per_slot}
        return list(self._call("POST", f"/v1/kiosks/{self.kiosk_id}/leases", body)["leases"])

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "/v1/events", {"events": events})

    def heartbeat(self, summary: dict[str, Any]) -> None:
        self._call("POST", f"/v1/kiosks/{self.kiosk_id}/heartbeat", summary)

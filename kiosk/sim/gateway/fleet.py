"""The fleet: which kiosks exist, their enrolment (one-time token, API key, certificate from a CSR) and
the admins' page of every kiosk's last heartbeat."""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import Any

from kiosk.gateway.contract import valid_public_key
from kiosk.sim.gateway.anchors import AnchorBook
from kiosk.sim.gateway.api import ApiError, require
from kiosk.sim.gateway.issuer import TicketIssuer
from kiosk.sim.gateway.store import GatewayStore
from kiosk.sim.seed import KIOSK_OFFICE


class Fleet:
    """Kiosk registry and enrolment; signs kiosk certificates once `ca` is set."""

    def __init__(self, store: GatewayStore, issuer: TicketIssuer) -> None:
        self.store = store
        self.issuer = issuer
        self.ca: Any = None  # a kiosk.gateway.pki.Issued CA: enrolment then signs kiosk certificates
        self.anchors = AnchorBook(store)

    def add_kiosk(self, kiosk_id: str, office: str, api_key: str) -> None:
        """Register a kiosk with its API key, as an admin would (tests add a second kiosk this way)."""
        self.store.write("INSERT OR REPLACE INTO kiosks VALUES (?,?,?)", (kiosk_id, office, api_key))

    def issue_enrolment_token(self, kiosk_id: str, office_id: str = KIOSK_OFFICE) -> str:
        """A one-time token for a new kiosk (the admin's side of provisioning)."""
        token = secrets.token_urlsafe(24)
        self.store.write("INSERT INTO enrolment_tokens VALUES (?,?,?,NULL)", (token, kiosk_id, office_id))
        return token

    def enrol(self, body: dict[str, Any]) -> dict[str, Any]:
        """Spend a one-time token: register the kiosk, give it its API key, sign its certificate request
        (when this gateway has a CA), and hand over what it must trust."""
        token, kiosk_id = require(body, "token"), require(body, "kiosk_id")
        journal_key = body.get("journal_key")
        if journal_key is not None and not valid_public_key(journal_key):
            raise ApiError(400, "bad_request", "journal_key: not an Ed25519 public key as 64 hex digits")
        with self.store.lock:
            row = self.store.row("SELECT kiosk_id, office_id, used FROM enrolment_tokens WHERE token=?", (token,))
            if row is None or row[2] is not None:
                raise ApiError(401, "token_invalid", "the enrolment token is unknown or already used")
            if row[0] != kiosk_id:
                raise ApiError(403, "token_other_kiosk", f"this token is for kiosk {row[0]}")
            api_key = secrets.token_urlsafe(32)
            self.store.write("UPDATE enrolment_tokens SET used=? WHERE token=?", (time.time(), token))
            self.add_kiosk(kiosk_id, row[1], api_key)
            if journal_key is not None:
                self.anchors.register_key(kiosk_id, journal_key)
        answer: dict[str, Any] = {
            "kiosk_id": kiosk_id,
            "office_id": row[1],
            "api_key": api_key,
            "ticket_keys": {str(self.issuer.key_id): self.issuer.public_key_hex},
        }
        if self.ca is not None and body.get("csr"):
            from kiosk.gateway.pki import sign_csr

            answer["client_cert"] = sign_csr(self.ca, str(body["csr"]), kiosk_id)
            answer["ca_cert"] = self.ca.cert.read_text()
        return answer

    def heartbeat(self, kiosk_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a kiosk's latest health summary (the fleet page shows it) and anchor its journal head."""
        self.store.write("INSERT OR REPLACE INTO heartbeats VALUES (?,?,?)", (kiosk_id, time.time(), json.dumps(body)))
        return {"ok": True, **self.anchors.check(kiosk_id, body.get("journal_head"), body.get("journal_since"))}

    def kiosks(self) -> list[dict[str, Any]]:
        """Every kiosk with its last heartbeat (None if it never sent one)."""
        rows = self.store.rows(
            "SELECT k.kiosk_id, k.office_id, h.at, h.payload FROM kiosks k "
            "LEFT JOIN heartbeats h ON h.kiosk_id = k.kiosk_id ORDER BY k.kiosk_id"
        )
        return [
            {"kiosk": r[0], "office": r[1], "at": r[2], "summary": json.loads(r[3]) if r[3] else None} for r in rows
        ]

    def page(self) -> str:
        """A small HTML page of kiosks and their last heartbeat (the admins' glance; Grafana has the rest)."""
        rows = []
        journal_alarms: dict[str, list[str]] = {}
        for alarm in self.anchors.alarms():
            journal_alarms.setdefault(alarm.kiosk_id, []).append(f"journal {alarm.kind} at row {alarm.seq}")
        for k in self.kiosks():
            summary = k["summary"] or {}
            alarms = summary.get("alarms", []) + journal_alarms.get(k["kiosk"], [])
            parts = ", ".join(f"{n}: {st}" for n, st in summary.get("components", {}).items() if st != "ok") or "all ok"
            seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(k["at"])) + " UTC" if k["at"] else "never"
            rows.append(
                f"<tr><td>{html.escape(k['kiosk'])}</td><td>{html.escape(k['office'])}</td><td>{seen}</td>"
                f"<td>{summary.get('vault_cards', '-')}</td><td>{summary.get('outbox_pending', '-')}</td>"
                f"<td>{html.escape(', '.join(alarms) or '-')}</td>"
                f"<td>{html.escape(parts)}</td></tr>"
            )
        head = "<tr><th>kiosk</th><th>office</th><th>last heartbeat</th><th>cards</th><th>outbox</th>"
        head += "<th>alarms</th><th>parts</th></tr>"
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Loket fleet</title></head><body>"
            f"<h1>Loket Mandiri kiosks</h1><table border='1'>{head}{''.join(rows)}</table></body></html>"
        )

"""The fleet: which kiosks exist and their API keys (kept as SHA-256 digests), one-time enrolment tokens
(spent by a conditional UPDATE: a token is single-use whatever races it), heartbeats, and the admins'
page of every kiosk's last heartbeat."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
from typing import Any

from sqlalchemy import Connection, and_, select, update

from kiosk.gateway.contract import valid_public_key
from loket_gateway.anchors import AnchorBook
from loket_gateway.db import Database
from loket_gateway.errors import ApiError
from loket_gateway.pki import SigningCa, sign_csr
from loket_gateway.schema import enrolment_tokens, heartbeats, kiosks
from loket_gateway.tickets import TicketIssuer


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Fleet:
    """Kiosk registry, authentication, enrolment and heartbeats."""

    def __init__(self, db: Database, issuer: TicketIssuer, anchors: AnchorBook) -> None:
        self.db, self.issuer, self.anchors = db, issuer, anchors
        self.ca: SigningCa | None = None  # with one, enrolment signs the kiosk's certificate request

    def add_kiosk(self, kiosk_id: str, office_id: str, api_key: str, conn: Connection | None = None) -> None:
        """Register a kiosk with its API key, or replace its key and office."""
        row = {"kiosk_id": kiosk_id, "office_id": office_id, "api_key_sha256": digest(api_key)}
        statement = self.db.insert(kiosks).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["kiosk_id"], set_={"office_id": office_id, "api_key_sha256": row["api_key_sha256"]}
        )
        if conn is not None:
            conn.execute(statement)
        else:
            self.db.write(lambda c: c.execute(statement))

    def authenticate(self, kiosk_id: str | None, key: str | None) -> str:
        """The kiosk's ID if `key` is its API key; else a 401."""
        if not kiosk_id or not key:
            raise ApiError(401, "unauthenticated", "send X-Kiosk-Id and Authorization: Bearer <key>")
        with self.db.read() as conn:
            held = conn.execute(select(kiosks.c.api_key_sha256).where(kiosks.c.kiosk_id == kiosk_id)).scalar()
        if held is None or not hmac.compare_digest(held, digest(key)):
            raise ApiError(401, "unauthenticated", "unknown kiosk or wrong key")
        return kiosk_id

    def issue_enrolment_token(self, kiosk_id: str, office_id: str) -> str:
        """A one-time token for a new kiosk (the admin's side of provisioning); only its digest is kept."""
        token = secrets.token_urlsafe(24)
        row = {"token_sha256": digest(token), "kiosk_id": kiosk_id, "office_id": office_id, "created": time.time()}
        self.db.write(lambda conn: conn.execute(enrolment_tokens.insert().values(row)))
        return token

    def enrol(self, body: dict[str, Any]) -> dict[str, Any]:
        """Spend a one-time token: register the kiosk, give it its API key and the ticket keys, and sign
        its certificate request when this gateway has a CA."""
        kiosk_id, journal_key = body["kiosk_id"], body.get("journal_key")
        if journal_key is not None and not valid_public_key(journal_key):
            raise ApiError(400, "bad_request", "journal_key: not an Ed25519 public key")
        cert = None
        if self.ca is not None and body.get("csr"):
            try:  # before the token is spent: a bad request must not cost the kiosk its token
                cert = sign_csr(self.ca, str(body["csr"]), kiosk_id)
            except ValueError:
                raise ApiError(400, "bad_request", "csr: not a valid PEM certificate request") from None
        api_key = secrets.token_urlsafe(32)
        if not self.issuer.public_keys():  # the contract promises at least one ticket key
            self.issuer.signing_key()
        office_id, ticket_keys = self.db.write(lambda conn: self._spend(conn, body, api_key))
        answer: dict[str, Any] = {"kiosk_id": kiosk_id, "office_id": office_id, "api_key": api_key}
        answer["ticket_keys"] = ticket_keys
        if cert is not None and self.ca is not None:
            answer.update(client_cert=cert, ca_cert=self.ca.cert_pem)
        return answer

    def _spend(self, conn: Connection, body: dict[str, Any], api_key: str) -> tuple[str, dict[str, str]]:
        token, kiosk_id, t = body["token"], body["kiosk_id"], enrolment_tokens.c
        row = conn.execute(select(t.kiosk_id, t.office_id, t.spent).where(t.token_sha256 == digest(token))).first()
        if row is None or row.spent is not None:
            raise ApiError(401, "token_invalid", "the enrolment token is unknown or already used")
        if row.kiosk_id != kiosk_id:
            raise ApiError(403, "token_other_kiosk", f"this token is for kiosk {row.kiosk_id}")
        spend = update(enrolment_tokens).where(and_(t.token_sha256 == digest(token), t.spent.is_(None)))
        if conn.execute(spend.values(spent=time.time())).rowcount != 1:  # a racing enrolment spent it first
            raise ApiError(401, "token_invalid", "the enrolment token is unknown or already used")
        self.add_kiosk(kiosk_id, row.office_id, api_key, conn)
        if body.get("journal_key") is not None:
            self.anchors.register_key(kiosk_id, body["journal_key"], conn)
        return str(row.office_id), self.issuer.public_keys(conn)

    def heartbeat(self, kiosk_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a kiosk's latest health summary (the fleet page shows it) and anchor its journal head."""

        def beat(conn: Connection) -> dict[str, Any]:
            row = {"kiosk_id": kiosk_id, "at": time.time(), "payload": json.dumps(body)}
            upsert = self.db.insert(heartbeats).values(row)
            conn.execute(upsert.on_conflict_do_update(index_elements=["kiosk_id"], set_=row))
            return self.anchors.check(conn, kiosk_id, body["journal_head"], body.get("journal_since"))

        return {"ok": True, **self.db.write(beat)}

    def kiosks(self) -> list[dict[str, Any]]:
        """Every kiosk with its last heartbeat (None if it never sent one)."""
        k, h = kiosks.c, heartbeats.c
        query = (
            select(k.kiosk_id, k.office_id, h.at, h.payload)
            .outerjoin(heartbeats, h.kiosk_id == k.kiosk_id)
            .order_by(k.kiosk_id)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            {"kiosk": r[0], "office": r[1], "at": r[2], "summary": json.loads(r[3]) if r[3] else None} for r in rows
        ]

    def page(self) -> str:
        """A small HTML page of kiosks and their last heartbeat (the admins' glance; Grafana has the rest)."""
        journal_alarms: dict[str, list[str]] = {}
        for alarm in self.anchors.alarms():
            journal_alarms.setdefault(alarm.kiosk_id, []).append(f"journal {alarm.kind} at row {alarm.seq}")
        rows = []
        for k in self.kiosks():
            summary = k["summary"] if isinstance(k["summary"], dict) else {}
            alarms = [str(a) for a in summary.get("alarms", []) if isinstance(summary.get("alarms"), list)]
            alarms += journal_alarms.get(k["kiosk"], [])
            parts: dict[str, Any] = summary.get("components") or {}
            parts = parts if isinstance(parts, dict) else {}
            bad = ", ".join(f"{n}: {st}" for n, st in parts.items() if st != "ok") or "all ok"
            seen = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(k["at"])) if k["at"] else "never"
            cells = [k["kiosk"], k["office"], seen, summary.get("vault_cards", "-"), summary.get("outbox_pending", "-")]
            cells += [", ".join(alarms) or "-", bad]
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        head = "".join(
            f"<th>{h}</th>" for h in ("kiosk", "office", "last heartbeat", "cards", "outbox", "alarms", "parts")
        )
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Loket fleet</title></head><body>"
            f"<h1>Loket Mandiri kiosks</h1><table border='1'><tr>{head}</tr>{''.join(rows)}</table></body></html>"
        )

"""The queue system's issuing endpoint, `POST /queue/v1/tickets`: outside the kiosk contract (a kiosk never
issues tickets, and the queue system is no kiosk), on the same server, authenticated by a queue system's
own API key (`loket-gateway queue-client-add NAME`): headers `X-Queue-Client: NAME` and
`Authorization: Bearer KEY`. Its request is checked against REQUEST (JSON Schema) as strictly as the
contract's are; the answer is the ticket's QR text and what it says in the clear (never the NIK).

    {"nik": "5371...", "service": "pickup", "office_id": "DKP-KUPANG", "valid_s": 14400}
    -> 200 {"ticket": "LM1:...", "ticket_id": "0123456789abcdef", "key_id": 2,
            "not_before": 1764700000, "not_after": 1764714400}
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from sqlalchemy import select

from kiosk.identity.ticket import Service
from loket_gateway.errors import ApiError
from loket_gateway.gateway import Gateway
from loket_gateway.nik import nik_problem
from loket_gateway.schema import offices
from loket_gateway.spec import RequestInvalid, describe
from loket_gateway.tickets import MAX_VALID_S

PATH = "/queue/v1/tickets"
SERVICES = {"pickup": Service.PICKUP, "recording": Service.RECORDING, "status": Service.STATUS}
REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["nik", "service", "office_id"],
    "additionalProperties": False,
    "properties": {
        "nik": {"type": "string", "pattern": "^[0-9]{16}$"},
        "service": {"enum": sorted(SERVICES)},
        "office_id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,16}$"},
        "valid_s": {"type": "integer", "minimum": 60, "maximum": MAX_VALID_S},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(REQUEST)


def parse(raw: bytes, content_type: str) -> dict[str, Any]:
    """The request's body, or RequestInvalid naming the field."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestInvalid("body: Content-Type must be application/json")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise RequestInvalid("body: not JSON") from None
    error = next(iter(_VALIDATOR.iter_errors(body)), None)
    if error is not None:
        raise RequestInvalid("body " + describe(error))
    problem = nik_problem(body["nik"])
    if problem:
        raise RequestInvalid(problem)
    return dict(body)


def issue(gateway: Gateway, environ: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """Authenticate the queue system, check the request, sign the ticket (ApiError / RequestInvalid)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    key = auth[7:] if auth.startswith("Bearer ") else None
    if gateway.issuer.queue_client(environ.get("HTTP_X_QUEUE_CLIENT"), key) is None:
        raise ApiError(401, "unauthenticated", "send X-Queue-Client and Authorization: Bearer <queue key>")
    body = parse(raw, environ.get("CONTENT_TYPE", ""))
    with gateway.db.read() as conn:
        if conn.execute(select(offices.c.office_id).where(offices.c.office_id == body["office_id"])).first() is None:
            raise ApiError(404, "office_unknown", f"no office {body['office_id']}")
    ticket = gateway.issuer.issue_details(
        body["nik"], SERVICES[body["service"]], body["office_id"], valid_s=body.get("valid_s", 4 * 3600)
    )
    return {
        "ticket": ticket.text,
        "ticket_id": ticket.ticket_id,
        "key_id": ticket.key_id,
        "not_before": ticket.not_before,
        "not_after": ticket.not_after,
    }

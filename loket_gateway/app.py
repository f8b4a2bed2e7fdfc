"""The gateway's WSGI app: the contract's routes (loket_gateway.spec) over a `Gateway`, with the kiosk's
authentication (API key, and with mutual TLS the certificate's name must be the kiosk's), every request
checked before its handler and every answer checked before it is sent, plus /healthz, /metrics and the
admins' /fleet page.

An answer the contract does not allow is never sent: it is logged (operation, status, where; never the
body) and replaced by a 500. Errors are the contract's JSON {"error", "message"}; a path the contract
lacks is 404, a method it lacks on a known path 405 with Allow.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from kiosk.gateway.contract import ContractViolation
from loket_gateway import metrics, queue
from loket_gateway.db import DatabaseUnavailable
from loket_gateway.errors import ApiError
from loket_gateway.gateway import Gateway
from loket_gateway.peer import PEER_CN
from loket_gateway.spec import NoRoute, Operation, RequestInvalid, routes

log = logging.getLogger(__name__)
MAX_BODY = 4 * 1024 * 1024  # the largest request read (a batch of 500 events with their payloads)
READ_CHUNK = 64 * 1024
Answer = tuple[int, list[tuple[str, str]], bytes, str]  # status, headers, body, operation (for metrics)


def _json(status: int, body: Any, operation: str, headers: list[tuple[str, str]] | None = None) -> Answer:
    data = json.dumps(body, separators=(",", ":")).encode()
    return status, [("Content-Type", "application/json"), *(headers or [])], data, operation


def _error(status: int, code: str, message: str, operation: str = "-") -> Answer:
    return _json(status, {"error": code, "message": message[:1000]}, operation)


def _not_allowed(message: str, allow: tuple[str, ...]) -> Answer:
    status, headers, body, operation = _error(405, "method_not_allowed", message)
    return status, [*headers, ("Allow", ", ".join(allow))], body, operation


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, at most MAX_BODY bytes (RequestInvalid beyond), each read within the socket's
    deadline (loket_gateway.peer)."""
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestInvalid(f"body: larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    while True:
        try:
            chunk = stream.read(min(READ_CHUNK, MAX_BODY + 1 - size))
        except OSError:  # the socket's deadline (loket_gateway.peer) passed mid-body
            raise RequestInvalid("body: not received in time") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestInvalid(f"body: larger than {MAX_BODY} bytes")
    return b"".join(chunks)


class GatewayApp:
    """The WSGI callable."""

    def __init__(self, gateway: Gateway, *, check_answers: bool = True, client_cert_required: bool = False) -> None:
        """`client_cert_required`: behind mutual TLS every operation but enrolment needs the kiosk's own
        certificate; `check_answers` validates each answer against the contract before it is sent."""
        self.gateway = gateway
        self.check_answers = check_answers
        self.client_cert_required = client_cert_required
        self.routes = routes()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            status, headers, body, operation = self.respond(environ)
        except Exception:  # a bug must still answer, and be visible
            log.exception("gateway failed on %s", environ.get("REQUEST_METHOD"))
            status, headers, body, operation = _error(500, "internal", "gateway error")
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        metrics.observe(operation, status, time.perf_counter() - started)
        return [body]

    def respond(self, environ: dict[str, Any]) -> Answer:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        if path in ("/healthz", "/metrics", "/fleet"):
            return self._admin(method, path)
        if path == queue.PATH:
            return self._queue(method, environ)
        try:
            op, path_params = self.routes.match(method, path)
        except NoRoute as exc:
            if exc.allow:
                return _not_allowed(f"{method} is not an operation of {path}", exc.allow)
            return _error(404, "not_found", "no such path in the contract")
        status, answer = self._operate(op, path_params, environ)
        result = _json(status, answer, op.operation_id)
        if self.check_answers:
            try:
                op.check_answer(status, answer, len(result[2]))
            except ContractViolation as exc:
                log.error("answer outside the contract: %s %d at %s", op.operation_id, status, exc.where)
                return _error(500, "internal", "the gateway's answer broke the contract", op.operation_id)
        return result

    def _operate(self, op: Operation, path_params: dict[str, str], environ: dict[str, Any]) -> tuple[int, Any]:
        try:
            raw = read_body(environ)
            kiosk = self._authenticate(environ) if op.secured else ""
            params, body = op.parse(path_params, environ.get("QUERY_STRING", ""), environ.get("CONTENT_TYPE", ""), raw)
            return 200, getattr(self.gateway, op.operation_id)(kiosk, params, body)
        except ApiError as exc:
            return exc.status, {"error": exc.code, "message": exc.message[:1000]}
        except RequestInvalid as exc:
            return 400, {"error": "bad_request", "message": str(exc)[:1000]}
        except DatabaseUnavailable as exc:
            log.warning("%s: %s", op.operation_id, exc)
            return 503, {"error": "unavailable", "message": "the gateway's database is unavailable: retry later"}

    def _queue(self, method: str, environ: dict[str, Any]) -> Answer:
        """The queue system's issuing endpoint (loket_gateway.queue), outside the kiosk contract."""
        if method != "POST":
            return _not_allowed(f"{queue.PATH} answers POST only", ("POST",))
        try:
            return _json(200, queue.issue(self.gateway, environ, read_body(environ)), "issueTicket")
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message, "issueTicket")
        except RequestInvalid as exc:
            return _error(400, "bad_request", str(exc), "issueTicket")
        except DatabaseUnavailable:
            return _error(503, "unavailable", "the gateway's database is unavailable: retry later", "issueTicket")

    def _authenticate(self, environ: dict[str, Any]) -> str:
        """The kiosk this request is from: its API key, and behind mutual TLS its certificate too."""
        peer = environ.get(PEER_CN)
        if self.client_cert_required and not peer:
            raise ApiError(401, "client_certificate_required", "present this kiosk's certificate")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        kiosk = self.gateway.fleet.authenticate(environ.get("HTTP_X_KIOSK_ID"), key)
        if self.client_cert_required and peer != kiosk:
            raise ApiError(401, "certificate_other_kiosk", "the client certificate is not this kiosk's")
        return kiosk

    def _admin(self, method: str, path: str) -> Answer:
        if method != "GET":
            return _not_allowed(f"{path} answers GET only", ("GET",))
        try:
            if path == "/metrics":
                text = metrics.exposition(self.gateway.db)
                return 200, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], text, "metrics"
            if path == "/fleet":
                page = self.gateway.fleet.page().encode()
                return 200, [("Content-Type", "text/html; charset=utf-8")], page, "fleet"
            self.gateway.db.ping()
        except DatabaseUnavailable:
            return _error(503, "unavailable", "the gateway's database is unavailable", path.strip("/"))
        return _json(200, {"ok": True}, "healthz")

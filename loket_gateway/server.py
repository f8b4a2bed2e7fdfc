"""`loket-gateway serve`: the WSGI app under gunicorn (gthread workers: N processes of T threads).

Gunicorn terminates TLS itself: the server certificate, and with a client CA the handshake asks every
client for a certificate from that CA (CERT_OPTIONAL: a new kiosk enrols before it has one; the app
refuses every other operation without it). The verified certificate reaches the app through the socket
gunicorn hands it (loket_gateway.peer). Each worker opens its own database engine after the fork.

Bounds: a deadline on the TLS handshake and the request's head (HandshakeDeadline), gunicorn's request
line and header limits, the app's body limit (loket_gateway.app.MAX_BODY),
a worker timeout, keep-alive, and the database's connect, lock and statement timeouts (loket_gateway.db).
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from gunicorn.app.base import BaseApplication

from loket_gateway.app import GatewayApp
from loket_gateway.db import Database
from loket_gateway.gateway import Gateway
from loket_gateway.peer import PeerIdentity, WsgiApp
from loket_gateway.pki import SigningCa


@dataclass(frozen=True)
class ServeOptions:
    """What `loket-gateway serve` was asked for."""

    db_url: str
    host: str = "127.0.0.1"
    port: int = 8443
    workers: int = 2
    threads: int = 4
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None  # mutual TLS: kiosks' certificates come from this CA
    ca_key: Path | None = None  # the client CA's key: enrolment then signs kiosk certificates
    today: dt.date | None = None
    check_answers: bool = True
    handshake_s: float = 10.0  # the TLS handshake and the request's head, per connection


def build_app(options: ServeOptions) -> WsgiApp:
    """The app of one worker process, over its own engine."""
    gateway = Gateway(Database(options.db_url, pool_size=options.threads), today=options.today)
    if options.ca_key is not None and options.client_ca is not None:
        gateway.fleet.ca = SigningCa.from_files(options.client_ca, options.ca_key)
    app = GatewayApp(gateway, check_answers=options.check_answers, client_cert_required=options.client_ca is not None)
    return PeerIdentity(app)


class HandshakeDeadline(ssl.SSLContext):
    """An SSLContext whose every accepted socket gets a deadline before it is wrapped: gunicorn's gthread
    worker then runs the TLS handshake (and reads the request's head) on a socket that times out, so a
    client that connects and says nothing holds a worker thread for `handshake_s` at most, not forever."""

    handshake_s: float = 10.0

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        sock.settimeout(self.handshake_s)
        return super().wrap_socket(sock, *args, **kwargs)


def tls_context_factory(handshake_s: float) -> Any:
    """gunicorn's `ssl_context` hook: its default context, TLS 1.2 at least, with a handshake deadline."""

    def make(config: Any, default_factory: Any) -> ssl.SSLContext:
        context: ssl.SSLContext = default_factory()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.__class__ = HandshakeDeadline  # the same object, its wrap_socket bounded
        bounded = cast(HandshakeDeadline, context)
        bounded.handshake_s = handshake_s
        return bounded

    return make


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class GatewayServer(BaseApplication):
    """Gunicorn, configured from ServeOptions rather than a config file."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        o = self.options
        host = f"[{o.host}]" if ":" in o.host else o.host
        settings: dict[str, Any] = {
            "bind": [f"{host}:{o.port}"],
            "workers": o.workers,
            "worker_class": "gthread",
            "threads": o.threads,
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "limit_request_line": 4096,
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
            "proc_name": "loket-gateway",
            "child_exit": _child_exit,
            "accesslog": None,  # the contract keeps NIKs out of URLs, but the log is not needed to run
            "errorlog": "-",
        }
        if o.tls_cert is not None:
            context = tls_context_factory(o.handshake_s)
            settings.update(certfile=str(o.tls_cert), keyfile=str(o.tls_key), ssl_context=context)
            if o.client_ca is not None:
                settings.update(ca_certs=str(o.client_ca), cert_reqs=ssl.CERT_OPTIONAL)
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> WsgiApp:
        return build_app(self.options)

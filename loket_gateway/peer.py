"""How the kiosk identity proved by mutual TLS reaches the app.

The gateway runs under gunicorn, whose sync and gthread workers terminate TLS themselves and hand the
app the connection's socket as `environ["gunicorn.socket"]` (an ssl.SSLSocket). Uvicorn gives an ASGI
app no peer certificate at all, which is why this service is WSGI on gunicorn. The handshake is
CERT_OPTIONAL against the kiosks' CA (a new kiosk must reach /v1/enrol before it has a certificate), so
`getpeercert()` returns a certificate only when it verified against that CA; this middleware puts its
common name, the kiosk's ID (loket_gateway.pki), in `environ["loket.peer_cn"]`, or None. Nothing a
client sends (no header) can set it.

It also puts a deadline on this request's socket (REQUEST_IO_S for each read and write of the body and
the answer): gunicorn's gthread worker leaves a connection's socket blocking without one. (The TLS
handshake happens before the app is called: loket_gateway.server.HandshakeDeadline bounds it.)
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PEER_CN = "loket.peer_cn"
REQUEST_IO_S = 15.0


def common_name(cert: dict[str, Any] | None) -> str | None:
    """The subject's commonName of a verified peer certificate (ssl's dict form), or None."""
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class PeerIdentity:
    """WSGI middleware: the verified client certificate's common name into the environ."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if sock is not None:
            sock.settimeout(REQUEST_IO_S)
        cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
        environ[PEER_CN] = common_name(cert)
        return self.app(environ, start_response)

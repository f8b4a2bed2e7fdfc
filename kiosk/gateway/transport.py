"""HTTP to the gateway with a deadline for the whole call and a bound on what is read.

requests' timeouts bound each socket read, so a server that drips a byte a second holds a call for
ever, and a body is read whole before anyone looks at its size. Here every call has a deadline: a timer
shuts the call's sockets down when it passes (whatever the call is waiting on: connecting, the TLS
handshake, headers or body), and no new connection is opened after it. The body is streamed, its
compressed and decompressed sizes capped, and only gzip or deflate are accepted."""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)
CHUNK = 16 * 1024
GRACE_S = 0.25  # the caller waits this much past the deadline for the worker to give up by itself
IO_WORKERS = 8  # calls in flight at once (the gateway desk, the sync worker, upkeep...); more wait their turn
_IO = ThreadPoolExecutor(IO_WORKERS, thread_name_prefix="gateway-io")
ACCEPT_ENCODING = "gzip, deflate"  # what _Body can inflate with a bound (no brotli, no zstd)


class CallFailed(Exception):
    """The call got no usable answer: `why` says what happened (for logs; no personal data)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class BadBody(CallFailed):
    """An answer came, but its body cannot be used: not inflatable, an encoding not asked for."""


class AnswerTooLarge(BadBody):
    """The answer's body (or what it inflates to) is larger than the operation allows."""


@dataclass
class _Call:
    """One call in flight on this thread: its deadline, and the sockets it opened or reused."""

    deadline: float
    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    finished: bool = False  # the answer is read: its connection may go back to the pool, to other calls
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            if self.expired:
                _shut(sock)
            self.sockets.append(sock)

    def expire(self) -> None:
        with self.lock:
            if self.finished:
                return
            self.expired = True
            for sock in self.sockets:
                _shut(sock)

    def finish(self) -> None:
        """The call is done with its sockets: a late timer must not shut one another call picked up."""
        with self.lock:
            self.finished = True


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a recv blocked in another thread (it reads EOF)


_current = threading.local()


def _call() -> _Call | None:
    return getattr(_current, "call", None)


class _WatchedMixin:
    """Registers each socket with the thread's call, and opens none after its deadline."""

    def _new_conn(self) -> socket.socket:
        call = _call()
        if call is not None and (call.expired or time.monotonic() >= call.deadline):
            raise ConnectTimeoutError(self, "the call's deadline passed")
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if call is not None:
            call.watch(sock)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        call = _call()
        if call is not None:
            call.watch(getattr(self, "sock", None))  # after TLS: the wrapped socket replaced the raw one

    def request(self, *args: Any, **kwargs: Any) -> None:
        call = _call()
        if call is not None:
            call.watch(getattr(self, "sock", None))  # a kept-alive connection's socket
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTP(_WatchedMixin, HTTPConnection):
    pass


class _WatchedHTTPS(_WatchedMixin, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _Session(requests.Session):
    """requests' Session without what a gateway answer must not steer: no redirect is looked at (requests
    reads a 3xx body whole, unbounded, and parses its Location even with allow_redirects=False), no
    cookie is kept, no proxy or netrc comes from the environment (a proxy's pools are not watched)."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


class PacedRetry(Retry):
    """urllib3's Retry, sleeping its backoff through `sleep`: time.sleep, or a simulation's clock (so a
    simulated day offline runs in seconds, its retries and backoff on the same clock as the flow)."""

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pace = sleep

    def new(self, **kw: Any) -> PacedRetry:
        retry = super().new(**kw)
        retry.pace = self.pace
        return retry

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.pace(backoff)


def watched_session(retry: Retry) -> requests.Session:
    """A requests session whose connections honour the calls' deadlines."""
    session = _Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.mount("http://", _Adapter(max_retries=retry))
    session.mount("https://", _Adapter(max_retries=retry))
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return session


@dataclass(frozen=True)
class Answer:
    """A status and a body read whole within its bounds."""

    status: int
    body: bytes | bytearray


def fetch(
    session: requests.Session,
    method: str,
    url: str,
    *,
    deadline_s: float,
    max_bytes: int,
    timeout: tuple[float, float],
    **kwargs: Any,
) -> Answer:
    """One HTTP call, retries included, ended at `deadline_s` from now; its body at most `max_bytes`
    (after inflating). Raises CallFailed (or AnswerTooLarge) for anything but an answer.

    The call runs on one of the I/O workers and the caller waits at most `deadline_s` (and a moment): the
    timer shuts whatever sockets the call holds, but a name lookup (getaddrinfo) has no socket to shut and
    blocks as long as the resolver likes; the caller does not wait for it, the worker finishes it alone."""
    call = _Call(time.monotonic() + deadline_s)
    timer = threading.Timer(deadline_s, call.expire)
    timer.daemon = True
    timer.start()
    try:
        future = _IO.submit(_fetch_on_worker, call, session, method, url, deadline_s, max_bytes, timeout, kwargs)
        try:
            return future.result(timeout=max(0.0, call.deadline - time.monotonic()) + GRACE_S)
        except FutureTimeout:
            call.expire()
            future.cancel()  # still queued behind stuck workers: never started
            raise CallFailed("deadline passed") from None
    finally:
        timer.cancel()


def _fetch_on_worker(
    call: _Call,
    session: requests.Session,
    method: str,
    url: str,
    deadline_s: float,
    max_bytes: int,
    timeout: tuple[float, float],
    kwargs: dict[str, Any],
) -> Answer:
    if call.expired:
        raise CallFailed("deadline passed")
    _current.call = call
    try:
        connect, read = timeout
        resp = session.request(
            method, url, timeout=(min(connect, deadline_s), min(read, deadline_s)), stream=True,
            allow_redirects=False, **kwargs,
        )  # fmt: skip
        try:
            body = _read_body(resp, call, max_bytes)
        finally:
            call.finish()
            resp.close()
        return Answer(resp.status_code, body)
    except requests.RequestException as exc:
        raise CallFailed("deadline passed" if call.expired else type(exc).__name__) from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        raise CallFailed("deadline passed" if call.expired else type(exc).__name__) from exc
    except CallFailed:
        raise
    except Exception as exc:  # the edge: whatever else the HTTP stack raises is no answer, and a bug to see
        log.error("HTTP call failed unexpectedly: %s: %s", type(exc).__name__, str(exc)[:200])
        raise CallFailed(f"unexpected {type(exc).__name__}") from exc
    finally:
        _current.call = None


def _read_body(resp: requests.Response, call: _Call, max_bytes: int) -> bytearray:
    declared = resp.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise AnswerTooLarge(f"body of {int(declared)} bytes declared: larger than {max_bytes} bytes")
    body = _Body(resp.headers.get("Content-Encoding", "identity"), max_bytes)
    for chunk in resp.raw.stream(CHUNK, decode_content=False):
        if call.expired or time.monotonic() >= call.deadline:
            raise CallFailed("deadline passed")
        body.add(chunk)
    if call.expired:  # the timer shut the socket: what was read is cut short
        raise CallFailed("deadline passed")
    return body.done()


class _Body:
    """Collects a body, inflating gzip or deflate, never holding more than `limit` bytes of it."""

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._inflate: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise BadBody(f"content encoding {encoding[:20]!r} not accepted")
        self.limit = limit
        self.data = bytearray()  # one buffer: no second copy when the body is complete
        self.raw = 0

    def add(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.limit:
            raise AnswerTooLarge(f"body larger than {self.limit} bytes")
        if self._inflate is not None:
            try:
                chunk = self._inflate.decompress(chunk, self.limit - self.size + 1)
            except zlib.error as exc:
                raise BadBody("body does not inflate") from exc
            if self._inflate.unconsumed_tail:
                raise AnswerTooLarge(f"body inflates to more than {self.limit} bytes")
        self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        if len(self.data) + len(chunk) > self.limit:
            raise AnswerTooLarge(f"body (inflated) larger than {self.limit} bytes")
        self.data += chunk

    @property
    def size(self) -> int:
        return len(self.data)

    def done(self) -> bytearray:
        if self._inflate is not None:
            try:
                self._keep(self._inflate.flush())
            except zlib.error as exc:
                raise BadBody("body does not inflate") from exc
            if not self._inflate.eof or self._inflate.unused_data:
                raise BadBody("compressed body cut short, or followed by other bytes")
        return self.data

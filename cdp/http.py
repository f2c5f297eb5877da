"""Outbound HTTP for the whole product. Every call the server makes to another host (connectors,
CRM pushes, webhook deliveries, the payment gateway) goes through ``outbound_request``, which adds
what ``requests`` alone does not:

- **A total deadline.** ``requests``' ``timeout`` bounds each socket operation, not the call: a
  server that sends its headers and then one byte every few seconds keeps a caller forever. Here a
  watchdog thread shuts the socket down when the wall-clock deadline (connect + headers + body)
  passes, and the call ends with ``DeadlineExceeded``. The HTTP library's own DNS lookup is
  bounded by the resolver's timeout (``/etc/resolv.conf``), not by this deadline.
- **A cap on the response body.** The body is streamed; a declared ``Content-Length`` over the cap,
  or more bytes than the cap (after decompression, so a gzip bomb stops too), end the call with
  ``ResponseTooLarge``, which carries the status and the first ``max_bytes`` bytes.
- **No redirects**: a public host could send us on to an internal one.
- **The SSRF guard** for URLs a tenant typed (everything except operator-configured hosts such as
  the payment gateway): ``url_guard`` refuses a host that is, or resolves to, a non-public address
  (before each use, since DNS answers change; the lookup is bounded by CDP_DNS_TIMEOUT), and
  ``guarded_session`` re-checks the address each new connection actually reached (DNS
  rebinding). IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo, IPv4-mapped and
  IPv4-compatible) are judged by the embedded address. ``CDP_ALLOW_PRIVATE_URLS`` turns the
  guard off (tests, local fakes).
- **Never inside a web request.** A request thread that waits on a host a tenant chose is a thread
  every other tenant loses (gunicorn has a few per worker). Outbound work runs in Celery tasks;
  ``outbound_request`` called while a request is being served raises ``OutboundInRequest`` when
  ``CDP_FORBID_OUTBOUND_IN_REQUESTS`` is on (default: ``DEBUG``; the integration tests turn it on)
  and logs an error otherwise. The payment gateway's charge, which the buyer waits for, passes
  ``allow_in_request=True``: its host is the operator's, not a tenant's, and its deadline is short.

Billing (public schema) may not import integrations, so this lives in ``cdp``.
"""

from __future__ import annotations

import _socket
import heapq
import ipaddress
import itertools
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.signals import request_finished, request_started
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

from cdp.codes import ErrorCode
from cdp.exceptions import ApplicationError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


# --- errors ---------------------------------------------------------------------------------------

class UnsafeUrl(ApplicationError):
    """The URL's host is, or resolves to, an internal address (SSRF guard)."""

    code = ErrorCode.URL_UNSAFE


class DeadlineExceeded(requests.Timeout):
    """No complete answer (headers and body) within the call's total deadline."""


class ResponseTooLarge(requests.RequestException):
    """The answer's body is larger than the cap. ``response`` holds the status, the headers and
    at most ``limit`` bytes of the body; the rest was never read."""

    def __init__(self, message: str, *, limit: int, response: requests.Response):
        super().__init__(message, response=response)
        self.limit = limit


class OutboundInRequest(RuntimeError):
    """Outbound HTTP attempted while a web request is being served (a programming error)."""


# --- SSRF guard -------------------------------------------------------------------------------------

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: IPv4 in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: IPv4 in bits 48-63 and 72-87
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def private_urls_allowed() -> bool:
    return bool(getattr(settings, "CDP_ALLOW_PRIVATE_URLS", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through a translator or tunnel, if any."""
    value = int(ip)
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip in _NAT64_WELL_KNOWN:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if ip in _NAT64_LOCAL:
        high = (value >> 64) & 0xFFFF  # bits 48-63
        low = (value >> 40) & 0xFFFF  # bits 72-87 (bits 64-71 are the reserved "u" octet)
        return [ipaddress.IPv4Address((high << 16) | low)]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)  # (server, client): traffic reaches both
    if ip in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    return []


def address_is_public(address: str) -> bool:
    """True only for a globally routable unicast address; an IPv6 address that embeds an IPv4
    address (NAT64, 6to4, Teredo, ``::ffff:a.b.c.d``, ``::a.b.c.d``) is public only when every
    embedded address is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded:
            return all(address_is_public(str(inner)) for inner in embedded)
    return ip.is_global and not ip.is_multicast


_resolvers: dict[int, ThreadPoolExecutor] = {}


def _resolve(host: str, port: int) -> list:
    """``getaddrinfo`` within CDP_DNS_TIMEOUT seconds (default 5): a tenant's slow name server
    must not hold the caller (a registration runs in a web request) for the resolver's own
    retries. A lookup that runs over is abandoned to its thread (a few per process at most)."""
    pool = _resolvers.get(os.getpid())
    if pool is None:  # one per process: a forked child has none of its parent's threads
        pool = _resolvers[os.getpid()] = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cdp-dns")
    future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return future.result(timeout=float(getattr(settings, "CDP_DNS_TIMEOUT", 5.0)))
    except FutureTimeout:
        future.cancel()
        raise TimeoutError(f"{host} did not resolve in time.") from None


def url_guard(url: str, *, field: str = "url") -> None:
    """Refuse (``UnsafeUrl`` with a message on ``field``) an http(s) URL whose host does not
    resolve, or resolves to any non-public address: one internal answer among several is enough,
    since resolvers rotate them. Unresolvable and internal hosts get the same message, so the
    answer does not reveal which internal names exist."""
    if private_urls_allowed():
        return
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        infos = _resolve(host, port) if host else []
    except (OSError, UnicodeError, ValueError, TimeoutError):
        host, infos = None, []
    if parts.scheme not in ("http", "https") or not infos or \
            not all(address_is_public(info[4][0]) for info in infos):
        message = (f"{host or url!s} does not resolve to a public address; private, loopback, link-local "
                   "and other internal addresses are refused.")
        raise UnsafeUrl(message, fields={field: [message]})


# --- total deadline -------------------------------------------------------------------------------

def _shutdown(sock) -> None:
    """Wake up any thread blocked on ``sock``. The plain socket call, also for a TLS socket:
    ``SSLSocket.shutdown`` would tear down its TLS state under the reading thread's feet."""
    try:
        _socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._socks: list = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def attach(self, sock) -> None:
        with self._lock:
            if not self.expired:
                self._socks.append(sock)
                return
        _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            socks, self._socks = self._socks, []
        for sock in socks:
            _shutdown(sock)

    def finish(self) -> bool:
        """Stop watching; True when the deadline had passed (the answer may be cut short)."""
        with self._lock:
            self.done = True
            self._socks = []
            return self.expired


class _Watchdog:
    """One thread per process fires every pending deadline on time (a heap ordered by due time;
    finished deadlines are dropped lazily)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._heap: list = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cdp-outbound-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        deadline = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            deadline.fire()


_watchdog = _Watchdog()


def _after_fork() -> None:
    # A forked child (gunicorn, Celery prefork) has no watchdog thread, and the parent's lock may
    # have been held at fork time.
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_after_fork)
_local = threading.local()


def _current_deadline() -> _Deadline | None:
    return getattr(_local, "deadline", None)


# --- connections: peer check and deadline ------------------------------------------------------------

class _GuardedConnectionMixin:
    """Checks the address a new connection actually reached (our lookup and urllib3's may differ),
    and hands every socket a call uses to that call's deadline. Through a proxy the peer is the
    proxy, so only ``url_guard``'s check applies."""

    guarded = True

    def _new_conn(self):
        sock = super()._new_conn()
        if self.guarded and self.proxy is None and not private_urls_allowed() and \
                not address_is_public(sock.getpeername()[0]):
            sock.close()
            raise UnsafeUrl(f"{self.host} connected to an internal address; refused.")
        deadline = _current_deadline()
        if deadline is not None:
            deadline.attach(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = _current_deadline()
        if deadline is not None and self.sock is not None:  # a kept-alive connection
            deadline.attach(self.sock)
        return super().request(*args, **kwargs)


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _TrustedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    guarded = False


class _TrustedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    guarded = False


def _pool(base, connection_cls):
    return type(f"{connection_cls.__name__}Pool", (base,), {"ConnectionCls": connection_cls})


class _Adapter(HTTPAdapter):
    pools = {"http": _pool(HTTPConnectionPool, _GuardedHTTPConnection),
             "https": _pool(HTTPSConnectionPool, _GuardedHTTPSConnection)}

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pools)


class _TrustedAdapter(_Adapter):
    pools = {"http": _pool(HTTPConnectionPool, _TrustedHTTPConnection),
             "https": _pool(HTTPSConnectionPool, _TrustedHTTPSConnection)}


def _session(adapter_cls) -> requests.Session:
    session = requests.Session()
    adapter = adapter_cls()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def guarded_session() -> requests.Session:
    """A ``requests.Session`` that refuses connections to internal addresses (``UnsafeUrl``) and
    whose sockets obey ``outbound_request``'s deadline."""
    return _session(_Adapter)


def trusted_session() -> requests.Session:
    """Like ``guarded_session`` without the peer check: for hosts the operator configured."""
    return _session(_TrustedAdapter)


# --- no outbound HTTP inside a web request ---------------------------------------------------------------

def _request_started(**kwargs) -> None:
    _local.in_request = True


def _request_finished(**kwargs) -> None:
    _local.in_request = False


request_started.connect(_request_started, dispatch_uid="cdp.http.request_started")
request_finished.connect(_request_finished, dispatch_uid="cdp.http.request_finished")


def in_web_request() -> bool:
    return bool(getattr(_local, "in_request", False))


def web_request_forget() -> None:
    """This thread serves no request from now on. For code that runs requests in-process without
    Django's request_finished (a test whose request was cut short): the next outbound call on the
    thread is not refused because of it."""
    _local.in_request = False


def _refuse_in_request(method: str, url: str) -> None:
    host = urlsplit(url).hostname or "?"
    message = (f"Outbound {method} to {host} inside a web request: queue it as a task instead "
               "(a request thread must never wait on another host).")
    if getattr(settings, "CDP_FORBID_OUTBOUND_IN_REQUESTS", settings.DEBUG):
        raise OutboundInRequest(message)
    logger.error(message)


# --- the call ----------------------------------------------------------------------------------------------

def outbound_request(method: str, url: str, *, deadline: float, max_bytes: int,
                     session: requests.Session | None = None, timeout: float | None = None,
                     trusted: bool = False, check_url: bool = True, url_field: str = "url",
                     allow_in_request: bool = False, **kwargs) -> requests.Response:
    """Send one request and read its whole answer within ``deadline`` seconds (wall clock), at
    most ``max_bytes`` of body. Returns the ``requests.Response`` with its body read.

    ``session``: reuse a pooled session from ``guarded_session()`` (or ``trusted_session()`` when
    ``trusted``); without one a session is made for this call. ``timeout`` (seconds per connect
    and per read, never beyond the deadline) makes a silent host fail before the deadline.
    ``trusted``: the host is the operator's (payment gateway), so no SSRF guard. ``check_url``:
    False when the caller ran ``url_guard`` on this host itself. Other keyword arguments go to
    ``requests`` (``params``, ``data``, ``json``, ``headers``).

    Raises ``UnsafeUrl``, ``DeadlineExceeded`` (a ``requests.Timeout``), ``ResponseTooLarge``,
    ``OutboundInRequest``, or what ``requests`` raises (``ConnectionError``...)."""
    if in_web_request() and not allow_in_request:
        _refuse_in_request(method, url)
    if not trusted and check_url:
        url_guard(url, field=url_field)
    own_session = session is None
    if own_session:
        session = trusted_session() if trusted else guarded_session()
    watch = _Deadline(deadline)
    per_step = min(timeout or deadline, deadline)
    previous, _local.deadline = _current_deadline(), watch
    _watchdog.watch(watch)
    response = None
    try:
        try:
            response = session.request(method, url, stream=True, allow_redirects=False,
                                       timeout=(min(per_step, watch.remaining()) or 0.001, per_step), **kwargs)
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                response._content = b""
                raise ResponseTooLarge(f"The answer declares {int(declared)} bytes; the limit is {max_bytes}.",
                                       limit=max_bytes, response=response)
            body, size = [], 0
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    body.append(chunk[:len(chunk) - (size - max_bytes)])
                    response._content = b"".join(body)
                    raise ResponseTooLarge(f"The answer is larger than {max_bytes} bytes; stopped reading.",
                                           limit=max_bytes, response=response)
                body.append(chunk)
            response._content = b"".join(body)
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            if watch.finish() and not isinstance(exc, ResponseTooLarge):
                raise DeadlineExceeded(f"No complete answer within {deadline:g}s.") from None
            if isinstance(exc, (requests.RequestException, ApplicationError)):
                raise
            raise requests.ConnectionError(f"{type(exc).__name__} while talking to the host.") from exc
        if watch.finish():  # the socket was shut down: a body read up to EOF may be cut short
            raise DeadlineExceeded(f"No complete answer within {deadline:g}s.")
        response._content_consumed = True
        return response
    finally:
        watch.finish()
        _local.deadline = previous
        if response is not None:
            response.close()
        if own_session:
            session.close()

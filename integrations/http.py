"""The HTTP client every connector uses: base URL, timeouts, retries with exponential backoff on
5xx, timeouts and connection errors, ``Retry-After`` honoured on 429 (capped), and JSON parsing
that turns a malformed answer into a clear ``SourceError``.

Error messages name the method, the path and the status, never headers, query strings or
bodies, so no credential can leak through them.

Every outgoing call (connectors, CRM pushes, webhook deliveries) goes to a URL a tenant admin
typed, so it is guarded against SSRF: ``url_guard`` refuses a host that is, or resolves to, a
private, loopback, link-local or otherwise internal address (at registration and again before
each use, since DNS answers change), and ``guarded_session`` re-checks the address each new
connection actually reached, which closes the gap between our lookup and the HTTP library's own
(DNS rebinding). ``CDP_ALLOW_PRIVATE_URLS`` turns both off (tests, local fakes).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from cdp.exceptions import ApplicationError
from integrations import conf

logger = logging.getLogger(__name__)


class SourceError(ApplicationError):
    """A source API failed in a way a sync reports (and a later sync may get past). When the
    source answered, ``status`` and ``response`` hold its answer (never put into the message)."""

    code = "source_error"
    http_status = 502
    status: int | None = None
    response: requests.Response | None = None


class SourceAuthError(SourceError):
    code = "source_auth_failed"


class SourceRateLimited(SourceError):
    code = "source_rate_limited"


class SourceUnavailable(SourceError):
    code = "source_unavailable"


class SourceTimeout(SourceError):
    code = "source_timeout"


class SourceBadResponse(SourceError):
    code = "source_bad_response"


class UnsafeUrl(ApplicationError):
    """The URL's host is, or resolves to, an internal address (SSRF guard)."""

    code = "unsafe_url"


def private_urls_allowed() -> bool:
    return bool(getattr(settings, "CDP_ALLOW_PRIVATE_URLS", False))


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return ip.is_global and not ip.is_multicast


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
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM) if host else []
    except (OSError, UnicodeError, ValueError):
        infos = []
    if parts.scheme not in ("http", "https") or not infos or \
            not all(address_is_public(info[4][0]) for info in infos):
        message = (f"{host or url!s} does not resolve to a public address; private, loopback, link-local "
                   "and other internal addresses are refused.")
        raise UnsafeUrl(message, fields={field: [message]})


class _PublicPeerConnection:
    """Checks the address a new connection actually reached (our lookup and urllib3's may differ).
    Through a proxy the peer is the proxy, so only ``url_guard``'s check applies."""

    def _new_conn(self):
        sock = super()._new_conn()
        if self.proxy is None and not private_urls_allowed() and not address_is_public(sock.getpeername()[0]):
            sock.close()
            raise UnsafeUrl(f"{self.host} connected to an internal address; refused.")
        return sock


class _GuardedHTTPConnection(_PublicPeerConnection, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PublicPeerConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def guarded_session() -> requests.Session:
    """A ``requests.Session`` that refuses connections to internal addresses (``UnsafeUrl``)."""
    session = requests.Session()
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    wait_seconds: float = 0.0  # time spent in HTTP calls and backoff sleeps


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """``client.request("GET", "/api/oms/pvt/orders", params=...)`` returns the parsed JSON."""

    def __init__(self, *, base_url: str, headers: dict | None = None, timeout: float | None = None,
                 max_retries: int | None = None, backoff_base: float | None = None,
                 retry_after_cap: float | None = None, session: requests.Session | None = None,
                 label: str = "source"):
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = conf.get("INTEGRATIONS_HTTP_TIMEOUT") if timeout is None else timeout
        self.max_retries = conf.get("INTEGRATIONS_HTTP_MAX_RETRIES") if max_retries is None else max_retries
        self.backoff_base = conf.get("INTEGRATIONS_HTTP_BACKOFF_BASE") if backoff_base is None else backoff_base
        self.backoff_max = conf.get("INTEGRATIONS_HTTP_BACKOFF_MAX")
        self.retry_after_cap = (conf.get("INTEGRATIONS_HTTP_RETRY_AFTER_CAP") if retry_after_cap is None
                                else retry_after_cap)
        self.session = session or guarded_session()
        self.label = label
        self.stats = HttpStats()
        self._guarded_hosts: set[str] = set()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * (2 ** attempt))

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
            self.stats.wait_seconds += seconds

    def request(self, method: str, path: str, *, params=None, json_body=None, data=None,
                headers: dict | None = None, expect_json: bool = True):
        where = f"{self.label} {method} {path.split('?')[0]}"
        url = self.url(path)
        host = urlsplit(url).netloc
        if host not in self._guarded_hosts:  # once per client; guarded_session checks every connection
            url_guard(url, field="base_url")
            self._guarded_hosts.add(host)
        attempt = 0
        while True:
            started = time.perf_counter()
            self.stats.requests += 1
            try:
                # No redirects: a public host could send us on to an internal one.
                response = self.session.request(method, url, params=params, json=json_body, data=data,
                                                headers={**self.headers, **(headers or {})}, timeout=self.timeout,
                                                allow_redirects=False)
            except requests.Timeout:
                self.stats.wait_seconds += time.perf_counter() - started
                if attempt >= self.max_retries:
                    raise SourceTimeout(f"{where}: no answer within {self.timeout:g}s after {attempt + 1} attempts.")
                logger.warning("%s timed out (attempt %d); retrying", where, attempt + 1)
                self._retry(attempt)
                attempt += 1
                continue
            except requests.ConnectionError:
                self.stats.wait_seconds += time.perf_counter() - started
                if attempt >= self.max_retries:
                    raise SourceUnavailable(f"{where}: could not connect after {attempt + 1} attempts.")
                logger.warning("%s could not connect (attempt %d); retrying", where, attempt + 1)
                self._retry(attempt)
                attempt += 1
                continue
            self.stats.wait_seconds += time.perf_counter() - started
            status = response.status_code
            if status == 429:
                if attempt >= self.max_retries:
                    raise SourceRateLimited(f"{where}: rate limited (429) after {attempt + 1} attempts.")
                wait = _retry_after_seconds(response.headers.get("Retry-After"))
                wait = self._backoff(attempt) if wait is None else min(wait, self.retry_after_cap)
                logger.warning("%s rate limited; waiting %.2fs (attempt %d)", where, wait, attempt + 1)
                self.stats.retries += 1
                self._sleep(wait)
                attempt += 1
                continue
            if status >= 500:
                if attempt >= self.max_retries:
                    raise SourceUnavailable(f"{where}: server error {status} after {attempt + 1} attempts.")
                logger.warning("%s answered %d (attempt %d); retrying", where, status, attempt + 1)
                self._retry(attempt)
                attempt += 1
                continue
            if status >= 300:
                if status in (401, 403):
                    error = SourceAuthError(f"{where}: credentials refused ({status}). "
                                            "Check the integration's credentials.")
                elif status < 400:
                    error = SourceError(f"{where}: redirected ({status}); set the base URL to the final address.")
                else:
                    error = SourceError(f"{where}: request refused ({status}).")
                error.status, error.response = status, response
                raise error
            if not expect_json:
                return response
            try:
                return response.json()
            except (ValueError, json.JSONDecodeError):
                raise SourceBadResponse(f"{where}: the answer is not valid JSON (status {status}, "
                                        f"{len(response.content)} bytes).") from None

    def _retry(self, attempt: int) -> None:
        self.stats.retries += 1
        self._sleep(self._backoff(attempt))

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

"""The HTTP client every connector uses: base URL, timeouts, retries with exponential backoff on
5xx, timeouts and connection errors, ``Retry-After`` honoured on 429 (capped), and JSON parsing
that turns a malformed answer into a clear ``SourceError``.

Error messages name the method, the path and the status, never headers, query strings or
bodies, so no credential can leak through them.

Every outgoing call goes through ``cdp.http.outbound_request``: a total deadline per attempt
(``INTEGRATIONS_HTTP_DEADLINE``, wall clock, on top of the per-read ``INTEGRATIONS_HTTP_TIMEOUT``),
a cap on the answer's size (``INTEGRATIONS_HTTP_MAX_BYTES``), no redirects, and the SSRF guard
(every URL here was typed by a tenant admin): ``url_guard`` refuses a host that is, or resolves to,
an internal address (at registration and again before each use), and ``guarded_session`` re-checks
the address each new connection actually reached (DNS rebinding). ``CDP_ALLOW_PRIVATE_URLS`` turns
the guard off (tests, local fakes).
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from cdp.exceptions import ApplicationError
from cdp.http import (  # noqa: F401 - the guard's names, re-exported for the app
    DeadlineExceeded,
    ResponseTooLarge,
    UnsafeUrl,
    address_is_public,
    guarded_session,
    outbound_request,
    private_urls_allowed,
    url_guard,
)
from integrations import conf
from integrations.codes import ErrorCode

logger = logging.getLogger(__name__)


class SourceError(ApplicationError):
    """A source API failed in a way a sync reports (and a later sync may get past). When the
    source answered, ``status`` and ``response`` hold its answer (never put into the message)."""

    code = ErrorCode.SOURCE_ERROR
    http_status = 502
    status: int | None = None
    response: requests.Response | None = None


class SourceAuthError(SourceError):
    code = ErrorCode.SOURCE_AUTH_FAILED


class SourceRateLimited(SourceError):
    code = ErrorCode.SOURCE_RATE_LIMITED


class SourceUnavailable(SourceError):
    code = ErrorCode.SOURCE_UNAVAILABLE


class SourceTimeout(SourceError):
    code = ErrorCode.SOURCE_TIMEOUT


class SourceBadResponse(SourceError):
    code = ErrorCode.SOURCE_BAD_RESPONSE


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


@dataclass(frozen=True)
class _Retry:
    """Why an attempt may pass on a later try, and what to say when the tries run out."""

    error: type[SourceError]  # raised when no try is left
    giving_up: str  # "{where}: {giving_up} after N attempts."
    why: str  # the log line's reason
    wait: float  # seconds before the next try


def _refused(where: str, response: requests.Response) -> SourceError:
    """The error of a final answer that is not a success (3xx, 4xx but 429): no retry helps.
    ``status`` and ``response`` travel with it, never into its message."""
    status = response.status_code
    if status in (401, 403):
        error = SourceAuthError(f"{where}: credentials refused ({status}). Check the integration's credentials.")
    elif status < 400:
        error = SourceError(f"{where}: redirected ({status}); set the base URL to the final address.")
    else:
        error = SourceError(f"{where}: request refused ({status}).")
    error.status, error.response = status, response
    return error


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
        self.deadline = float(conf.get("INTEGRATIONS_HTTP_DEADLINE"))
        self.max_bytes = int(conf.get("INTEGRATIONS_HTTP_MAX_BYTES"))
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
        """Send the request; retry what may pass on a second try (``_Retry``: timeouts, connection
        errors, 429 and 5xx), at most ``max_retries`` times; refuse the rest (``_refused``);
        return the parsed JSON (or the response when ``expect_json`` is False)."""
        where = f"{self.label} {method} {path.split('?')[0]}"
        url = self.url(path)
        host = urlsplit(url).netloc
        if host not in self._guarded_hosts:  # once per client; guarded_session checks every connection
            url_guard(url, field="base_url")
            self._guarded_hosts.add(host)
        attempt = 0
        while True:
            response, retry = self._attempt(where, method, url, attempt, params=params, json=json_body, data=data,
                                            headers={**self.headers, **(headers or {})})
            if retry is None:
                break
            if attempt >= self.max_retries:
                raise retry.error(f"{where}: {retry.giving_up} after {attempt + 1} attempts.")
            logger.warning("%s %s (attempt %d); retrying in %.2fs", where, retry.why, attempt + 1, retry.wait)
            self.stats.retries += 1
            self._sleep(retry.wait)
            attempt += 1
        if response.status_code >= 300:
            raise _refused(where, response)
        if not expect_json:
            return response
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            raise SourceBadResponse(f"{where}: the answer is not valid JSON (status {response.status_code}, "
                                    f"{len(response.content)} bytes).") from None

    def _attempt(self, where: str, method: str, url: str, attempt: int, **kwargs):
        """One try: ``(response, None)``, or ``(None or response, _Retry)`` when it may pass on a
        later try. An answer too large is final (``SourceBadResponse``). Time spent counts as wait."""
        started = time.perf_counter()
        self.stats.requests += 1
        try:
            # A total deadline and a size cap per attempt; no redirects (a public host could send
            # us on to an internal one); the host was guarded, each connection is checked.
            response = outbound_request(method, url, session=self.session, check_url=False, timeout=self.timeout,
                                        deadline=self.deadline, max_bytes=self.max_bytes, **kwargs)
        except ResponseTooLarge as exc:
            raise SourceBadResponse(f"{where}: the answer is larger than {exc.limit} bytes "
                                    f"(INTEGRATIONS_HTTP_MAX_BYTES); stopped reading.") from None
        except requests.Timeout as exc:
            what = (f"complete answer within {self.deadline:g}s" if isinstance(exc, DeadlineExceeded)
                    else f"answer within {self.timeout:g}s")
            return None, _Retry(SourceTimeout, f"no {what}", "timed out", self._backoff(attempt))
        except requests.ConnectionError:
            return None, _Retry(SourceUnavailable, "could not connect", "could not connect", self._backoff(attempt))
        finally:
            self.stats.wait_seconds += time.perf_counter() - started
        status = response.status_code
        if status == 429:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
            wait = self._backoff(attempt) if wait is None else min(wait, self.retry_after_cap)
            return response, _Retry(SourceRateLimited, "rate limited (429)", "rate limited", wait)
        if status >= 500:
            return response, _Retry(SourceUnavailable, f"server error {status}", f"answered {status}",
                                    self._backoff(attempt))
        return response, None

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from integrations import conf
from integrations.codes import ErrorCode
from integrations.http import HttpClient, HttpStats, SourceAuthError, SourceError


@dataclass
class Page:
    """What one source page brought and where the next sync resumes once it is committed."""

    items: list[dict]
    cursor: dict
    window: dict = field(default_factory=dict)


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Connector:
    """Base: credentials in memory only, a thread-safe family of HTTP clients, cursor windows."""

    kind = "orders"  # "spend" (ad platforms) or "push" (we send profiles out; see crm_webhook)
    #: True when ``pages()`` does no database work, so the sync may fetch ahead in a thread.
    prefetch_safe = False
    default_base_url = ""
    required_credentials: tuple[str, ...] = ()
    required_config: tuple[str, ...] = ()

    def __init__(self, *, integration, credentials: dict,
                 on_credentials_change: Callable[[dict], None] | None = None):
        self.integration = integration
        self.credentials = dict(credentials)
        self.config = dict(integration.config or {})
        self.on_credentials_change = on_credentials_change
        self.base_url = (integration.base_url or self.production_base_url(integration)).rstrip("/")
        self._local = threading.local()
        self._clients: list[HttpClient] = []  # every client, for stats
        self._api_clients: list[HttpClient] = []  # those whose headers come from ``headers()``
        self._lock = threading.Lock()
        missing = [key for key in self.required_credentials if not self.credentials.get(key)]
        if missing:
            raise SourceError(f"Missing credentials: {', '.join(missing)}.", code=ErrorCode.CREDENTIALS_MISSING)
        missing = [key for key in self.required_config if not self.config.get(key)]
        if missing:
            raise SourceError(f"Missing configuration: {', '.join(missing)}.", code=ErrorCode.CONFIG_MISSING)

    @classmethod
    def production_base_url(cls, integration) -> str:
        """Where the source's API is when the integration sets no ``base_url``."""
        return cls.default_base_url

    @classmethod
    def credential_urls(cls, integration) -> tuple[str, ...]:
        """Every URL this integration's credentials are sent to (as configured now). When one of
        them changes, the stored credentials must not follow (``integration_update``)."""
        return (integration.base_url or cls.production_base_url(integration),)

    # --- HTTP ------------------------------------------------------------------------------------
    def headers(self) -> dict:
        return {"Accept": "application/json"}

    def client(self) -> HttpClient:
        """One client (and connection pool) per thread; all of them count toward ``stats``."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.new_client(base_url=self.base_url, headers=self.headers())
            self._local.client = client
            with self._lock:
                self._api_clients.append(client)
        return client

    def new_client(self, *, base_url: str, headers: dict, label: str = "") -> HttpClient:
        """A client of this connector (another host, e.g. an OAuth server); it counts toward ``stats``."""
        client = HttpClient(base_url=base_url, headers=headers, label=label or self.integration.integration_type)
        with self._lock:
            self._clients.append(client)
        return client

    def reset_clients(self) -> None:
        """After new credentials (e.g. a refreshed token), API clients rebuild their headers."""
        with self._lock:
            for client in self._api_clients:
                client.headers = self.headers()

    @property
    def stats(self) -> HttpStats:
        total = HttpStats()
        for client in self._clients:
            total.requests += client.stats.requests
            total.retries += client.stats.retries
            total.wait_seconds += client.stats.wait_seconds
        return total

    # --- cursor windows ----------------------------------------------------------------------------
    @staticmethod
    def now() -> datetime.datetime:
        return timezone.now()

    def order_window(self, cursor: dict) -> tuple[datetime.datetime, datetime.datetime, int]:
        """``(since, until, position)``: an interrupted window resumes where its last committed
        page ended; otherwise a new window runs from the stored ``since`` to now."""
        if cursor.get("until"):
            return parse_iso(cursor["since"]), parse_iso(cursor["until"]), int(cursor.get("position", 0))
        now = self.now()
        since = (parse_iso(cursor["since"]) if cursor.get("since")
                 else now - datetime.timedelta(days=int(conf.get("INTEGRATIONS_INITIAL_BACKFILL_DAYS"))))
        return since, now, 0

    @staticmethod
    def finished_cursor(until: datetime.datetime) -> dict:
        """The next window starts a little before this one ended: sources index late, and ingest
        is idempotent, so re-reading the overlap is harmless."""
        overlap = datetime.timedelta(seconds=int(conf.get("INTEGRATIONS_WINDOW_OVERLAP_SECONDS")))
        return {"since": iso(until - overlap)}

    # --- what subclasses implement --------------------------------------------------------------------
    def pages(self, cursor: dict) -> Iterator[Page]:
        raise NotImplementedError

    def records(self, items: list[dict]) -> list[dict]:
        """Canonical order records (orders connectors) or spend rows (spend connectors)."""
        raise NotImplementedError


class OAuthRefresh:
    """Mixin for connectors whose access token comes from a refresh token (OAuth 2,
    ``grant_type=refresh_token``). The token is kept in the credentials (stored encrypted through
    ``on_credentials_change``) and reused until ``token_margin_seconds`` before it expires; an API
    call refused with 401/403 all the same gets one refresh and one retry. A refused refresh
    (``invalid_grant``: revoked, expired or already used) is a ``SourceAuthError`` naming the
    OAuth error code, never a secret."""

    token_path = "/oauth/token"
    token_margin_seconds = 300
    token_lifetime_default = 3600

    def token_client(self) -> HttpClient:
        return self.client()

    def token_fresh(self) -> bool:
        if not self.credentials.get("refresh_token"):  # a long-lived token given as is
            return bool(self.credentials.get("access_token"))
        return bool(self.credentials.get("access_token")) and \
            int(self.credentials.get("expires_at") or 0) > time.time() + self.token_margin_seconds

    def token_refresh(self) -> None:
        """Trade the refresh token for an access token. A new refresh token in the answer
        replaces the old one (MercadoLibre invalidates it at once), so the credentials are handed
        to ``on_credentials_change`` (stored, committed) before anything else can fail."""
        label = self.integration.integration_type
        if not self.credentials.get("refresh_token"):
            raise SourceAuthError(f"{label}: the access token was refused and there is no refresh token to "
                                  "get a new one. Reconnect the account.")
        try:
            answer = self.token_client().post(self.token_path, data={
                "grant_type": "refresh_token", "client_id": self.credentials.get("client_id", ""),
                "client_secret": self.credentials.get("client_secret", ""),
                "refresh_token": self.credentials["refresh_token"]}, headers={"Authorization": None})
        except SourceError as exc:
            if exc.status not in (400, 401, 403):
                raise
            raise SourceAuthError(f"{label}: the token endpoint refused the refresh token ({_oauth_error(exc)}). "
                                  "Reconnect the account to get a new one.") from None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise SourceAuthError(f"{label}: the token endpoint answered without an access token.")
        self.credentials["access_token"] = answer["access_token"]
        if answer.get("refresh_token"):
            self.credentials["refresh_token"] = answer["refresh_token"]
        lifetime = int(answer.get("expires_in") or self.token_lifetime_default)
        self.credentials["expires_at"] = int(time.time()) + lifetime
        if self.on_credentials_change:
            self.on_credentials_change(dict(self.credentials))
        self.reset_clients()

    def authorized(self, call: Callable[[], object]):
        """``call()`` with a fresh access token; on 401/403, one refresh and one retry (a token
        revoked early), unless the token was refreshed for this very call."""
        refreshed = not self.token_fresh()
        if refreshed:
            self.token_refresh()
        try:
            return call()
        except SourceAuthError:
            if refreshed or not self.credentials.get("refresh_token"):
                raise
            self.token_refresh()
            return call()


def _oauth_error(exc: SourceError) -> str:
    """The OAuth error code of a refused token request (``invalid_grant``...): a fixed vocabulary,
    unlike ``error_description``, which is free text and is not repeated."""
    try:
        code = exc.response.json().get("error")
    except (AttributeError, ValueError):
        code = None
    return code if isinstance(code, str) and re.fullmatch(r"[a-z_]{1,40}", code) else f"status {exc.status}"


def money_from_cents(value) -> str:
    if value is None:
        return "0.00"
    cents = int(value)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def trim_fraction(value: str) -> str:
    """VTEX sends up to 7 fractional digits (``.7010747``); Python parses at most 6."""
    if not value or "." not in value:
        return value
    head, _, rest = value.partition(".")
    digits = ""
    for ch in rest:
        if ch.isdigit():
            digits += ch
        else:
            break
    return f"{head}.{digits[:6]}{rest[len(digits):]}"

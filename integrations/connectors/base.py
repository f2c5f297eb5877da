from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from integrations import conf
from integrations.http import HttpClient, HttpStats, SourceError


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

    kind = "orders"  # or "spend"
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
        self.base_url = (integration.base_url or self.default_base_url).rstrip("/")
        self._local = threading.local()
        self._clients: list[HttpClient] = []
        self._lock = threading.Lock()
        missing = [key for key in self.required_credentials if not self.credentials.get(key)]
        if missing:
            raise SourceError(f"Missing credentials: {', '.join(missing)}.", code="credentials_missing")
        missing = [key for key in self.required_config if not self.config.get(key)]
        if missing:
            raise SourceError(f"Missing configuration: {', '.join(missing)}.", code="config_missing")

    # --- HTTP ------------------------------------------------------------------------------------
    def headers(self) -> dict:
        return {"Accept": "application/json"}

    def client(self) -> HttpClient:
        """One client (and connection pool) per thread; all of them count toward ``stats``."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = HttpClient(base_url=self.base_url, headers=self.headers(), label=self.integration.integration_type)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def reset_clients(self) -> None:
        """After new credentials (e.g. a refreshed token), clients rebuild their headers."""
        with self._lock:
            for client in self._clients:
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

    def store_raw(self, items: list[dict]) -> None:
        raise NotImplementedError

    def records(self, items: list[dict]) -> list[dict]:
        """Canonical order records (orders connectors) or spend rows (spend connectors)."""
        raise NotImplementedError


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

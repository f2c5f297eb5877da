"""Integration settings with their defaults (``cdp.conf``: a Django setting of the same name wins,
and ``INTEGRATIONS_*`` / ``CDP_CREDENTIALS_*`` environment variables become settings).

Tests lower the waits (``settings.INTEGRATIONS_HTTP_BACKOFF_BASE = 0.01``) without touching code.
"""

from __future__ import annotations

from cdp.conf import AppSettings

conf = AppSettings({
    "INTEGRATIONS_HTTP_TIMEOUT": 30.0,  # seconds per connect and per read (a silent source fails early)
    "INTEGRATIONS_HTTP_DEADLINE": 120.0,  # seconds per attempt, wall clock: connect + headers + whole body
    "INTEGRATIONS_HTTP_MAX_BYTES": 64 * 1024 * 1024,  # a larger answer is an error, read no further
    "INTEGRATIONS_HTTP_MAX_RETRIES": 4,  # on 5xx, timeouts, connection errors and 429
    "INTEGRATIONS_HTTP_BACKOFF_BASE": 0.5,  # seconds; doubles per attempt
    "INTEGRATIONS_HTTP_BACKOFF_MAX": 30.0,
    "INTEGRATIONS_HTTP_RETRY_AFTER_CAP": 60.0,  # never sleep longer than this for a Retry-After
    "INTEGRATIONS_INITIAL_BACKFILL_DAYS": 30,  # first sync of an order source looks this far back
    "INTEGRATIONS_WINDOW_OVERLAP_SECONDS": 300,  # re-read late-indexed orders (ingest is idempotent)
    "INTEGRATIONS_ADS_LOOKBACK_DAYS": 3,  # ad platforms restate recent days (late conversions)
    "INTEGRATIONS_SYNC_LEASE_SECONDS": 1800,  # a running sync renews its lease (each page, and while
    # fetching); one not renewed for this long was lost with its worker and the next sync takes over
    "INTEGRATIONS_TENANT_SYNC_CONCURRENCY": 1,  # syncs of one tenant running at once; others wait their turn
    "INTEGRATIONS_TENANT_FETCH_CONCURRENCY": 1,  # order fetches (VTEX hook) of one tenant at once
    "INTEGRATIONS_VTEX_DETAIL_CONCURRENCY": 4,  # parallel order-detail GETs per VTEX list page
    "INTEGRATIONS_VTEX_PAGE_SIZE": 100,
    "INTEGRATIONS_VTEX_MAX_PAGES": 30,  # VTEX refuses pages past 30: larger windows are split
    "INTEGRATIONS_ML_PAGE_SIZE": 50,
    "INTEGRATIONS_VTEX_HOOK_RATE": "600/min",  # inbound hook calls per integration and client address
    "INTEGRATIONS_CRM_BATCH_SIZE": 500,  # customer profiles per signed POST to a CRM
    "INTEGRATIONS_WEBHOOK_TIMEOUT": 10.0,  # seconds per delivery, wall clock (connect + answer)
    "INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES": 64 * 1024,  # we keep an excerpt; a receiver sending more fails
    "INTEGRATIONS_WEBHOOK_DRAIN_SECONDS": 20.0,  # a tenant's drain starts no new delivery after this long
    "INTEGRATIONS_WEBHOOK_MAX_ATTEMPTS": 6,
    "INTEGRATIONS_WEBHOOK_BACKOFF_BASE": 30,  # seconds: 30, 60, 120, 240, 480...
    "INTEGRATIONS_WEBHOOK_DISABLE_AFTER": 15,  # consecutive failed attempts before auto-disable
    # Fernet keys for credentials and webhook secrets, comma-separated, newest first (the first
    # encrypts, all decrypt: integrations.crypto). Empty: a key generated under $CDP_DATA_DIR.
    "CDP_CREDENTIALS_KEYS": "",
})
get = conf.get

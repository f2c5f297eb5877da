"""AI mesh settings with their defaults (``cdp.conf``: a Django setting of the same name wins, and
``AI_*`` environment variables become settings through the settings module)."""

from __future__ import annotations

from cdp.conf import AppSettings

conf = AppSettings({
    "AI_HTTP_TIMEOUT": 30.0,  # seconds per connect and per read: a silent provider fails early
    "AI_HTTP_DEADLINE": 90.0,  # seconds per attempt, wall clock (connect + headers + whole answer)
    "AI_HTTP_MAX_BYTES": 4 * 1024 * 1024,  # a larger answer is a bad answer, read no further
    "AI_MAX_ATTEMPTS": 3,  # candidates (model + key) tried per task before it fails
    "AI_MAX_OUTPUT_TOKENS": 1024,  # default answer length asked of every provider
    "AI_RATE_LIMIT_COOLDOWN": 60,  # seconds a key rests after a 429 without Retry-After
    "AI_RETRY_AFTER_CAP": 3600,  # never rest a key longer than this for one Retry-After
    "AI_BREAKER_FAILURES": 3,  # consecutive failures (5xx, timeouts) that open a key's circuit
    "AI_BREAKER_REST": 300,  # seconds an open circuit rests the key before it is tried again
    "AI_DEFAULT_MONTHLY_BUDGET_USD": "",  # per tenant without its own policy; empty: no USD budget
    "AI_BUDGET_WARNING_PERCENT": 80,  # an audit entry and a flag on the task once spend passes this
    "AI_ROUTING_CACHE_SECONDS": 5.0,  # a process reloads models and keys at least this often
    "AI_ANTHROPIC_VERSION": "2023-06-01",  # the anthropic-version header of the Messages API
    # ROI: minutes of a person's work one useful answer saves, per feature ("feature=minutes,...")
    "AI_MINUTES_SAVED": "segment-draft=20,customer-summary=5,message-draft=15",
    "AI_HOURLY_VALUE_USD": "30",  # what an hour of that work is worth, for the value generated
})
get = conf.get

"""Licensing settings (``cdp.conf.AppSettings``): a Django setting of the same name, else the
default below. The environment reaches them through the settings module, which copies every
``CDP_LICENSE_*`` variable into a setting (``cdp.conf.env_app_settings``).

| name                              | default   | meaning                                                  |
|-----------------------------------|-----------|----------------------------------------------------------|
| CDP_LICENSE_SIGNING_KEY           | generated | Ed25519 private key, PEM or base64 of the 32-byte seed   |
| CDP_LICENSE_RATE_PER_KEY          | 120/min   | validations per key                                      |
| CDP_LICENSE_RATE_PER_IP           | 600/min   | validations per client IP                                |
| CDP_LICENSE_CACHE_SECONDS         | 30        | how long a license snapshot is cached for validation     |
| CDP_LICENSE_LOG_BATCH             | 500       | validation log rows written per batch                    |
| CDP_LICENSE_LOG_FLUSH_SECONDS     | 5         | the longest a validation waits in Redis before its row   |
| CDP_LICENSE_FILE_DAYS             | 30        | default validity of an offline license file              |
"""

from __future__ import annotations

from cdp.conf import AppSettings

conf = AppSettings({
    # Empty: a key generated once under the data directory (licensing.signing).
    "CDP_LICENSE_SIGNING_KEY": "",
    # "<count>/<period>", the period one of s, sec, second, m, min, minute, h, hour.
    "CDP_LICENSE_RATE_PER_KEY": "120/min",
    "CDP_LICENSE_RATE_PER_IP": "600/min",
    "CDP_LICENSE_CACHE_SECONDS": 30,
    "CDP_LICENSE_LOG_BATCH": 500,
    "CDP_LICENSE_LOG_FLUSH_SECONDS": 5,
    "CDP_LICENSE_FILE_DAYS": 30,
})
get = conf.get
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def rate(name: str) -> tuple[int, int]:
    """``"120/min"`` -> (120, 60)."""
    count, _, period = str(get(name)).partition("/")
    return int(count), _PERIODS[period.strip().lower() or "min"]

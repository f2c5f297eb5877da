"""Production: every secret comes from the environment; cookies only over HTTPS."""

import os

from cdp.settings.base import *  # noqa: F401,F403
from cdp.settings.base import LOGGING, SECRET_KEY

if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production")

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# One JSON object per log line for the log shipper, unless asked otherwise (cdp/ops/logs.py).
if os.environ.get("CDP_LOG_FORMAT", "json") == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"

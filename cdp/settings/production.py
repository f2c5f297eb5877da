"""Production: every secret comes from the environment; cookies only over HTTPS."""

from cdp.settings.base import *  # noqa: F401,F403
from cdp.settings.base import SECRET_KEY

if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production")

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

"""Tests: same real PostgreSQL and Redis, faster hashing, mail kept in memory."""

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from cdp.settings.base import *  # noqa: F401,F403
from cdp.settings.base import CACHES, CDP_PGBOUNCER, DATABASES, REDIS_URL

SECRET_KEY = "test-secret-key-not-for-production"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Fakes listen on 127.0.0.1; the SSRF tests turn this off with pytest-django's ``settings``.
CDP_ALLOW_PRIVATE_URLS = True
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Threads of the browser tests' live server must not keep connections open past a request,
# or the test database cannot be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0
# A test database is thrown away: its commits need not wait for the WAL to reach the disk (the
# migrations and the committed world are most of a test database's setup). Same semantics otherwise.
# Not through PgBouncer (CDP_PGBOUNCER, the ops tests): it refuses the `options` startup parameter.
if not CDP_PGBOUNCER:
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        filter(None, [DATABASES["default"]["OPTIONS"].get("options"), "-c synchronous_commit=off"]))


def _redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path/to/redis.sock?db=N
        query = dict(parse_qsl(parts.query), db=str(db))
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


# Redis is not rolled back with a test's transaction: the tests get a Redis database of their own
# (not 0, which `make run` uses on the same data directory), and each pytest-xdist worker (gw0,
# gw1, ...) one more, as each gets its own test database (test_cdp_gw0, ...). The broker is not
# used: tasks run eagerly.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_REDIS_DB = 2 + int(_XDIST_WORKER[2:]) if _XDIST_WORKER.startswith("gw") else 1
if TEST_REDIS_DB > 15:
    raise ImproperlyConfigured("At most 14 pytest-xdist workers: Redis has 16 databases (-n 14 or fewer).")
REDIS_URL = _redis_url_with_db(REDIS_URL, TEST_REDIS_DB)
CACHES["default"]["LOCATION"] = REDIS_URL

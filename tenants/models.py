"""Organizations (one PostgreSQL schema each), their people, keys, flags and audit trail.

All of these live in the public schema; tenant data itself lives in the tenant's schema.
"""

from __future__ import annotations

import datetime
import hashlib
import re

from django.conf import settings as django_settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin
from django_tenants.models import DomainMixin, TenantMixin

from cdp.context import Actor
from cdp.models import TimeStampedModel
from tenants.codes import ErrorCode
from tenants.useragent import user_agent_label

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {"public", "www", "admin", "api", "static", "media", "localhost", "information-schema", "pg-catalog"}
)

DEFAULT_TENANT_SETTINGS = {
    "timezone": "America/Argentina/Buenos_Aires",
    "currency": "ARS",
    "language": "es",
    "data_retention_days": 2555,
    "max_customers": 1_000_000,
    "features": {"rfm_analysis": True, "clv_prediction": True, "churn_detection": True},
}


def default_tenant_settings() -> dict:
    return {**DEFAULT_TENANT_SETTINGS, "features": dict(DEFAULT_TENANT_SETTINGS["features"])}


def default_branding() -> dict:
    return {"display_name": "", "primary_color": "#2563eb", "logo_url": ""}


class Tenant(TenantMixin, TimeStampedModel):
    class Type(models.TextChoices):
        TRIAL = "trial", _("Trial")
        BUSINESS = "business", _("Business")
        ENTERPRISE = "enterprise", _("Enterprise")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=50, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.BUSINESS)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_reason = models.CharField(
        max_length=500, blank=True,
        help_text="Shown to the tenant's members while it is suspended or cancelled (e.g. 'Invoice 2026-11 unpaid').",
    )
    settings = models.JSONField(default=default_tenant_settings, blank=True)
    branding = models.JSONField(default=default_branding, blank=True)
    onboarding_completed = models.BooleanField(default=False)

    # django-tenants creates and migrates the schema when a tenant is first saved.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    def setting(self, key: str):
        return (self.settings or {}).get(key, DEFAULT_TENANT_SETTINGS.get(key))

    def feature_enabled(self, key: str) -> bool:
        return bool((self.settings or {}).get("features", {}).get(key, False))


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        # Sign-in ignores letter case: "Ana@Example.com" is ana@example.com. Emails are stored
        # lowercase (``_create_user``, the admin forms) and unique regardless of case (Meta).
        return self.get(email__iexact=(username or "").strip())


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Staff run the platform; everyone else acts through memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=255, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the operators' admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The person's own choice among settings.LANGUAGES; blank: the language of the tenant whose
    # site they are on (tenants.middleware.TenantLocaleMiddleware). Per person, not per
    # membership: someone who belongs to two tenants reads both in the language they read.
    language = models.CharField(max_length=10, blank=True, default="",
                                help_text="Blank: the organization's language.")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique",
                                    violation_error_message="A user with that email already exists."),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    ANALYST = "analyst", _("Analyst")
    VIEWER = "viewer", _("Viewer")


class Membership(TimeStampedModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["tenant__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant.slug} ({self.role})"


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> InvitationQuerySet:
        """Not used, not withdrawn, not expired."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(TimeStampedModel):
    """An offer to join a tenant with a role, sent by e-mail. People join a tenant only this way.

    Only a SHA-256 of the token is stored (the token is 256 random bits, so a fast hash is safe);
    the link in the e-mail is the only copy. Single use (``accepted_at``), expiring
    (``expires_at``) and revocable (``revoked_at``); at most one open invitation per address and
    tenant (a new one replaces the old)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    objects = InvitationQuerySet.as_manager()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invited_by_label = models.CharField(max_length=255, blank=True, help_text="Who invited (user email or api-key).")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("email"), name="uniq_open_invitation_per_email",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant.slug} ({self.role})"

    @property
    def status(self) -> str:
        """``accepted``, ``revoked``, ``expired`` or ``pending``."""
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "pending"


class PasswordResetRequest(models.Model):
    """One password-reset request, kept a day to limit them per e-mail and per client address
    (in the database rather than the cache, so a limit is exact and survives a cache flush)."""

    created_at = models.DateTimeField(default=timezone.now)
    email_hash = models.CharField(max_length=64, help_text="SHA-256 of the lowercased e-mail.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["email_hash", "created_at"], name="pwreset_email_time"),
            models.Index(fields=["ip_address", "created_at"], name="pwreset_ip_time"),
        ]


class ApiKey(TimeStampedModel):
    """A tenant's key for its own integrations. Only a SHA-256 of the key is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown to tell keys apart; not a secret.")
    hashed_key = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def as_actor(self, *, ip: str | None = None) -> Actor:
        """Who acts when a request authenticates with this key (``cdp.context.actor_from_request``)."""
        return Actor(label=f"api-key:{self.prefix}", api_key_id=self.pk, ip=ip)

    @property
    def is_active(self) -> bool:
        if self.revoked_at:
            return False
        return not (self.expires_at and self.expires_at <= timezone.now())


class AuditLog(models.Model):
    """Who did what, to which record, from where, with the before/after diff. Append-only."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=255, help_text="User email, api-key:<prefix> or system.")
    action = models.CharField(max_length=64, db_index=True)
    resource_type = models.CharField(max_length=64, db_index=True)
    resource_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.resource_type}"


def session_key_hash(session_key: str) -> str:
    """SHA-256 (hex) of a Django session key: the only form in which a key is ever stored by us."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_idle_limit(now=None) -> datetime.datetime:
    """A session last seen before this is dead even if never ended: idle past the cookie's age
    (Django would refuse its cookie anyway)."""
    return (now or timezone.now()) - datetime.timedelta(seconds=django_settings.SESSION_COOKIE_AGE)


class UserSessionQuerySet(models.QuerySet):
    def active(self, *, now=None):
        """Not ended and not idle past the session cookie's age."""
        return self.filter(ended_at__isnull=True, last_seen_at__gte=session_idle_limit(now))

    def inactive(self, *, now=None):
        return self.filter(models.Q(ended_at__isnull=False) | models.Q(last_seen_at__lt=session_idle_limit(now)))


class UserSession(models.Model):
    """One signed-in browser session, so that people and admins can see and end it.

    Decisions:
    - Only a SHA-256 of the Django session key is stored (``key_hash``). The key is a random
      32-character token (~165 bits), so a fast unsalted hash cannot be reversed or brute-forced,
      and it is what the middleware looks up on every authenticated request (unique index). This
      table is shown in the admin, the portal and the API; the raw key would be a usable cookie.
    - ``tenant`` is the host the session was opened on (a cookie is valid on one host only);
      null for the platform's own host (operators' admin).
    - A row is ended exactly once (``ended_at`` + ``end_reason``) and never reopened; the
      middleware logs out any request whose row is ended. ``revoked_by`` is the actor's label
      (user email, ``api-key:<prefix>``, ``system``) for revocations only.
    - Sign-ins and sign-outs are not copied to the audit log: these rows are that record (kept
      for ``SESSION_ROW_RETENTION_DAYS`` after they end). Revocations are audited.
    """

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("Signed out")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_sessions")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               help_text="Host the session was opened on; empty for the platform host.")
    key_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the session key (hex).")
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="Address at sign-in.")
    last_ip = models.GenericIPAddressField(null=True, blank=True, help_text="Address at the last recorded visit.")
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    revoked_by = models.CharField(max_length=255, blank=True)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-last_seen_at"], name="usersession_user_seen"),
            models.Index(fields=["tenant", "-last_seen_at"], name="usersession_tenant_seen"),
            models.Index(fields=["ended_at"], name="usersession_ended", condition=models.Q(ended_at__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(ended_at__isnull=True, end_reason="")
                           | (models.Q(ended_at__isnull=False) & ~models.Q(end_reason=""))),
                name="usersession_ended_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(end_reason="revoked") | models.Q(revoked_by=""),
                name="usersession_revoked_by_only_when_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.ip_address or '?'} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def status(self) -> str:
        """``active``, ``logout``, ``revoked`` or ``expired`` (idle past the cookie's age)."""
        if self.ended_at is not None:
            return self.end_reason
        return "active" if self.last_seen_at >= session_idle_limit() else self.EndReason.EXPIRED.value

    @property
    def browser(self) -> str:
        """Browser and system ("Chrome 120 · Windows 10"), not the raw User-Agent."""
        return user_agent_label(self.user_agent)

    @property
    def status_label(self) -> str:
        """``status`` as the reader reads it."""
        status = self.status
        return str(_("Active") if status == "active" else self.EndReason(status).label)


class FeatureFlag(TimeStampedModel):
    """A switch with a percentage rollout; tenants listed explicitly are always in."""

    key = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=False, help_text="Master switch: off means off for everyone.")
    rollout_percentage = models.PositiveSmallIntegerField(
        default=100, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    tenants = models.ManyToManyField(Tenant, blank=True, related_name="feature_flags")

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SystemConfig(TimeStampedModel):
    """Platform-wide settings changed without a deploy."""

    key = models.SlugField(max_length=100, unique=True)
    value = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = "system setting"

    def __str__(self) -> str:
        return self.key


def validate_slug(slug: str) -> None:
    if not SLUG_RE.match(slug or ""):
        raise ValidationError(
            "Use 3-50 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen.",
            code=ErrorCode.SLUG_INVALID,
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError(f"'{slug}' is reserved.", code=ErrorCode.SLUG_RESERVED)


class SystemEvent(models.Model):
    """What happened to the platform itself (seed 004 ``system_events``): deployments, migrations,
    configuration changes and unhandled errors, with the request id, tenant and user they happened
    under. Append-only; errors with one cause share a ``fingerprint`` (the operators' screen groups
    and counts them). Kept ``CDP_SYSTEM_EVENT_RETENTION_DAYS`` days."""

    class Kind(models.TextChoices):
        DEPLOYMENT = "deployment", "Deployment"
        MIGRATION = "migration", "Migration"
        CONFIG_CHANGE = "config_change", "Configuration change"
        ERROR = "error", "Unhandled error"

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=255)
    detail = models.TextField(blank=True, help_text="Personal data (e-mails, long numbers) is masked before saving.")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Errors with the same cause share it.")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    request_id = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=255, blank=True)
    release = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="sysevent_kind_time"),
                   models.Index(fields=["fingerprint", "-created_at"], name="sysevent_fingerprint_time")]
        verbose_name = "system event"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} {self.title}"


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A person's recovery codes as one django-otp device: each code signs in once, then never
    again. Only SHA-256 digests are stored (a code is random, 50 bits: a digest without a salt
    cannot be reversed by guessing), so a copy of the database does not hand out second factors.
    Throttled like the TOTP device (1, 2, 4... seconds after each wrong code)."""

    class Meta(Device.Meta):
        verbose_name = "recovery codes"
        verbose_name_plural = "recovery codes"

    def get_throttle_factor(self) -> int:
        return getattr(django_settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        # One use: the code is claimed with a conditional UPDATE, so two requests presenting the
        # same code at once cannot both succeed.
        used = self.codes.filter(digest=recovery_code_digest(token), used_at__isnull=True).update(
            used_at=timezone.now())
        if used:
            self.throttle_reset(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


def recovery_code_normalize(code) -> str:
    """What a person types, as stored before hashing: letters and digits only, upper case
    ("abcd-efgh-ij" and "ABCDEFGHIJ" are one code)."""
    return re.sub(r"[^0-9A-Za-z]", "", str(code or "")).upper()


def recovery_code_digest(code) -> str:
    return hashlib.sha256(recovery_code_normalize(code).encode()).hexdigest()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="uniq_recovery_code_device_digest")]

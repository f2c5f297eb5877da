"""Plans, licenses and what the platform knows about their use (public schema).

A license belongs to one tenant and one plan. Its key is shown once; only a SHA-256 of it and a
short visible prefix are stored. Machines are the fingerprints (and last IP) bound to a license;
validations, collisions, usage and downloads are append-only logs. Releases of downloadable
products, and which tenant owns which product, live here too.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from tenants.models import Tenant

# Resources a plan limits. ``None`` means unlimited.
RESOURCES = ("users", "customers", "api_calls_per_month", "ai_requests_per_month", "storage_gb")
# Feature switches a plan grants; analytics and the portal ask ``license_feature_enabled``.
FEATURES = ("rfm_analysis", "clv_prediction", "churn_detection", "api_access", "beta_releases", "offline_files")
WARNING_THRESHOLDS = (80, 100)

SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
sha256_validator = RegexValidator(r"^[0-9a-f]{64}$", "A SHA-256 is 64 lowercase hexadecimal characters.")


def default_features() -> dict:
    return {feature: False for feature in FEATURES}


class Plan(TimeStampedModel):
    """What is sold: limits, feature switches and the anti-fraud (collision) policy."""

    class Code(models.TextChoices):
        STARTER = "starter", _("Starter")
        PROFESSIONAL = "professional", _("Professional")
        ENTERPRISE = "enterprise", _("Enterprise")

    class CollisionAction(models.TextChoices):
        RECORD = "record", _("Record only")
        SUSPEND = "suspend", _("Record and suspend the license")

    code = models.CharField(max_length=32, unique=True, choices=Code.choices)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    price_monthly = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True, help_text="Inactive plans cannot be issued.")
    sort_order = models.PositiveSmallIntegerField(default=0)

    limit_users = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    limit_customers = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    limit_api_calls_per_month = models.PositiveIntegerField(null=True, blank=True,
                                                            help_text="Empty means unlimited.")
    limit_ai_requests_per_month = models.PositiveIntegerField(null=True, blank=True,
                                                              help_text="Empty means unlimited.")
    limit_storage_gb = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    features = models.JSONField(default=default_features, blank=True)

    default_max_machines = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1)])
    trial_days = models.PositiveSmallIntegerField(default=14)
    require_fingerprint = models.BooleanField(
        default=True, help_text="Validation must name a machine fingerprint (FINGERPRINT_SCOPE_REQUIRED otherwise)."
    )
    collision_window_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    collision_ip_allowance = models.PositiveIntegerField(
        default=5, help_text="Distinct IPs tolerated per window; one more is a collision."
    )
    collision_fingerprint_slack = models.PositiveIntegerField(
        default=2, help_text="Distinct fingerprints tolerated per window beyond the license's max machines."
    )
    collision_action = models.CharField(max_length=16, choices=CollisionAction.choices,
                                        default=CollisionAction.SUSPEND)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    def limit(self, resource: str) -> int | None:
        return getattr(self, f"limit_{resource}")

    def clean(self):
        unknown = set(self.features or {}) - set(FEATURES)
        if unknown:
            raise ValidationError({"features": f"Unknown feature(s): {', '.join(sorted(unknown))}."})
        if not all(isinstance(value, bool) for value in (self.features or {}).values()):
            raise ValidationError({"features": "Every feature switch is true or false."})


class License(TimeStampedModel):
    """A tenant's right to use the product under a plan, until ``expires_at`` (empty: perpetual)."""

    class Status(models.TextChoices):
        TRIAL = "trial", _("Trial")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    USABLE_STATUSES = (Status.TRIAL, Status.ACTIVE)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="licenses")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="licenses")
    key_prefix = models.CharField(max_length=16, db_index=True, help_text="Shown to tell keys apart; not a secret.")
    key_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    max_machines = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    custom_limits = models.JSONField(default=dict, blank=True,
                                     help_text='Overrides of the plan, e.g. {"customers": 500000}; null = unlimited.')
    custom_features = models.JSONField(default=dict, blank=True, help_text='Overrides, e.g. {"beta_releases": true}.')
    suspended_reason = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True)

    # Usage counters for the current period (the month starting ``usage_period_start``).
    usage_period_start = models.DateField(null=True, blank=True)
    api_calls_used = models.PositiveBigIntegerField(default=0)
    ai_requests_used = models.PositiveBigIntegerField(default=0)
    last_validated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status"], name="license_tenant_status")]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.plan.code if self.plan_id else '-'})"

    def clean(self):
        unknown = set(self.custom_limits or {}) - set(RESOURCES)
        if unknown:
            raise ValidationError({"custom_limits": f"Unknown limit(s): {', '.join(sorted(unknown))}."})
        for key, value in (self.custom_limits or {}).items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValidationError({"custom_limits": f"'{key}' must be a whole number ≥ 0 or null."})
        unknown = set(self.custom_features or {}) - set(FEATURES)
        if unknown:
            raise ValidationError({"custom_features": f"Unknown feature(s): {', '.join(sorted(unknown))}."})

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        return self.status in self.USABLE_STATUSES and not self.is_expired(now)

    def limit(self, resource: str) -> int | None:
        if resource in (self.custom_limits or {}):
            return self.custom_limits[resource]
        return self.plan.limit(resource)

    def limits(self) -> dict[str, int | None]:
        return {resource: self.limit(resource) for resource in RESOURCES}

    def features(self) -> dict[str, bool]:
        return {**default_features(), **(self.plan.features or {}), **(self.custom_features or {})}


class Machine(TimeStampedModel):
    """A fingerprint bound to a license (one seat), with the IP it was last seen from."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BANNED = "banned", _("Banned")

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="machines")
    fingerprint = models.CharField(max_length=255)
    name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    first_ip = models.GenericIPAddressField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["license", "fingerprint"], name="uniq_machine_fingerprint")]

    def __str__(self) -> str:
        return f"{self.fingerprint[:24]} ({self.status})"


class ValidationLog(models.Model):
    """One validation request and its answer. Written in batches, off the request's critical path."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.CASCADE, related_name="validations")
    key_prefix = models.CharField(max_length=16, blank=True)
    fingerprint = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    code = models.CharField(max_length=32, db_index=True)
    valid = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["license", "-created_at"], name="validation_license_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.key_prefix} {self.code}"


class Collision(models.Model):
    """The same key seen from more distinct IPs or fingerprints than allowed within a window."""

    class Kind(models.TextChoices):
        IP = "ip", _("Distinct IPs")
        FINGERPRINT = "fingerprint", _("Distinct fingerprints")

    class Action(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        SUSPENDED = "suspended", _("License suspended")

    detected_at = models.DateTimeField(default=timezone.now, db_index=True)
    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="collisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    window_started_at = models.DateTimeField()
    window_minutes = models.PositiveIntegerField()
    distinct_count = models.PositiveIntegerField()
    allowance = models.PositiveIntegerField()
    evidence = models.JSONField(default=dict, blank=True, help_text="The distinct values seen in the window.")
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.RECORDED)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["license", "kind", "window_started_at"], name="uniq_collision_window")
        ]

    def __str__(self) -> str:
        return f"{self.license} {self.kind} {self.distinct_count}>{self.allowance}"


class UsageLog(models.Model):
    """Metered usage events: warnings at 80% and 100% of a limit, refusals, monthly closes."""

    class Event(models.TextChoices):
        WARNING = "warning", _("Warning")
        REFUSED = "refused", _("Refused")
        INCREMENT = "increment", _("Increment")
        PERIOD_CLOSE = "period_close", _("Period closed")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.CASCADE, related_name="usage_logs")
    resource = models.CharField(max_length=32, db_index=True)
    event = models.CharField(max_length=16, choices=Event.choices)
    period_start = models.DateField(null=True, blank=True, help_text="Month for monthly limits; empty otherwise.")
    threshold = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Percent of the limit (80, 100).")
    used = models.PositiveBigIntegerField(default=0)
    limit = models.PositiveBigIntegerField(null=True, blank=True)
    amount = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A warning is raised once per tenant, resource, period and threshold.
            models.UniqueConstraint(
                fields=["tenant", "resource", "period_start", "threshold"],
                condition=models.Q(event="warning"),
                nulls_distinct=False,
                name="uniq_usage_warning",
            )
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="usage_tenant_time")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.resource} {self.event} {self.used}/{self.limit}"


class StorageMeasurement(models.Model):
    """A tenant's storage, measured once a day (``licensing.services.storage``): its schema's tables
    with their indexes and TOAST (``pg_total_relation_size``) plus its media files. The newest row
    is what counts against the plan's ``limit_storage_gb`` (decimal GB, 10^9 bytes, as plans say)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    measured_on = models.DateField()
    measured_at = models.DateTimeField(default=timezone.now)
    database_bytes = models.PositiveBigIntegerField()
    media_bytes = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["-measured_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "measured_on"], name="uniq_storage_tenant_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.measured_on} {self.total_bytes} B"

    @property
    def total_bytes(self) -> int:
        return self.database_bytes + self.media_bytes


# --- Releases and ownership ---------------------------------------------------------------------


def release_storage():
    """Release files are platform files, not a tenant's: kept outside the tenant-aware storage."""
    return FileSystemStorage(location=settings.MEDIA_ROOT / "releases", base_url=None)


class Product(TimeStampedModel):
    """A downloadable product the platform distributes under license."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "downloadable product"

    def __str__(self) -> str:
        return self.name


class Release(TimeStampedModel):
    """One version of a product. Drafts are invisible to tenants; ``is_critical`` marks security updates."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        BETA = "beta", _("Beta")
        STABLE = "stable", _("Stable")
        DEPRECATED = "deprecated", _("Deprecated")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=64)
    major = models.PositiveIntegerField(default=0, editable=False)
    minor = models.PositiveIntegerField(default=0, editable=False)
    patch = models.PositiveIntegerField(default=0, editable=False)
    prerelease = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    is_critical = models.BooleanField(default=False)
    changelog = models.TextField(blank=True)
    artifact = models.FileField(storage=release_storage, upload_to="%Y/", blank=True)
    download_url = models.URLField(blank=True, help_text="External location, used when no file is uploaded.")
    sha256 = models.CharField(max_length=64, validators=[sha256_validator])
    size_bytes = models.PositiveBigIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product__name", "-major", "-minor", "-patch", "-prerelease", "-id"]
        constraints = [models.UniqueConstraint(fields=["product", "version"], name="uniq_release_version")]

    def __str__(self) -> str:
        return f"{self.product.code} {self.version}" if self.product_id else self.version

    def clean(self):
        match = SEMVER_RE.match(self.version or "")
        if not match:
            raise ValidationError({"version": "Use semantic versioning: MAJOR.MINOR.PATCH[-prerelease][+build]."})
        self.major, self.minor, self.patch = (int(part) for part in match.groups()[:3])
        self.prerelease = match.group(4) or ""
        if not self.artifact and not self.download_url:
            raise ValidationError({"artifact": "Upload a file or give a download URL."})


class Asset(TimeStampedModel):
    """Which tenant owns which product (and under which license): the right to download it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="assets")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="assets")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets",
                                help_text="The license that must be valid to download; empty: any of the tenant's.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "owned product"
        constraints = [models.UniqueConstraint(fields=["tenant", "product"], name="uniq_asset_tenant_product")]

    def __str__(self) -> str:
        return f"{self.tenant_id} owns {self.product_id}"


class Download(models.Model):
    """Each licensed download, for support and analytics."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="downloads")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.SET_NULL, related_name="downloads")
    actor_label = models.CharField(max_length=255)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.release}"

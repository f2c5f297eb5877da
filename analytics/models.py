"""Analytics read models (tenant schema): processing jobs, RFM, CLV, churn, cohorts, KPIs,
dynamic segments and data-quality checks. Every row here is computed by ``analytics.services``
from customers' orders as of a date; nothing here is typed in by hand except the RFM segment
definitions and the dynamic segment rules."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from cdp.softdelete import SoftDeleteModel, alive_unique
from customers.models import Customer

STEPS = ("rfm", "clv", "churn", "cohorts", "kpis", "segments", "data_quality")


class ProcessingJob(TimeStampedModel):
    """One recorded analytics run for an as-of date; at most one queued/running per tenant."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    job_type = models.CharField(max_length=30, default="analytics")
    as_of = models.DateField()
    steps = models.JSONField(default=list, help_text="Steps requested, in run order.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    #: Constant per schema: the partial unique constraint below allows one active job per tenant.
    lock_key = models.CharField(max_length=20, default="analytics", editable=False)
    requested_by = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    step_timings = models.JSONField(default=dict, blank=True, help_text="Seconds per step.")
    row_counts = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock_key"], condition=Q(status__in=["queued", "running"]), name="uniq_active_analytics_job"
            ),
        ]
        indexes = [models.Index(fields=["as_of", "status"], name="job_asof_status_idx")]

    def __str__(self) -> str:
        return f"{self.job_type} {self.as_of} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 3)
        return None


class RfmSegmentDefinition(TimeStampedModel):
    """A named box in the R × F × M score space; the lowest ``priority`` that matches wins."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    priority = models.PositiveIntegerField(default=100)
    r_min = models.PositiveSmallIntegerField(default=1)
    r_max = models.PositiveSmallIntegerField(default=5)
    f_min = models.PositiveSmallIntegerField(default=1)
    f_max = models.PositiveSmallIntegerField(default=5)
    m_min = models.PositiveSmallIntegerField(default=1)
    m_max = models.PositiveSmallIntegerField(default=5)
    suggested_action = models.CharField(max_length=255, blank=True)
    color = models.CharField(max_length=7, default="#64748b")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name, verbose_name_plural = "RFM segment definition", "RFM segment definitions"
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_min__gte=1, r_max__lte=5, f_min__gte=1, f_max__lte=5, m_min__gte=1, m_max__lte=5),
                name="rfmdef_scores_1_5",
            ),
            models.CheckConstraint(
                condition=Q(r_min__lte=models.F("r_max"), f_min__lte=models.F("f_max"), m_min__lte=models.F("m_max")),
                name="rfmdef_min_lte_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The per-customer result tables (current RFM, snapshots, CLV, churn, segment memberships) are
# rewritten by every run, up to a million rows at a time, from rows that exist in the same
# transaction. Their foreign keys are kept for the ORM (joins, and deleting a customer, log or
# segment still deletes its rows) but not enforced by PostgreSQL: its per-row check costs ~4 s per
# million rows written, more than computing them. Nothing deletes those parents with raw SQL.
# For the same reason they carry only the indexes something reads: a plain index on segment, tier
# and band, not also Django's ``varchar_pattern_ops`` twin for LIKE queries nobody runs on them.
RESULT_FK = {"on_delete": models.CASCADE, "db_constraint": False}


class RfmFields(models.Model):
    as_of = models.DateField()
    recency_days = models.PositiveIntegerField()
    frequency = models.PositiveIntegerField()
    monetary = models.DecimalField(max_digits=15, decimal_places=2)
    r_score = models.PositiveSmallIntegerField()
    f_score = models.PositiveSmallIntegerField()
    m_score = models.PositiveSmallIntegerField()
    rfm_score = models.CharField(max_length=3)
    segment = models.CharField(max_length=50, blank=True)

    class Meta:
        abstract = True


class CustomerRfm(RfmFields):
    """The current RFM row of a customer (from the latest run)."""

    customer = models.OneToOneField(Customer, related_name="analytics_rfm", **RESULT_FK)

    class Meta:
        verbose_name, verbose_name_plural = "customer RFM score", "customer RFM scores"
        ordering = ["customer_id"]
        indexes = [models.Index(fields=["segment"], name="rfm_current_segment_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.rfm_score} {self.segment}"


class RfmSnapshot(RfmFields):
    """History: one row per customer and as-of date (re-running a date replaces its rows)."""

    # A run appends a million rows here, so no index beyond what is read: uniq_rfm_snapshot
    # (customer, as_of) serves lookups by customer, rfm_snapshot_asof_seg_idx the segments of a date.
    customer = models.ForeignKey(Customer, related_name="+", db_index=False, **RESULT_FK)

    class Meta:
        verbose_name, verbose_name_plural = "RFM snapshot", "RFM snapshots"
        ordering = ["-as_of", "customer_id"]
        constraints = [models.UniqueConstraint(fields=["customer", "as_of"], name="uniq_rfm_snapshot")]
        indexes = [models.Index(fields=["as_of", "segment"], name="rfm_snapshot_asof_seg_idx")]


class ClvCalculationLog(TimeStampedModel):
    """What a CLV fit used and produced; the status says when no numbers could be trusted."""

    class Status(models.TextChoices):
        OK = "ok", _("Fitted")
        INSUFFICIENT_DATA = "insufficient_data", _("Too little data")
        NOT_CONVERGED = "not_converged", _("Model did not converge")
        CORRELATED = "spend_frequency_correlated", _("Spend and frequency correlated")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(ProcessingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateField()
    status = models.CharField(max_length=30, choices=Status.choices)
    message = models.TextField(blank=True)
    time_unit = models.CharField(max_length=10, default="weeks")
    horizon_months = models.PositiveSmallIntegerField(default=12)
    discount_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0, help_text="Annual.")
    model_params = models.JSONField(default=dict, blank=True, help_text="BG/NBD r, alpha, a, b.")
    spend_params = models.JSONField(default=dict, blank=True, help_text="Gamma-Gamma p, q, v.")
    log_likelihood = models.FloatField(null=True, blank=True)
    spend_log_likelihood = models.FloatField(null=True, blank=True)
    customers_used = models.PositiveIntegerField(default=0)
    repeat_customers = models.PositiveIntegerField(default=0)
    distinct_rows = models.PositiveIntegerField(default=0)
    spend_frequency_corr = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    #: For engineers: the fit attempts and the optimizer's own words (``message`` is for people).
    diagnostics = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name, verbose_name_plural = "CLV calculation log", "CLV calculation logs"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CLV {self.as_of} {self.status}"


class CustomerClv(models.Model):
    class Tier(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    customer = models.OneToOneField(Customer, related_name="analytics_clv", **RESULT_FK)
    log = models.ForeignKey(ClvCalculationLog, related_name="rows", **RESULT_FK)
    as_of = models.DateField()
    frequency = models.PositiveIntegerField(help_text="Repeat purchase days.")
    recency = models.FloatField(help_text="First to last purchase, in the log's time unit.")
    T = models.FloatField(help_text="First purchase to as-of, in the log's time unit.")
    monetary_value = models.DecimalField(max_digits=15, decimal_places=2)
    probability_alive = models.FloatField()
    expected_purchases = models.FloatField()
    predicted_value = models.DecimalField(max_digits=15, decimal_places=2)
    historical_value = models.DecimalField(max_digits=15, decimal_places=2)
    total_clv = models.DecimalField(max_digits=15, decimal_places=2)
    tier = models.CharField(max_length=10, choices=Tier.choices)
    percentile = models.FloatField()

    class Meta:
        verbose_name, verbose_name_plural = "customer CLV", "customer CLVs"
        ordering = ["customer_id"]
        indexes = [models.Index(fields=["tier"], name="clv_tier_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.total_clv} ({self.tier})"


class ChurnPredictionLog(TimeStampedModel):
    class Method(models.TextChoices):
        MODEL = "model", _("Model trained on this tenant's history")
        FALLBACK = "fallback_p_alive", _("1 − probability alive (history too short)")
        NONE = "none", _("No scores")

    job = models.ForeignKey(ProcessingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    message = models.TextField(blank=True)
    cutoff = models.DateField(null=True, blank=True)
    window_days = models.PositiveIntegerField(default=90)
    train_customers = models.PositiveIntegerField(default=0)
    test_customers = models.PositiveIntegerField(default=0)
    churn_rate = models.FloatField(null=True, blank=True, help_text="Share labelled churned at the cutoff.")
    auc = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)
    calibration = models.JSONField(default=list, blank=True, help_text="[{bin, predicted, observed, n}]")
    coefficients = models.JSONField(default=dict, blank=True)
    scored_customers = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Churn {self.as_of} {self.method}"


class CustomerChurn(models.Model):
    class Band(models.TextChoices):
        ACTIVE = "active", _("Active")
        AT_RISK = "at_risk", _("At risk")
        CHURNING = "churning", _("Churning")
        CHURNED = "churned", _("Churned")

    customer = models.OneToOneField(Customer, related_name="analytics_churn", **RESULT_FK)
    log = models.ForeignKey(ChurnPredictionLog, related_name="rows", **RESULT_FK)
    as_of = models.DateField()
    probability = models.FloatField()
    band = models.CharField(max_length=10, choices=Band.choices)
    method = models.CharField(max_length=20, choices=ChurnPredictionLog.Method.choices)
    days_since_last_purchase = models.PositiveIntegerField()
    predicted_churn_date = models.DateField(null=True, blank=True)
    factors = models.JSONField(default=list, blank=True, help_text="[{feature, value, effect}] strongest first.")

    class Meta:
        ordering = ["customer_id"]
        indexes = [models.Index(fields=["band"], name="churn_band_idx")]


class CohortCell(models.Model):
    """Customers acquired in ``cohort_month`` who bought again ``months_since`` months later."""

    cohort_month = models.DateField()
    months_since = models.PositiveSmallIntegerField()
    cohort_size = models.PositiveIntegerField()
    customers = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2)
    as_of = models.DateField()

    class Meta:
        ordering = ["cohort_month", "months_since"]
        constraints = [models.UniqueConstraint(fields=["cohort_month", "months_since"], name="uniq_cohort_cell")]

    @property
    def retention(self) -> float:
        return self.customers / self.cohort_size if self.cohort_size else 0.0


class DailyKpi(models.Model):
    date = models.DateField(unique=True)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    orders = models.PositiveIntegerField(default=0)
    average_order_value = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    new_customers = models.PositiveIntegerField(default=0)
    returning_customers = models.PositiveIntegerField(default=0)
    active_30 = models.PositiveIntegerField(default=0)
    active_90 = models.PositiveIntegerField(default=0)
    active_365 = models.PositiveIntegerField(default=0)
    total_customers = models.PositiveIntegerField(default=0, help_text="Customers with a purchase by this day.")
    repeat_purchase_rate = models.FloatField(default=0)
    churn_rate = models.FloatField(default=0)
    # Blended advertising figures: every ad platform's spend of the day against all its new
    # customers and counted revenue (no attribution needed; see AdPerformanceDaily for that).
    ad_spend = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    blended_cac = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True,
                                      help_text="Ad spend ÷ new customers (empty without either).")
    blended_roas = models.FloatField(null=True, blank=True, help_text="Revenue ÷ ad spend (empty without spend).")

    class Meta:
        verbose_name, verbose_name_plural = "daily KPI", "daily KPIs"
        ordering = ["date"]


class AdPerformanceDaily(models.Model):
    """One day of one ad campaign: the spend its platform reported and the counted sales whose
    UTM tags name it (first orders of new customers give its CAC). Orders tagged for a channel
    whose campaign matches no spend row are kept under that channel with an empty campaign."""

    date = models.DateField()
    channel = models.CharField(max_length=20, help_text="google_ads, facebook_ads…")
    campaign_id = models.CharField(max_length=64, blank=True)
    campaign_name = models.CharField(max_length=255, blank=True)
    spend = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    impressions = models.PositiveBigIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0, help_text="Counted orders attributed by UTM.")
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    new_customers = models.PositiveIntegerField(default=0, help_text="First orders attributed by UTM.")
    cac = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    roas = models.FloatField(null=True, blank=True)
    as_of = models.DateField()

    class Meta:
        verbose_name, verbose_name_plural = "daily ad performance", "daily ad performance"
        ordering = ["date", "channel", "campaign_id"]
        constraints = [models.UniqueConstraint(fields=["date", "channel", "campaign_id"],
                                               name="uniq_ad_performance_day")]
        indexes = [models.Index(fields=["channel", "date"], name="ad_perf_channel_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.channel} {self.campaign_name or self.campaign_id}"


class Segment(SoftDeleteModel, TimeStampedModel):
    """A dynamic segment: rules over Customer 360 fields, memberships materialized on each run.
    Deleting one hides it (restorable for 30 days, then purged: cdp/softdelete.py)."""

    name = models.CharField(max_length=150)
    description = models.CharField(max_length=255, blank=True)
    rules = models.JSONField(help_text='{"op": "and"|"or", "rules": [{"field", "operator", "value"} | group]}')
    is_active = models.BooleanField(default=True)
    member_count = models.PositiveIntegerField(default=0)
    materialized_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [alive_unique("name", name="uniq_segment_name_alive")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    # Re-materialized by every run like the other result tables (RESULT_FK).
    segment = models.ForeignKey(Segment, related_name="memberships", **RESULT_FK)
    customer = models.ForeignKey(Customer, related_name="analytics_segment_memberships", **RESULT_FK)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["segment_id", "customer_id"]
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="uniq_segment_member")]


class SegmentCount(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="counts")
    date = models.DateField()
    members = models.PositiveIntegerField()

    class Meta:
        ordering = ["segment_id", "date"]
        constraints = [models.UniqueConstraint(fields=["segment", "date"], name="uniq_segment_count_day")]


class DataQualityCheck(models.Model):
    """One check's result for a run; ``sample_ids`` are the first offending records."""

    class Severity(models.TextChoices):
        ERROR = "error", _("Error")
        WARNING = "warning", _("Warning")
        INFO = "info", _("Info")

    class Target(models.TextChoices):
        CUSTOMER = "customer", _("Customers")
        ORDER = "order", _("Orders")

    job = models.ForeignKey(ProcessingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    as_of = models.DateField()
    code = models.CharField(max_length=50)
    label = models.CharField(max_length=150)
    target = models.CharField(max_length=10, choices=Target.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    checked = models.PositiveIntegerField()
    failed = models.PositiveIntegerField()
    sample_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "code"]
        constraints = [models.UniqueConstraint(fields=["as_of", "code"], name="uniq_dq_check_per_day")]

    @property
    def pass_rate(self) -> float:
        return 1 - self.failed / self.checked if self.checked else 1.0


class ExportRequest(TimeStampedModel):
    """A bulk export of personal data above the approval threshold (seed 003 "approval mechanism
    for bulk export"): requested by one person, approved by another, downloadable by the requester
    until ``expires_at``. Every step is audited; the download is in the data-access log too."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="export_requests")
    rows = models.PositiveIntegerField(help_text="Members when requested.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True)
    # People live in the public schema: their id and e-mail, no cross-schema foreign key.
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    requested_by = models.CharField(max_length=255)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_by = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="approved") | Q(expires_at__isnull=False),
                                   name="export_approved_has_expiry"),
        ]

    def __str__(self) -> str:
        return f"Export of segment {self.segment_id} ({self.rows} rows, {self.status})"

"""The AI mesh (seed 004: ``ai_models``, ``ai_api_pool``, ``prompts_master``, ``processed_tasks``).

Everything lives in the public schema:

- the catalog (providers and their models with prices), the key pool and the master prompts are
  the platform's, configured by operators;
- a tenant's AI policy (on/off, monthly USD budget, allowed providers, personal data allowed);
- processed tasks carry a ``tenant`` column: operators read spend, cost and margin across tenants
  in one query, and every tenant-facing read filters on the request's tenant
  (``TenantScopedViewSetMixin``). In the tenant schemas they would have to be summed schema by
  schema for every operator report.

Keys are encrypted at rest (``cdp.crypto``); only their last four characters are kept in clear.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from tenants.models import Tenant

CAPABILITIES = ("chat", "json", "embeddings")


class Provider(TimeStampedModel):
    """One HTTP endpoint speaking one wire format (Groq and DeepSeek speak OpenAI's)."""

    class Kind(models.TextChoices):
        OPENAI = "openai", _("OpenAI Chat Completions (OpenAI, Groq, DeepSeek)")
        ANTHROPIC = "anthropic", _("Anthropic Messages")
        GEMINI = "gemini", _("Google Gemini generateContent")
        OLLAMA = "ollama", _("Ollama /api/chat")

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    base_url = models.URLField(max_length=500, help_text=_("e.g. https://api.openai.com/v1, https://api.groq.com/openai/v1, "
                                                           "https://api.anthropic.com, https://generativelanguage.googleapis.com, "
                                                           "http://localhost:11434"))
    is_active = models.BooleanField(default=True)
    priority = models.SmallIntegerField(default=100, help_text=_("Lower is tried first."))

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class AiModel(TimeStampedModel):
    """A model of a provider with what it can do and what it costs (USD per 1,000 tokens)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DEPRECATED = "deprecated", _("Deprecated (not routed)")
        DISABLED = "disabled", _("Disabled")

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    model_id = models.CharField(max_length=200, help_text=_("The provider's model name, e.g. gpt-4o-mini."))
    capabilities = models.JSONField(default=list, blank=True, help_text=_("Any of: chat, json, embeddings."))
    context_window = models.PositiveIntegerField(default=8192)
    input_cost_per_1k = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"),
                                            validators=[MinValueValidator(Decimal("0"))])
    output_cost_per_1k = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"),
                                             validators=[MinValueValidator(Decimal("0"))])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    priority = models.SmallIntegerField(default=100, help_text=_("Lower is tried first (after the provider's)."))

    class Meta:
        ordering = ["priority", "provider__priority", "model_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model_id"], name="ai_model_unique_per_provider"),
            models.CheckConstraint(condition=models.Q(input_cost_per_1k__gte=0, output_cost_per_1k__gte=0),
                                   name="ai_model_costs_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.provider.name}/{self.model_id}"

    def cost(self, tokens_in: int, tokens_out: int) -> Decimal:
        """USD for one call at the catalog's prices, to the micro-dollar."""
        value = (self.input_cost_per_1k * tokens_in + self.output_cost_per_1k * tokens_out) / 1000
        return value.quantize(Decimal("0.000001"))


class ProviderKey(TimeStampedModel):
    """A key of the pool: encrypted, with its limits and its health (rest after a 429 or a run of
    failures, the circuit breaker)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=100)
    key_encrypted = models.TextField(blank=True, help_text=_("Fernet token (cdp.crypto). Empty for a keyless Ollama."))
    key_hint = models.CharField(max_length=4, blank=True, help_text=_("The key's last four characters."))
    is_active = models.BooleanField(default=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text=_("Requests per minute; empty: no limit."))
    tpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text=_("Tokens per minute; empty: no limit."))
    rest_until = models.DateTimeField(null=True, blank=True, help_text=_("Not routed before this time."))
    rest_reason = models.CharField(max_length=64, blank=True)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    requests_total = models.PositiveBigIntegerField(default=0)
    failures_total = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["provider__priority", "provider__name", "id"]

    def __str__(self) -> str:
        return f"{self.provider.name}: {self.label} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"…{self.key_hint}" if self.key_hint else "(none)"

    def is_resting(self, now=None) -> bool:
        return self.rest_until is not None and self.rest_until > (now or timezone.now())

    @property
    def health(self) -> str:
        if not self.is_active:
            return "inactive"
        if self.is_resting():
            return f"resting ({self.rest_reason})"
        return "healthy" if not self.consecutive_failures else f"failing ({self.consecutive_failures})"


class TenantPolicy(TimeStampedModel):
    """A tenant's AI switch, monthly USD budget, allowed providers and personal-data rule. A tenant
    without one follows the defaults (on, AI_DEFAULT_MONTHLY_BUDGET_USD, every provider, no
    personal data)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="ai_policy")
    enabled = models.BooleanField(default=True)
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                             validators=[MinValueValidator(Decimal("0"))],
                                             help_text=_("Empty: the platform default."))
    allowed_providers = models.ManyToManyField(Provider, blank=True, related_name="+",
                                               help_text=_("Empty: every active provider."))
    allow_personal_data = models.BooleanField(
        default=False, help_text=_("May names, e-mails, phones and documents be sent to providers?"))
    price_per_request_usd = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What the tenant is charged per AI request (revenue for the margin report); empty: none."))

    class Meta:
        verbose_name_plural = "tenant policies"

    def __str__(self) -> str:
        return f"AI policy of {self.tenant}"


class MasterPrompt(TimeStampedModel):
    """A versioned prompt for one feature and language. Several active versions of one feature and
    language split its traffic by ``weight`` (A/B); each task records the version it used."""

    feature = models.SlugField(max_length=64)
    language = models.CharField(max_length=8, default="en")
    version = models.PositiveIntegerField()
    system = models.TextField(blank=True)
    template = models.TextField(help_text=_("Django template syntax: {{ variable }}."))
    variables = models.JSONField(default=list, blank=True, help_text=_("Names the template needs."))
    capability = models.CharField(max_length=16, default="chat")
    weight = models.PositiveSmallIntegerField(default=100, help_text=_("Share of traffic among active versions."))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["feature", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["feature", "language", "version"], name="ai_prompt_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.feature} [{self.language}] v{self.version}"


class TaskBatch(TimeStampedModel):
    """Tasks submitted together for bulk work (seed ``task_batches``); progress is counted from them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="ai_batches")
    feature = models.SlugField(max_length=64)
    total = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "task batches"

    def __str__(self) -> str:
        return f"{self.feature} batch #{self.pk} ({self.total})"


class ProcessedTask(TimeStampedModel):
    """One AI call made for a tenant: what was asked, who answered, what it cost. Partitioned by
    month on ``created_at`` (ai/partitions.py): the primary key is ``(id, created_at)`` in the
    database and nothing may point at a task with a database foreign key."""

    class Outcome(models.TextChoices):
        NONE = "", _("Not used yet")
        ACCEPTED = "accepted", _("Accepted (used by the person)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="ai_tasks")
    batch = models.ForeignKey(TaskBatch, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks")
    feature = models.SlugField(max_length=64)
    language = models.CharField(max_length=8, default="en")
    prompt = models.ForeignKey(MasterPrompt, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    prompt_version = models.PositiveIntegerField(null=True, blank=True)
    prompt_text = models.TextField(blank=True, help_text=_("A caller's own template, used instead of a master prompt."))
    variables = models.JSONField(default=dict, blank=True, help_text=_("Inputs of the template (pseudonymous unless "
                                                                      "the tenant allows personal data)."))
    capability = models.CharField(max_length=16, default="chat")
    schema = models.JSONField(null=True, blank=True, help_text=_("JSON schema the answer must match."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    model = models.ForeignKey(AiModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    provider_name = models.CharField(max_length=64, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.JSONField(default=list, blank=True, help_text=_("Every candidate tried, in order."))
    output_text = models.TextField(blank=True)
    output_json = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    requested_by = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.NONE, blank=True,
                               help_text=_("What the person did with the answer: the A/B outcome of its prompt "
                                           "version."))
    outcome_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=64, blank=True, help_text=_("What the task is about, e.g. customer:42 "
                                                                      "(a customer summary's cache key)."))
    input_hash = models.CharField(max_length=64, blank=True, help_text=_("SHA-256 of the inputs: the version of "
                                                                         "the subject the answer describes."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="ai_task_tenant_recent"),
                   models.Index(fields=["tenant", "feature", "subject"], name="ai_task_subject",
                                condition=~models.Q(subject=""))]

    def __str__(self) -> str:
        return f"{self.feature} #{self.pk} ({self.status})"

    @property
    def tokens_total(self) -> int:
        return self.tokens_in + self.tokens_out

"""Reads of the AI mesh: a tenant's policy and spend, routing candidates, operator reports."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
import hashlib
import json
import time

from django.db import connection
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ai import conf, store
from ai.models import AiModel, MasterPrompt, ProcessedTask, ProviderKey, TaskBatch, TenantPolicy
from analytics.selectors import customer_scores
from billing.registry import UsageLine
from analytics.services.segments import segment_queryset
from cdp.ids import get_or_not_found
from customers.models import Customer, Order
from licensing.selectors import month_start
from tenants.models import Tenant

ZERO = Decimal("0")


@dataclass(frozen=True)
class Policy:
    """A tenant's effective AI policy (its row, or the platform defaults)."""

    enabled: bool
    monthly_budget_usd: Decimal | None
    allowed_provider_ids: frozenset[int]  # empty: every active provider
    allow_personal_data: bool
    price_per_request_usd: Decimal | None


def _default_budget() -> Decimal | None:
    text = str(conf.get("AI_DEFAULT_MONTHLY_BUDGET_USD") or "").strip()
    return Decimal(text) if text else None


def policy_for(*, tenant: Tenant) -> Policy:
    row = TenantPolicy.objects.filter(tenant=tenant).prefetch_related("allowed_providers").first()
    if row is None:
        return Policy(True, _default_budget(), frozenset(), False, None)
    return Policy(row.enabled, row.monthly_budget_usd if row.monthly_budget_usd is not None else _default_budget(),
                  frozenset(p.pk for p in row.allowed_providers.all()), row.allow_personal_data,
                  row.price_per_request_usd)


def spend_month(*, tenant: Tenant, now=None) -> Decimal:
    """USD the tenant's AI tasks cost since the start of this month (UTC)."""
    start = month_start(now)
    total = ProcessedTask.objects.filter(tenant=tenant, created_at__date__gte=start).aggregate(
        total=Coalesce(Sum("cost_usd"), Value(ZERO), output_field=DecimalField()))["total"]
    return total or ZERO


_table: dict = {"version": None, "loaded": 0.0, "models": [], "keys": {}}


def _routing_table() -> tuple[list[AiModel], dict[int, list[ProviderKey]], set[int]]:
    """Active models of active providers in routing order (provider priority, model priority,
    the cheapest first), each provider's active keys, and which keys rest now. The models and
    keys are cached in the process and reloaded when the catalog's version changes
    (``store.catalog_bump``) or after AI_ROUTING_CACHE_SECONDS; the version and the rests come
    in one Redis round trip per call."""
    cached_ids = [key.pk for keys in _table["keys"].values() for key in keys]
    version, resting = store.version_and_rests(cached_ids)
    now = time.monotonic()
    if _table["version"] != version or now - _table["loaded"] > float(conf.get("AI_ROUTING_CACHE_SECONDS")):
        models = sorted(AiModel.objects.filter(status=AiModel.Status.ACTIVE, provider__is_active=True)
                        .select_related("provider"),
                        key=lambda m: (m.provider.priority, m.priority, m.input_cost_per_1k + m.output_cost_per_1k,
                                       m.provider.name, m.model_id))
        keys: dict[int, list[ProviderKey]] = {}
        for key in ProviderKey.objects.filter(is_active=True, provider__is_active=True).order_by("pk"):
            keys.setdefault(key.provider_id, []).append(key)
        _table.update(version=version, loaded=now, models=models, keys=keys)
        resting = store.resting([key.pk for keys in _table["keys"].values() for key in keys])
    return _table["models"], _table["keys"], resting


def route_candidates(*, capability: str, allowed_provider_ids: frozenset[int] = frozenset()):
    """``(model, key)`` pairs to try for ``capability``, in routing order: the models that can do
    it (and that the tenant allows), each with its provider's usable keys (active, not resting),
    which take turns."""
    models, keys, resting = _routing_table()
    now = timezone.now()
    for model in models:
        if capability not in (model.capabilities or []) or \
                (allowed_provider_ids and model.provider_id not in allowed_provider_ids):
            continue
        usable = [k for k in keys.get(model.provider_id, [])
                  if k.pk not in resting and not (k.rest_until and k.rest_until > now)]
        if len(usable) > 1:
            start = (store.turn(model.provider_id) - 1) % len(usable)
            usable = usable[start:] + usable[:start]
        for key in usable:
            yield model, key


def prompt_versions(*, feature: str, language: str) -> list[MasterPrompt]:
    """Active versions of a feature's master prompt in ``language`` (else English), newest first."""
    for lang in dict.fromkeys([language, "en"]):
        versions = list(MasterPrompt.objects.filter(feature=feature, language=lang, is_active=True, weight__gt=0))
        if versions:
            return versions
    return []


def batch_progress(*, batch: TaskBatch) -> dict:
    """Counts of a batch's tasks by status, and the share finished (succeeded or failed)."""
    counts = dict(batch.tasks.values_list("status").annotate(n=Count("id")).order_by())
    finished = counts.get(ProcessedTask.Status.SUCCEEDED, 0) + counts.get(ProcessedTask.Status.FAILED, 0)
    return {"total": batch.total, **{status: counts.get(status, 0) for status in ProcessedTask.Status.values},
            "percent": int(finished * 100 / batch.total) if batch.total else 100,
            "cost_usd": batch.tasks.aggregate(total=Coalesce(Sum("cost_usd"), Value(ZERO),
                                                             output_field=DecimalField()))["total"]}


def tasks_for_tenant(*, tenant: Tenant):
    return ProcessedTask.objects.filter(tenant=tenant).select_related("model", "prompt")


def prompt_results(*, feature: str | None = None):
    """Per prompt version: tasks, successes, average tokens and cost (the A/B outcome)."""
    rows = ProcessedTask.objects.exclude(prompt=None)
    if feature:
        rows = rows.filter(feature=feature)
    return rows.values("feature", "language", "prompt_version").annotate(
        tasks=Count("id"), succeeded=Count("id", filter=Q(status=ProcessedTask.Status.SUCCEEDED)),
        cost_usd=Coalesce(Sum("cost_usd"), Value(ZERO), output_field=DecimalField()),
        tokens_out=Coalesce(Sum("tokens_out"), 0)).order_by("feature", "language", "prompt_version")


def margin_by_tenant(*, since=None):
    """Operators: per tenant, AI requests, provider cost, revenue (requests × the tenant's price per
    request) and gross margin, since the start of the month by default."""
    since = since or month_start()
    rows = (ProcessedTask.objects.filter(created_at__date__gte=since)
            .values("tenant_id", "tenant__slug", "tenant__ai_policy__price_per_request_usd")
            .annotate(requests=Count("id", filter=~Q(status=ProcessedTask.Status.QUEUED)),
                      cost_usd=Coalesce(Sum("cost_usd"), Value(ZERO), output_field=DecimalField()))
            .order_by("tenant__slug"))
    report = []
    for row in rows:
        price = row["tenant__ai_policy__price_per_request_usd"]
        revenue = (price or ZERO) * row["requests"]
        report.append({"tenant_id": row["tenant_id"], "tenant": row["tenant__slug"], "requests": row["requests"],
                       "cost_usd": row["cost_usd"], "revenue_usd": revenue,
                       "margin_usd": revenue - row["cost_usd"],
                       "margin_percent": (revenue - row["cost_usd"]) * 100 / revenue if revenue else None})
    return report


# --- segment drafts ---------------------------------------------------------------------------------

SEGMENT_DRAFT = "segment-draft"


def segment_draft_task(*, tenant: Tenant, task_id) -> ProcessedTask:
    """The tenant's segment-draft task ``task_id`` (404 for another tenant's or another feature's)."""
    return get_or_not_found(ProcessedTask.objects.filter(tenant=tenant, feature=SEGMENT_DRAFT), task_id,
                            "No such segment draft.")


_OPERATOR_WORDS = {
    "eq": gettext_lazy("is"), "ne": gettext_lazy("is not"), "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"), "is_empty": gettext_lazy("is empty"),
    "gt": gettext_lazy("is more than"), "gte": gettext_lazy("is at least"), "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"), "between": gettext_lazy("is between"), "contains": gettext_lazy("contains"),
}


def _value_words(value) -> str:
    if isinstance(value, list):
        return ", ".join(_value_words(item) for item in value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return f"“{value}”" if isinstance(value, str) else str(value)


def rules_sentence(rules) -> str:
    """Validated rules read aloud: ``city is “São Paulo” and total orders is at least 2``."""
    if not isinstance(rules, dict):
        return ""
    joiner = f" {_('or') if rules.get('op') == 'or' else _('and')} "
    parts = []
    for rule in rules.get("rules") or []:
        if isinstance(rule, dict) and "rules" in rule:
            parts.append(f"({rules_sentence(rule)})")
        elif isinstance(rule, dict):
            field = str(rule.get("field", "")).replace("_", " ")
            words = str(_OPERATOR_WORDS.get(rule.get("operator"), rule.get("operator")))
            if rule.get("operator") == "between" and isinstance(rule.get("value"), list) and len(rule["value"]) == 2:
                low, high = rule["value"]
                parts.append(f"{field} {words} {_value_words(low)} {_('and')} {_value_words(high)}")
            elif rule.get("operator") == "is_empty":
                parts.append(f"{field} {words}")
            else:
                parts.append(f"{field} {words} {_value_words(rule.get('value'))}")
    return joiner.join(parts)


@dataclass(frozen=True)
class SegmentDraft:
    task: ProcessedTask
    rules: dict | None
    sentence: str
    preview_count: int | None


def segment_draft_read(*, tenant: Tenant, task_id) -> SegmentDraft:
    """A draft with, once it succeeded, its rules as a sentence and how many customers match them
    now (counted in the current tenant's schema through analytics' validated rule compiler)."""
    task = segment_draft_task(tenant=tenant, task_id=task_id)
    rules = task.output_json.get("rules") if task.status == ProcessedTask.Status.SUCCEEDED and \
        isinstance(task.output_json, dict) else None
    if rules is None:
        return SegmentDraft(task, None, "", None)
    return SegmentDraft(task, rules, rules_sentence(rules), segment_queryset(rules=rules).count())


# --- customer summaries -----------------------------------------------------------------------------

CUSTOMER_SUMMARY = "customer-summary"
SUMMARY_LANGUAGES = ("en", "es", "pt")
RECENT_ORDERS = 20
SUMMARY_SCHEMA = {
    "type": "object",
    "required": ["summary"],
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 1500},
        "next_action": {"type": "string", "maxLength": 300},
    },
}


def subject_of(customer_id: int) -> str:
    return f"customer:{customer_id}"


def _days_ago(moment, now) -> int | None:
    # Days rather than dates: a date's digits read like a phone number to the personal-data scrubber.
    return (now - moment).days if moment else None


def _amount(value) -> int:
    return int(round(value or 0))


def customer_summary_facts(*, customer: Customer) -> dict:
    """What the model is told about ``customer`` (in the current tenant's schema): no identifier."""
    now = timezone.now()
    orders = (Order.objects.filter(customer=customer).order_by("-order_date", "-id")
              .prefetch_related("items")[:RECENT_ORDERS])
    scores = customer_scores(customer_id=customer.pk) or {}
    churn = scores.get("churn") or {}
    return {
        "customer": f"customer #{customer.pk}",
        "profile": {
            "type": customer.customer_type, "status": customer.status, "country": customer.country,
            "city": customer.city, "marketing_consent": customer.marketing_consent,
            "days_since_first_purchase": _days_ago(customer.first_purchase_at, now),
            "days_since_last_purchase": _days_ago(customer.last_purchase_at, now),
            "total_orders": customer.total_orders, "total_spent": _amount(customer.total_spent),
            "average_order_value": _amount(customer.avg_order_value),
        },
        "recent_orders": [{"days_ago": _days_ago(order.order_date, now), "status": order.status,
                           "total": _amount(order.total_amount), "currency": order.currency, "source": order.source,
                           "items": [f"{item.name or item.sku} x{item.quantity.normalize()}"
                                     for item in order.items.all()][:10]}
                          for order in orders],
        "scores": {
            "rfm_segment": (scores.get("rfm") or {}).get("segment_name"),
            "rfm_score": (scores.get("rfm") or {}).get("rfm_score"),
            "clv_tier": (scores.get("clv") or {}).get("tier"),
            "probability_alive": (scores.get("clv") or {}).get("probability_alive"),
            "churn_band": churn.get("band"), "churn_probability": churn.get("probability"),
        },
    }


def facts_hash(facts: dict, language: str) -> str:
    """The customer's version as far as the summary is concerned."""
    text = json.dumps({"facts": facts, "language": language}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def customer_summary_read(*, customer_id: int) -> dict | None:
    """The Customer 360's ``ai_summary`` section (current tenant): the newest summary and whether it
    describes the customer as they are now (``current``), the state of a summary on its way, or
    None when AI is off for the tenant. Reads only: a summary is made on request."""
    tenant = connection.tenant
    if not policy_for(tenant=tenant).enabled:
        return None
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or customer.is_pseudonymized:
        return None
    language = (tenant.setting("language") or "en")[:2]
    digest = facts_hash(customer_summary_facts(customer=customer), language if language in SUMMARY_LANGUAGES else "en")
    tasks = ProcessedTask.objects.filter(tenant=tenant, feature=CUSTOMER_SUMMARY, subject=subject_of(customer.pk))
    done = tasks.filter(status=ProcessedTask.Status.SUCCEEDED).order_by("-created_at", "-id").first()
    latest = tasks.filter(input_hash=digest).order_by("-created_at", "-id").first()
    output = done.output_json if done is not None and isinstance(done.output_json, dict) else {}
    return {"summary": output.get("summary", ""), "next_action": output.get("next_action", ""),
            "current": done is not None and done.input_hash == digest,
            "generated_at": done.finished_at.isoformat() if done is not None and done.finished_at else None,
            "status": latest.status if latest is not None else None,
            "error": latest.error_message if latest is not None and latest.status == ProcessedTask.Status.FAILED
            else "", "task_id": latest.pk if latest is not None else None}


# --- billing --------------------------------------------------------------------------------------

def ai_usage_lines(*, tenant: Tenant, period_start, period_end) -> list[UsageLine]:
    """Billing's usage source (``billing.registry``): the tenant's AI requests in the period (every
    task a worker picked up, as the margin report counts them) at the tenant's price per request;
    nothing when the tenant has no price."""
    price = policy_for(tenant=tenant).price_per_request_usd
    if not price:
        return []
    requests = ProcessedTask.objects.filter(tenant=tenant, created_at__gte=period_start, created_at__lt=period_end) \
        .exclude(status=ProcessedTask.Status.QUEUED).count()
    if not requests:
        return []
    return [UsageLine(sku="AI-REQUESTS", description=f"AI requests {period_start:%Y-%m-%d} – {period_end:%Y-%m-%d}",
                      unit_price=price, quantity=requests)]


# --- ROI ------------------------------------------------------------------------------------------

def minutes_saved_table() -> dict[str, Decimal]:
    """AI_MINUTES_SAVED as ``{feature: minutes}`` (entries that do not parse are left out)."""
    table = {}
    for entry in str(conf.get("AI_MINUTES_SAVED") or "").split(","):
        feature, _sep, minutes = entry.partition("=")
        try:
            table[feature.strip()] = Decimal(minutes.strip())
        except ArithmeticError:
            continue
    return table


def roi_by_feature(*, tenant: Tenant, since=None) -> list[dict]:
    """Per feature since the start of the month (seed ``roi_metrics``): tasks, useful answers (a
    segment draft counts once saved; other features when they succeeded), minutes saved
    (AI_MINUTES_SAVED per useful answer), value generated (at AI_HOURLY_VALUE_USD), cost and the
    value per dollar spent."""
    since = since or month_start()
    minutes = minutes_saved_table()
    hourly = Decimal(str(conf.get("AI_HOURLY_VALUE_USD") or "0"))
    rows = (ProcessedTask.objects.filter(tenant=tenant, created_at__date__gte=since).values("feature")
            .annotate(tasks=Count("id"), succeeded=Count("id", filter=Q(status=ProcessedTask.Status.SUCCEEDED)),
                      accepted=Count("id", filter=Q(outcome=ProcessedTask.Outcome.ACCEPTED)),
                      cost_usd=Coalesce(Sum("cost_usd"), Value(ZERO), output_field=DecimalField()))
            .order_by("feature"))
    report = []
    for row in rows:
        useful = row["accepted"] if row["feature"] == SEGMENT_DRAFT else row["succeeded"]
        saved = minutes.get(row["feature"], ZERO) * useful
        value = (saved * hourly / 60).quantize(Decimal("0.01"))
        report.append({**row, "useful": useful, "minutes_saved": saved,
                       "hours_saved": (saved / 60).quantize(Decimal("0.1")), "value_usd": value,
                       "value_per_dollar": (value / row["cost_usd"]).quantize(Decimal("0.1")) if row["cost_usd"]
                       else None})
    return report

"""The one way product features use AI: ``ai_complete`` (in a worker or a command) or
``ai_task_submit`` (from a web request: the call runs in a Celery task).

A task goes: refusals first (AI off for the tenant, monthly USD budget spent, the license's
``ai_requests`` quota), then the master prompt (a version chosen by the A/B weights) rendered with
the variables, then the routing: candidates (model + key) in policy order, skipping keys that rest
(after a 429 for its ``Retry-After``, or an open circuit after repeated failures) or are over their
requests/tokens per minute. A failed attempt is recorded on the task and the next candidate
answers: another key of the same provider after a 429 or a rejected key, another provider after a
5xx or a timeout, another model after a refusal or an unreadable answer. The answer is validated
against the caller's JSON schema when one is given. Tokens come from the provider's usage fields
and the cost from the catalog's prices.

No transaction is held while a provider is called: the task row is marked running, the calls run,
and the outcome is written in a second short transaction.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jsonschema
from django.db import transaction
from django.db.models import F
from django.template import Context
from django.utils import timezone

from ai import conf, store
from ai.codes import AuditAction, ErrorCode
from ai.models import AiModel, MasterPrompt, ProcessedTask, ProviderKey, TaskBatch
from ai.providers import ChatRequest, ProviderError, provider_complete
from ai.selectors import Policy, policy_for, prompt_versions, route_candidates, spend_month
from ai.services.catalog import PROMPT_ENGINE, key_secret
from cdp.context import Actor
from cdp.exceptions import ApplicationError, QuotaExceeded
from cdp.tasks import enqueue_on_commit
from licensing.selectors import license_current, month_start
from licensing.services import ai_requests_record, license_quota_guard
from tenants.models import AuditLog, Tenant
from tenants.services import audit_record

SYSTEM = Actor.system("ai:mesh")
logger = logging.getLogger(__name__)


class AiRefused(ApplicationError):
    http_status = 403


class BudgetExceeded(QuotaExceeded):
    code = ErrorCode.BUDGET_EXCEEDED


# --- personal data ------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers and document numbers: 7 or more digits, possibly split by spaces, dots, dashes,
# slashes or parentheses, possibly after a "+".
NUMBER_RE = re.compile(r"\+?\d(?:[\s().\-/]*\d){6,}")
REDACTED = "[redacted]"


def personal_data_scrub(value):
    """``value`` (text, or lists and dicts of them) with e-mail addresses and long digit runs
    (phones, documents) replaced. Names cannot be told from other words: features pass pseudonymous
    ids instead of names unless the tenant allows personal data."""
    if isinstance(value, str):
        return NUMBER_RE.sub(REDACTED, EMAIL_RE.sub(REDACTED, value))
    if isinstance(value, (list, tuple)):
        return [personal_data_scrub(item) for item in value]
    if isinstance(value, dict):
        return {key: personal_data_scrub(item) for key, item in value.items()}
    return value


# --- refusals before anything is sent --------------------------------------------------------------------

def _budget_check(*, tenant: Tenant, policy: Policy) -> None:
    if policy.monthly_budget_usd is None:
        return
    spent = spend_month(tenant=tenant)
    if spent >= policy.monthly_budget_usd:
        raise BudgetExceeded(
            f"This organization's AI budget for the month (USD {policy.monthly_budget_usd}) is spent "
            f"(USD {spent.quantize(policy.monthly_budget_usd)}). AI requests resume next month or when an "
            "operator raises the budget.",
            fields={"budget": [f"Spent {spent} of {policy.monthly_budget_usd} USD this month."]})


def _allowed_check(*, tenant: Tenant, policy: Policy) -> None:
    if not policy.enabled:
        raise AiRefused("AI features are off for this organization.", code=ErrorCode.AI_DISABLED)
    _budget_check(tenant=tenant, policy=policy)


def _quota_check(*, tenant: Tenant, adding: int = 1) -> None:
    """The license's monthly ``ai_requests`` (metered when the task runs: ``ai_requests_record``)."""
    if license_current(tenant=tenant) is None:
        raise QuotaExceeded("AI requests need a license.", code="license_required")
    license_quota_guard("ai_requests_per_month", tenant=tenant, adding=adding)


def ai_available_check(*, tenant: Tenant) -> None:
    """Raise the refusal a new AI request of ``tenant`` would get now (AI off, budget spent,
    license quota), or nothing: for interfaces that want to refuse before queueing."""
    _allowed_check(tenant=tenant, policy=policy_for(tenant=tenant))
    _quota_check(tenant=tenant)


# --- creating a task --------------------------------------------------------------------------------

def _prompt_choose(*, feature: str, language: str) -> MasterPrompt:
    """One active version, drawn by weight (the A/B split)."""
    versions = prompt_versions(feature=feature, language=language)
    if not versions:
        raise ApplicationError(f"No active master prompt for feature {feature!r}.", code=ErrorCode.PROMPT_MISSING,
                               fields={"feature": ["No active master prompt."]})
    return random.choices(versions, weights=[v.weight for v in versions])[0] if len(versions) > 1 else versions[0]


def _schema_check(schema) -> None:
    if schema is None:
        return
    try:
        if not isinstance(schema, dict):
            raise jsonschema.SchemaError("a JSON schema is an object")
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ApplicationError(f"The JSON schema is not valid: {exc.message}", code=ErrorCode.SCHEMA_INVALID,
                               fields={"schema": [exc.message]}) from None


@transaction.atomic
def ai_task_create(*, tenant: Tenant, feature: str, actor: Actor, variables: dict | None = None,
                   prompt: str | None = None, schema: dict | None = None, language: str = "en",
                   capability: str | None = None, batch: TaskBatch | None = None, subject: str = "",
                   input_hash: str = "") -> ProcessedTask:
    """A queued task, after the refusals (AI off, budget, license quota). ``prompt``: the caller's
    own template instead of the feature's master prompt. Personal data in ``variables`` is
    scrubbed unless the tenant allows it. ``subject`` and ``input_hash`` let a feature find its
    answer for the same inputs again (a cache)."""
    policy = policy_for(tenant=tenant)
    _allowed_check(tenant=tenant, policy=policy)
    _quota_check(tenant=tenant)
    _schema_check(schema)
    variables = dict(variables or {})
    if not policy.allow_personal_data:
        variables = personal_data_scrub(variables)
    master = None
    if prompt is None:
        master = _prompt_choose(feature=feature, language=language)
        missing = sorted(set(master.variables) - set(variables))
        if missing:
            raise ApplicationError(f"Missing prompt variables: {', '.join(missing)}.",
                                   code=ErrorCode.PROMPT_VARIABLES_MISSING, fields={"variables": missing})
    elif not policy.allow_personal_data:
        prompt = personal_data_scrub(prompt)
    task = ProcessedTask.objects.create(
        tenant=tenant, batch=batch, feature=feature, language=language, prompt=master,
        prompt_version=master.version if master else None, prompt_text=prompt or "", variables=variables,
        capability=capability or ("json" if schema else (master.capability if master else "chat")), schema=schema,
        requested_by=actor.label[:255], subject=subject, input_hash=input_hash)
    audit_record(actor=actor, action=AuditAction.TASK_SUBMIT, resource_type="ai_task", resource_id=task.pk,
                 tenant=tenant, changes={"feature": feature, "prompt_version": task.prompt_version})
    return task


def ai_task_submit(**kwargs) -> ProcessedTask:
    """``ai_task_create`` and, once committed, the Celery task that runs it (for web requests)."""
    task = ai_task_create(**kwargs)
    enqueue_on_commit("ai.tasks.ai_task_run_task", task_id=task.pk)
    return task


@transaction.atomic
def ai_batch_submit(*, tenant: Tenant, feature: str, actor: Actor, items: list[dict], schema: dict | None = None,
                    language: str = "en") -> TaskBatch:
    """One task per item (each item the variables of the feature's prompt), queued together; the
    license's quota must hold them all, or none is created."""
    if not items:
        raise ApplicationError("A batch needs at least one item.", fields={"items": ["Empty."]})
    _allowed_check(tenant=tenant, policy=policy_for(tenant=tenant))
    _quota_check(tenant=tenant, adding=len(items))
    batch = TaskBatch.objects.create(tenant=tenant, feature=feature, total=len(items), requested_by=actor.label[:255])
    for variables in items:
        task = ai_task_create(tenant=tenant, feature=feature, actor=actor, variables=variables, schema=schema,
                              language=language, batch=batch)
        enqueue_on_commit("ai.tasks.ai_task_run_task", task_id=task.pk)
    return batch


def ai_complete(*, tenant: Tenant, feature: str, actor: Actor, variables: dict | None = None,
                prompt: str | None = None, schema: dict | None = None, language: str = "en",
                capability: str | None = None) -> ProcessedTask:
    """Create and run a task now (in a worker or a command, never in a web request): the finished
    task, succeeded or failed (``status``, ``error_code``); a refusal before any call raises."""
    task = ai_task_create(tenant=tenant, feature=feature, actor=actor, variables=variables, prompt=prompt,
                          schema=schema, language=language, capability=capability)
    return ai_task_run(task_id=task.pk)


# --- running a task ---------------------------------------------------------------------------------

_output_checks: dict[str, Callable[[object], None]] = {}


def register_output_check(feature: str, check: Callable[[object], None]) -> None:
    """``check(output_json)`` runs on a ``feature``'s answer after it matched the JSON schema and
    raises ``ApplicationError`` when the answer may not be used (a segment draft's rules that the
    rule compiler refuses): the task then fails with ``ai_output_invalid`` and keeps no output."""
    _output_checks[feature] = check


@dataclass
class RouteOutcome:
    status: str
    text: str = ""
    output_json: object = None
    model: AiModel | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int | None = None
    error_code: str = ""
    error_message: str = ""


def _render(task: ProcessedTask) -> tuple[str, str]:
    context = Context(task.variables or {})
    if task.prompt_text:
        return "", PROMPT_ENGINE.from_string(task.prompt_text).render(context)
    master = task.prompt
    if master is None:
        raise ApplicationError("The task's master prompt was deleted.", code=ErrorCode.PROMPT_MISSING)
    system = PROMPT_ENGINE.from_string(master.system).render(context) if master.system else ""
    return system, PROMPT_ENGINE.from_string(master.template).render(context)


def _candidates(*, capability: str, policy: Policy) -> Iterator[tuple[AiModel, ProviderKey]]:
    return route_candidates(capability=capability, allowed_provider_ids=policy.allowed_provider_ids)


def key_result_record(*, key: ProviderKey, error: ProviderError | None, tokens: int = 0) -> None:
    """A key's health after one call: success resets its failures; a 429 rests it for the
    provider's Retry-After (else AI_RATE_LIMIT_COOLDOWN); a rejected key rests for
    AI_RETRY_AFTER_CAP; AI_BREAKER_FAILURES 5xx/timeouts in a row open its circuit for
    AI_BREAKER_REST. Refusals and unreadable answers are not the key's fault.

    Rests are written to the row (what operators see) and to Redis (what routing reads). A
    healthy key's row is written at most every ``store.SUCCESS_WRITE_EVERY`` seconds (its request
    count catches up then), so a success costs Redis round trips, not a database commit."""
    now = timezone.now()
    rows = ProviderKey.objects.filter(pk=key.pk)
    if error is None:
        if key.tpm_limit:
            store.tokens_add(key.pk, tokens)
        write, requests = store.success_note(key.pk)
        if write:
            rows.update(consecutive_failures=0, last_used_at=now, last_success_at=now, last_error="",
                        requests_total=F("requests_total") + requests)
        return
    store.failure_note(key.pk)
    update = {"last_used_at": now, "last_error": error.message[:500], "requests_total": F("requests_total") + 1,
              "failures_total": F("failures_total") + 1}
    cap = float(conf.get("AI_RETRY_AFTER_CAP"))
    rest, reason = 0.0, ""
    if error.code == ErrorCode.PROVIDER_RATE_LIMITED:
        wait = error.retry_after if error.retry_after is not None else float(conf.get("AI_RATE_LIMIT_COOLDOWN"))
        rest, reason = min(wait, cap), "rate_limited"
    elif error.code == ErrorCode.PROVIDER_AUTH_FAILED:
        rest, reason = cap, "auth_failed"
    elif error.code in (ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.PROVIDER_TIMEOUT):
        update["consecutive_failures"] = F("consecutive_failures") + 1
    rows.update(**update)
    if error.code in (ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.PROVIDER_TIMEOUT) and \
            rows.filter(consecutive_failures__gte=int(conf.get("AI_BREAKER_FAILURES"))).exists():
        rest, reason = float(conf.get("AI_BREAKER_REST")), "circuit_open"
    if rest > 0:
        rows.update(rest_until=now + timezone.timedelta(seconds=rest), rest_reason=reason)
        store.rest_set(key.pk, rest, reason)


def _output_parse(text: str, schema: dict) -> object:
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.DOTALL)
    if fenced:
        body = fenced.group(1)
    try:
        value = json.loads(body)
    except ValueError:
        raise ApplicationError("The model's answer is not JSON.", code=ErrorCode.OUTPUT_INVALID) from None
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(value), key=lambda e: e.path)
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "(root)"
        raise ApplicationError(f"The model's answer does not match the schema at {where}: {errors[0].message}",
                               code=ErrorCode.OUTPUT_INVALID)
    return value


def route_complete(*, capability: str, schema: dict | None, policy: Policy, request: ChatRequest,
                   attempts: list) -> RouteOutcome:
    """The routing layer: try candidates for ``capability`` until one answers (each attempt is
    appended to ``attempts``), validate the answer against ``schema``. Writes only the keys' health."""
    max_attempts = int(conf.get("AI_MAX_ATTEMPTS"))
    down_providers, refused_models = set(), set()
    last_error: ProviderError | None = None
    for model, key in _candidates(capability=capability, policy=policy):
        if len(attempts) >= max_attempts:
            break
        if model.provider_id in down_providers or model.pk in refused_models:
            continue
        if not store.tokens_available(key.pk, key.tpm_limit) or not store.request_take(key.pk, key.rpm_limit):
            continue  # over its per-minute limits: not an attempt, the next key may answer
        started = time.monotonic()
        try:
            completion = provider_complete(kind=model.provider.kind, base_url=model.provider.base_url,
                                           api_key=key_secret(key), model=model.model_id, request=request)
        except ProviderError as exc:
            latency = int((time.monotonic() - started) * 1000)
            attempts.append({"provider": model.provider.name, "model": model.model_id, "key": key.pk,
                             "status": "failed", "error_code": exc.code, "error": exc.message[:300],
                             "latency_ms": latency})
            key_result_record(key=key, error=exc)
            last_error = exc
            if exc.code in (ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.PROVIDER_TIMEOUT):
                down_providers.add(model.provider_id)
            elif exc.code in (ErrorCode.PROVIDER_REFUSED, ErrorCode.PROVIDER_BAD_ANSWER):
                refused_models.add(model.pk)
            continue
        latency = int((time.monotonic() - started) * 1000)
        key_result_record(key=key, error=None, tokens=completion.tokens_in + completion.tokens_out)
        attempts.append({"provider": model.provider.name, "model": model.model_id, "key": key.pk,
                         "status": "succeeded", "latency_ms": latency})
        outcome = RouteOutcome(status=ProcessedTask.Status.SUCCEEDED, text=completion.text, model=model,
                           tokens_in=completion.tokens_in, tokens_out=completion.tokens_out, latency_ms=latency)
        if schema is not None:
            try:
                outcome.output_json = _output_parse(completion.text, schema)
            except ApplicationError as exc:
                outcome.status, outcome.error_code, outcome.error_message = \
                    ProcessedTask.Status.FAILED, exc.code, exc.message
        return outcome
    if not attempts:
        return RouteOutcome(status=ProcessedTask.Status.FAILED, error_code=ErrorCode.NO_ROUTE,
                        error_message=f"No active model with a usable key can do {capability!r} now.")
    return RouteOutcome(status=ProcessedTask.Status.FAILED, error_code=ErrorCode.ALL_PROVIDERS_FAILED,
                    error_message=f"{len(attempts)} attempt(s) failed; last: {last_error.message if last_error else ''}"
                    [:500])


def _budget_warning(*, task: ProcessedTask, policy: Policy) -> None:
    budget = policy.monthly_budget_usd
    if not budget:
        return
    spent = spend_month(tenant=task.tenant)
    if spent * 100 < budget * int(conf.get("AI_BUDGET_WARNING_PERCENT")):
        return
    already = AuditLog.objects.filter(tenant=task.tenant, action=AuditAction.BUDGET_WARNING,
                                      created_at__date__gte=month_start()).exists()
    if not already:
        audit_record(actor=SYSTEM, action=AuditAction.BUDGET_WARNING, resource_type="ai_policy",
                     resource_id=task.tenant_id, tenant=task.tenant,
                     changes={"spent_usd": spent, "budget_usd": budget,
                              "percent": int(spent * 100 / budget)})


def _output_check(*, task: ProcessedTask, outcome: RouteOutcome) -> None:
    check = _output_checks.get(task.feature)
    if check is None or outcome.status != ProcessedTask.Status.SUCCEEDED:
        return
    try:
        check(outcome.output_json)
    except ApplicationError as exc:
        # The tokens were spent (the cost stays on the task); the answer is not kept.
        outcome.status, outcome.output_json = ProcessedTask.Status.FAILED, None
        outcome.error_code, outcome.error_message = ErrorCode.OUTPUT_INVALID, \
            f"The model's answer was refused: {exc.message}"[:500]


def ai_task_run(*, task_id: int) -> ProcessedTask:
    """Run a queued task (a redelivered message finds it no longer queued and does nothing)."""
    with transaction.atomic():
        task = ProcessedTask.objects.select_for_update(of=("self",)).select_related("tenant", "prompt").get(pk=task_id)
        if task.status != ProcessedTask.Status.QUEUED:
            return task
        task.status = ProcessedTask.Status.RUNNING
        task.save(update_fields=["status", "updated_at"])
    policy = policy_for(tenant=task.tenant)
    attempts: list = []
    try:
        _allowed_check(tenant=task.tenant, policy=policy)  # the budget may have run out while it waited
        ai_requests_record(tenant=task.tenant, amount=1)  # the license's monthly quota, metered
        system, text = _render(task)
        request = ChatRequest(prompt=text, system=system, json_output=task.capability == "json")
        outcome = route_complete(capability=task.capability, schema=task.schema, policy=policy, request=request,
                                 attempts=attempts)
        _output_check(task=task, outcome=outcome)
    except ApplicationError as exc:
        outcome = RouteOutcome(status=ProcessedTask.Status.FAILED, error_code=exc.code, error_message=exc.message[:500])
    except Exception:  # a bug must not leave the task "running" for ever
        logger.exception("AI task %s crashed", task.pk)
        outcome = RouteOutcome(status=ProcessedTask.Status.FAILED, error_code=ErrorCode.INTERNAL_ERROR,
                               error_message="The task crashed; the operators have the details in the logs.")
    with transaction.atomic():
        task.status, task.attempts = outcome.status, attempts
        task.output_text, task.output_json = outcome.text, outcome.output_json
        task.tokens_in, task.tokens_out, task.latency_ms = outcome.tokens_in, outcome.tokens_out, outcome.latency_ms
        task.error_code, task.error_message = outcome.error_code, outcome.error_message
        if outcome.model is not None:
            task.model, task.provider_name, task.model_name = \
                outcome.model, outcome.model.provider.name, outcome.model.model_id
            task.cost_usd = outcome.model.cost(outcome.tokens_in, outcome.tokens_out)
        task.finished_at = timezone.now()
        task.save()
        audit_record(actor=SYSTEM, action=AuditAction.TASK_COMPLETE, resource_type="ai_task", resource_id=task.pk,
                     tenant=task.tenant, changes={"status": task.status, "provider": task.provider_name,
                                                  "model": task.model_name, "cost_usd": task.cost_usd,
                                                  "attempts": len(attempts), "error_code": task.error_code})
        _budget_warning(task=task, policy=policy)
    return task

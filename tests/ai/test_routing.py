"""Routing with fallback, the key pool's health, costs, budgets and metering, through local fakes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from ai.codes import AuditAction, ErrorCode
from ai.models import ProcessedTask, ProviderKey
from ai.services import BudgetExceeded, ai_complete, key_update, policy_save
from cdp.exceptions import QuotaExceeded
from licensing.models import License
from tenants.models import AuditLog
from tests.ai.factories import ACTOR, prompt

pytestmark = pytest.mark.django_db


def complete(world, **kwargs):
    kwargs.setdefault("feature", "segment-description")
    kwargs.setdefault("variables", {"name": "VIP", "rules": "spent > 500"})
    return ai_complete(tenant=kwargs.pop("tenant", world.alpha), actor=ACTOR, **kwargs)


@pytest.fixture
def ready(world, licensed):
    licensed()
    prompt()


def test_a_task_records_provider_model_tokens_and_the_catalog_cost(world, ready, mesh):
    # given a model priced USD 0.5 / 1.5 per 1,000 tokens
    mesh("anthropic", tokens_in=1000, tokens_out=2000, answer="A loyal segment.")
    # when
    task = complete(world)
    # then
    assert task.status == ProcessedTask.Status.SUCCEEDED and task.output_text == "A loyal segment."
    assert (task.provider_name, task.model_name) == ("anthropic", "anthropic-model")
    assert (task.tokens_in, task.tokens_out) == (1000, 2000)
    assert task.cost_usd == Decimal("3.500000")  # 1 × 0.5 + 2 × 1.5
    assert task.prompt_version == 1 and task.latency_ms is not None
    assert License.objects.get(tenant=world.alpha).ai_requests_used == 1  # metered into licensing


def test_costs_add_up_to_the_catalog_prices(world, ready, mesh):
    mesh("openai", price_in="0.15", price_out="0.6", tokens_in=123, tokens_out=45)
    tasks = [complete(world) for _ in range(3)]
    assert sum(t.cost_usd for t in tasks) == 3 * (Decimal("0.15") * 123 + Decimal("0.6") * 45) / 1000


def test_a_failing_provider_falls_back_to_the_next_and_the_task_records_both(world, ready, mesh):
    _, first = mesh("openai", priority=1)
    mesh("gemini", priority=2, answer="from gemini")
    first.fail(503, message="upstream down")
    task = complete(world)
    assert task.status == ProcessedTask.Status.SUCCEEDED and task.provider_name == "gemini"
    assert [(a["provider"], a["status"]) for a in task.attempts] == [("openai", "failed"), ("gemini", "succeeded")]
    assert task.attempts[0]["error_code"] == ErrorCode.PROVIDER_UNAVAILABLE


def test_a_timeout_falls_back_too(world, ready, mesh, settings):
    settings.AI_HTTP_DEADLINE = 0.3
    _, slow = mesh("ollama", priority=1)
    mesh("anthropic", priority=2)
    slow.slow(1.5)
    task = complete(world)
    assert task.provider_name == "anthropic"
    assert task.attempts[0]["error_code"] == ErrorCode.PROVIDER_TIMEOUT


def test_a_429_rests_the_key_for_its_retry_after_and_the_next_key_answers(world, ready, mesh):
    # given two keys of one provider
    provider, fake = mesh("openai")
    from ai.services import key_add
    from tests.ai.fakes import KEY

    second = key_add(actor=ACTOR, provider=provider, api_key=KEY, label="second")
    first = provider.keys.exclude(pk=second.pk).get()
    fake.fail(429, message="Rate limit reached for requests", retry_after=120)
    # when
    before = timezone.now()
    task = complete(world)
    # then the first key rests ~120 s and the second answered
    first.refresh_from_db()
    assert task.status == ProcessedTask.Status.SUCCEEDED and task.attempts[-1]["key"] == second.pk
    assert first.rest_reason == "rate_limited"
    assert 119 <= (first.rest_until - before).total_seconds() <= 125
    # and while it rests it is not routed
    complete(world)
    assert len(fake.requests) == 3 and fake.requests[-1].headers["authorization"].endswith(KEY)
    assert all(a["key"] == second.pk for a in ProcessedTask.objects.order_by("-id").first().attempts)


def test_a_429_without_retry_after_rests_for_the_default_cooldown(world, ready, mesh, settings):
    settings.AI_RATE_LIMIT_COOLDOWN = 33
    provider, fake = mesh("anthropic")
    fake.fail(429)
    task = complete(world)
    key = provider.keys.get()
    assert task.status == ProcessedTask.Status.FAILED and task.error_code == ErrorCode.ALL_PROVIDERS_FAILED
    assert 30 <= (key.rest_until - timezone.now()).total_seconds() <= 34


def test_repeated_failures_open_the_circuit_and_an_operator_can_reinstate(world, ready, mesh, settings):
    settings.AI_BREAKER_FAILURES = 2
    provider, fake = mesh("gemini")
    fake.fail(500, times=2)
    complete(world)
    key = provider.keys.get()
    assert key.rest_until is None and key.consecutive_failures == 1
    complete(world)
    key.refresh_from_db()
    assert key.rest_reason == "circuit_open" and key.is_resting()
    # no usable key: nothing is sent
    task = complete(world)
    assert task.error_code == ErrorCode.NO_ROUTE and len(fake.requests) == 2
    key_update(actor=ACTOR, key=key, reinstate=True)
    assert complete(world).status == ProcessedTask.Status.SUCCEEDED


def test_requests_per_minute_limit_skips_the_key(world, ready, mesh, monkeypatch):
    monkeypatch.setattr("ai.store._minute", lambda: 29_000_000)  # both calls in one window, whatever the clock
    mesh("openai", priority=1, rpm_limit=1)
    mesh("ollama", priority=2)
    assert complete(world).provider_name == "openai"
    assert complete(world).provider_name == "ollama"


def test_a_tenant_limited_to_some_providers_is_routed_only_to_them(world, ready, mesh):
    mesh("openai", priority=1)
    local, _ = mesh("ollama", priority=2)
    policy_save(actor=ACTOR, tenant=world.alpha, allowed_providers=[local])
    assert complete(world).provider_name == "ollama"


def test_capability_routes_only_to_models_that_have_it(world, ready, mesh):
    mesh("openai", priority=1, capabilities=("chat",))
    mesh("anthropic", priority=2, capabilities=("chat", "json"), answer='{"title": "VIP"}')
    task = complete(world, schema={"type": "object", "required": ["title"]})
    assert task.provider_name == "anthropic" and task.output_json == {"title": "VIP"}


def test_the_budget_refuses_at_100_percent_and_warns_at_80(world, ready, mesh):
    # given a budget of USD 10 and calls costing USD 4.5 each
    mesh("openai", tokens_in=3000, tokens_out=2000)
    policy_save(actor=ACTOR, tenant=world.alpha, monthly_budget_usd="10")
    complete(world)
    assert not AuditLog.objects.filter(tenant=world.alpha, action=AuditAction.BUDGET_WARNING).exists()
    complete(world)  # 9.0: past 80%
    warning = AuditLog.objects.get(tenant=world.alpha, action=AuditAction.BUDGET_WARNING)
    assert warning.changes["percent"] == 90
    complete(world)  # 13.5: allowed to start below 100%, the spend passes it
    # when the month's spend is at or over the budget
    with pytest.raises(BudgetExceeded) as caught:
        complete(world)
    # then the refusal is clear and nothing was created or sent
    assert caught.value.code == "ai_budget_exceeded" and caught.value.http_status == 403
    assert ProcessedTask.objects.filter(tenant=world.alpha).count() == 3
    assert AuditLog.objects.filter(tenant=world.alpha, action=AuditAction.BUDGET_WARNING).count() == 1
    # another tenant's budget is its own
    assert spend_of(world.beta) == 0


def spend_of(tenant):
    from ai.selectors import spend_month

    return spend_month(tenant=tenant)


def test_the_license_quota_refuses_past_the_monthly_ai_requests(world, mesh, licensed):
    licensed(ai_requests_per_month=1)
    prompt()
    mesh("openai")
    complete(world)
    with pytest.raises(QuotaExceeded):
        complete(world)


def test_without_a_license_ai_is_refused(world, mesh):
    prompt()
    mesh("openai")
    with pytest.raises(QuotaExceeded) as caught:
        complete(world)
    assert caught.value.code == "license_required"


def test_ai_off_for_the_tenant_is_refused(world, ready, mesh):
    mesh("openai")
    policy_save(actor=ACTOR, tenant=world.alpha, enabled=False)
    with pytest.raises(Exception) as caught:
        complete(world)
    assert caught.value.code == ErrorCode.AI_DISABLED


def test_a_key_is_encrypted_at_rest_and_shown_masked(world, mesh):
    from tests.ai.fakes import KEY

    provider, _ = mesh("openai")
    key = provider.keys.get()
    assert KEY not in key.key_encrypted and key.masked == f"…{KEY[-4:]}"
    assert KEY not in str(key) and KEY not in str(AuditLog.objects.filter(resource_type="ai_key").values("changes"))
    assert ProviderKey.objects.filter(key_encrypted__contains=KEY[-8:]).count() == 0




def test_a_batch_queues_one_task_per_item_and_reports_progress(world, ready, mesh,
                                                               django_capture_on_commit_callbacks):
    from ai.selectors import batch_progress
    from ai.services import ai_batch_submit

    _, fake = mesh("ollama")
    fake.fail(500)  # the first task fails, the others succeed
    items = [{"name": f"S{n}", "rules": "x"} for n in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = ai_batch_submit(tenant=world.alpha, actor=ACTOR, feature="segment-description", items=items)
    assert batch_progress(batch=batch)["queued"] == 3 and batch_progress(batch=batch)["percent"] == 0
    for callback in callbacks:
        callback()
    progress = batch_progress(batch=batch)
    assert (progress["succeeded"], progress["failed"], progress["percent"]) == (2, 1, 100)


def test_a_batch_over_the_quota_creates_nothing(world, mesh, licensed):
    from ai.services import ai_batch_submit

    licensed(ai_requests_per_month=2)
    prompt()
    mesh("openai")
    with pytest.raises(QuotaExceeded):
        ai_batch_submit(tenant=world.alpha, actor=ACTOR, feature="segment-description",
                        items=[{"name": "a", "rules": "b"}] * 3)
    assert not ProcessedTask.objects.exists()

"""Operators' admin and the ai_provider_add command: writes through the services, keys write-only
and masked, refusals on the form or as one line, and only operators get in."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ai.models import AiModel, MasterPrompt, ProcessedTask, Provider, ProviderKey
from ai.services import ai_complete, policy_save
from tenants.models import AuditLog
from tests.ai.factories import ACTOR, prompt

pytestmark = pytest.mark.django_db

SECRET = "sk-live-abcdefghijklmnop1234"


def test_the_command_adds_provider_model_and_encrypted_key(world):
    out = StringIO()
    call_command("ai_provider_add", "groq", "--kind", "openai", "--base-url", "https://api.groq.com/openai/v1",
                 "--api-key", SECRET, "--model", "llama-3.3-70b-versatile", "--input-cost-per-1k", "0.00059",
                 "--output-cost-per-1k", "0.00079", "--priority", "10", stdout=out)
    provider = Provider.objects.get(name="groq")
    model = AiModel.objects.get(provider=provider)
    key = ProviderKey.objects.get(provider=provider)
    assert (provider.kind, provider.priority, model.model_id) == ("openai", 10, "llama-3.3-70b-versatile")
    assert str(model.input_cost_per_1k) == "0.000590" and model.capabilities == ["chat", "json"]
    assert SECRET not in out.getvalue() and "…1234" in out.getvalue()
    assert SECRET not in key.key_encrypted and key.key_hint == "1234"
    assert not AuditLog.objects.filter(changes__icontains=SECRET).exists()


def test_the_command_refuses_in_one_line(world):
    call_command("ai_provider_add", "local", "--kind", "ollama", "--base-url", "http://localhost:11434",
                 "--model", "llama3.2", "--input-cost-per-1k", "0", "--output-cost-per-1k", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="exists"):
        call_command("ai_provider_add", "local", "--kind", "ollama", "--base-url", "http://localhost:11434",
                     "--model", "llama3.2", "--input-cost-per-1k", "0", "--output-cost-per-1k", "0")
    with pytest.raises(CommandError, match="API key is required"):
        call_command("ai_provider_add", "openai", "--kind", "openai", "--base-url", "https://api.openai.com/v1",
                     "--model", "gpt-4o-mini", "--input-cost-per-1k", "0.15", "--output-cost-per-1k", "0.6")
    with pytest.raises(CommandError, match="number"):
        call_command("ai_provider_add", "openai", "--kind", "openai", "--base-url", "https://api.openai.com/v1",
                     "--api-key", SECRET, "--model", "gpt-4o-mini", "--input-cost-per-1k", "cheap",
                     "--output-cost-per-1k", "0.6")
    assert not Provider.objects.filter(name="openai").exists()  # all or nothing


def test_admin_adds_a_key_write_only_and_shows_it_masked(world, public_client):
    provider = Provider.objects.create(name="claude", kind="anthropic", base_url="https://api.anthropic.com")
    client = public_client(world.staff)
    response = client.post("/admin/ai/providerkey/add/", {"provider": provider.pk, "label": "main", "api_key": SECRET,
                                                          "is_active": "on", "rpm_limit": "50", "tpm_limit": ""})
    assert response.status_code == 302, response.content[:2000]
    key = ProviderKey.objects.get(provider=provider)
    assert key.rpm_limit == 50 and key.masked == "…1234"
    for url in ("/admin/ai/providerkey/", f"/admin/ai/providerkey/{key.pk}/change/", "/admin/ai/provider/"
                f"{provider.pk}/change/"):
        page = client.get(url).content.decode()
        assert SECRET not in page and key.key_encrypted not in page
    # an edit without a new key keeps the old one
    response = client.post(f"/admin/ai/providerkey/{key.pk}/change/", {"label": "renamed", "api_key": "",
                                                                         "is_active": "on", "rpm_limit": "",
                                                                         "tpm_limit": ""})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.label == "renamed" and key.key_hint == "1234"


def test_admin_prompt_with_an_undeclared_variable_is_a_form_error(world, public_client):
    response = public_client(world.staff).post("/admin/ai/masterprompt/add/", {
        "feature": "summary", "language": "en", "system": "", "template": "Summarize {{ customer }}",
        "variables": "", "capability": "chat", "weight": "100", "is_active": "on"})
    assert response.status_code == 200 and "undeclared variables: customer" in response.content.decode()
    assert not MasterPrompt.objects.filter(feature="summary").exists()
    response = public_client(world.staff).post("/admin/ai/masterprompt/add/", {
        "feature": "summary", "language": "en", "system": "", "template": "Summarize {{ customer }}",
        "variables": "customer", "capability": "chat", "weight": "100", "is_active": "on"})
    assert response.status_code == 302 and MasterPrompt.objects.get(feature="summary").version == 1


def test_a_new_prompt_version_is_numbered_after_the_last(world):
    prompt(feature="f", template="a")
    prompt(feature="f", template="b", weight=50)
    assert list(MasterPrompt.objects.filter(feature="f").values_list("version", flat=True)) == [2, 1]


def test_ab_split_records_the_version_each_task_used(world, licensed, mesh, monkeypatch):
    licensed()
    mesh("ollama")
    prompt(feature="ab", template="first {{ x }}", variables=["x"], weight=50)
    prompt(feature="ab", template="second {{ x }}", variables=["x"], weight=50)
    picks, weights_seen = iter([1, 0, 0]), []  # indexes into the active versions, newest first

    def choices(population, weights):
        weights_seen.append(list(weights))
        return [population[next(picks)]]

    monkeypatch.setattr("ai.services.tasks.random.choices", choices)
    versions = [ai_complete(tenant=world.alpha, actor=ACTOR, feature="ab", variables={"x": 1}).prompt_version
                for _ in range(3)]
    assert versions == [1, 2, 2] and weights_seen == [[50, 50]] * 3
    from ai.selectors import prompt_results

    results = {row["prompt_version"]: row["tasks"] for row in prompt_results(feature="ab")}
    assert results == {1: 1, 2: 2}


def test_spend_page_shows_margin_per_client(world, licensed, mesh, public_client):
    licensed()
    mesh("openai", tokens_in=1000, tokens_out=1000, price_in="1", price_out="1")  # USD 2 per call
    prompt(feature="note", template="hi", variables=())
    policy_save(actor=ACTOR, tenant=world.alpha, price_per_request_usd="5")
    ai_complete(tenant=world.alpha, actor=ACTOR, feature="note")
    from ai.selectors import margin_by_tenant

    (row,) = margin_by_tenant()
    assert (row["tenant"], row["requests"], row["revenue_usd"], row["cost_usd"], row["margin_usd"]) == \
        ("alpha", 1, 5, 2, 3)
    page = public_client(world.staff).get("/admin/ai/processedtask/spend/")
    assert page.status_code == 200 and "alpha" in page.content.decode() and "60.0" in page.content.decode()


def test_reinstate_action_ends_a_rest(world, mesh, public_client):
    from django.utils import timezone

    provider, _ = mesh("gemini")
    key = provider.keys.get()
    ProviderKey.objects.filter(pk=key.pk).update(rest_until=timezone.now() + timezone.timedelta(hours=1),
                                                 rest_reason="circuit_open")
    response = public_client(world.staff).post("/admin/ai/providerkey/", {"action": "reinstate",
                                                                          "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.rest_until is None and key.health == "healthy"


def test_only_operators_reach_the_ai_admin(world, public_client):
    from tenants.services import user_create

    # a tenant owner is no operator
    response = public_client(world.user("alpha_owner")).get("/admin/ai/providerkey/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    # staff without the model permissions get nothing either
    clerk = user_create(email="clerk@cdp.test", password="Correct-Horse-42", actor=ACTOR)
    clerk.is_staff = True
    clerk.save()
    assert public_client(clerk).get("/admin/ai/providerkey/").status_code == 403
    assert public_client(clerk).get("/admin/ai/processedtask/spend/").status_code == 403
    assert public_client(world.staff).get("/admin/ai/processedtask/spend/").status_code == 200


def test_processed_tasks_are_read_only_in_the_admin(world, public_client):
    response = public_client(world.staff).get("/admin/ai/processedtask/add/")
    assert response.status_code == 403
    assert ProcessedTask.objects.count() == 0


def test_rotate_credentials_re_encrypts_the_key_pool(world, settings):
    from cryptography.fernet import Fernet

    from ai.services import key_secret

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CDP_CREDENTIALS_KEYS = old
    call_command("ai_provider_add", "deepseek", "--kind", "openai", "--base-url", "https://api.deepseek.com",
                 "--api-key", SECRET, "--model", "deepseek-chat", "--input-cost-per-1k", "0.27",
                 "--output-cost-per-1k", "1.1", stdout=StringIO())
    key = ProviderKey.objects.get(provider__name="deepseek")
    token = key.key_encrypted
    settings.CDP_CREDENTIALS_KEYS = f"{new},{old}"
    out = StringIO()
    call_command("rotate_credentials", stdout=out)
    assert "ai keys: 1 secrets re-encrypted" in out.getvalue()
    settings.CDP_CREDENTIALS_KEYS = new  # the old key dropped: the pool still reads
    key.refresh_from_db()
    assert key.key_encrypted != token and key_secret(key) == SECRET

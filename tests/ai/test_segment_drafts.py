"""Segment from a sentence: the request only queues (202); the worker asks the model for rules in
analytics' grammar; rules the compiler refuses fail the task without output; the draft is shown
with its sentence and live count, and saved as an ordinary segment only when confirmed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from ai.codes import ErrorCode
from ai.models import ProcessedTask
from ai.services import policy_save
from analytics.models import Segment
from tests.ai.factories import ACTOR
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TEXT = "customers in São Paulo who bought twice in the last 90 days"
RULES = {"op": "and", "rules": [{"field": "city", "operator": "eq", "value": "São Paulo"},
                                {"field": "total_orders", "operator": "gte", "value": 2},
                                {"field": "days_since_last_purchase", "operator": "lte", "value": 90}]}


def client_for(world, name, tenant="alpha"):
    client = Client(HTTP_HOST=f"{tenant}.localhost")
    client.force_login(world.user(name))
    return client


def post_json(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


@pytest.fixture
def paulistas(world):
    from django.utils import timezone

    recent = timezone.now() - timezone.timedelta(days=10)
    with tenant_context(world.alpha):
        CustomerFactory(city="São Paulo", total_orders=2, last_purchase_at=recent)
        CustomerFactory(city="São Paulo", total_orders=3, last_purchase_at=recent)
        CustomerFactory(city="São Paulo", total_orders=1, last_purchase_at=recent)
        CustomerFactory(city="Rio de Janeiro", total_orders=5, last_purchase_at=recent)


def drafter(licensed, mesh, answer):
    licensed()
    _, fake = mesh("openai", answer=json.dumps(answer) if not isinstance(answer, str) else answer,
                   tokens_in=900, tokens_out=80)
    return fake


def draft(world, client, django_capture_on_commit_callbacks, text=TEXT, language="pt"):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_json(client, "/api/v1/ai/segment-draft/", {"text": text, "language": language})
    assert response.status_code == 202, response.content
    for callback in callbacks:  # the worker
        callback()
    return response.json()


def test_a_sentence_becomes_a_confirmed_segment(world, licensed, mesh, paulistas, django_capture_on_commit_callbacks):
    fake = drafter(licensed, mesh, {"rules": RULES})
    client = client_for(world, "alpha_analyst")
    # when an analyst describes the customers
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_json(client, "/api/v1/ai/segment-draft/", {"text": TEXT, "language": "pt"})
    # then the request only queued a task: no provider call, no rules yet
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["task"]["status"] == "queued" and queued["rules"] is None and queued["preview_count"] is None
    assert fake.requests == [] and len(callbacks) == 1
    # when the worker runs it
    callbacks[0]()
    # then the prompt carried the sentence and the grammar; the draft has the rules, a sentence and a live count
    sent = json.dumps(fake.bodies()[0], ensure_ascii=False)
    assert "São Paulo who bought twice" in sent and "days_since_last_purchase" in sent
    detail = client.get(f"/api/v1/ai/segment-draft/{queued['task']['id']}/").json()
    assert detail["task"]["status"] == "succeeded" and detail["rules"] == RULES
    assert detail["preview_count"] == 2
    assert "city is “São Paulo”" in detail["sentence"] and "total orders is at least 2" in detail["sentence"]
    # nothing is saved until the person confirms
    with tenant_context(world.alpha):
        assert not Segment.objects.exists()
    saved = post_json(client, f"/api/v1/ai/segment-draft/{queued['task']['id']}/confirm/",
                      {"name": "Paulistas frequentes"})
    assert saved.status_code == 201, saved.content
    assert saved.json()["member_count"] == 2 and saved.json()["rules"] == RULES
    with tenant_context(world.alpha):
        segment = Segment.objects.get()
        assert segment.name == "Paulistas frequentes" and segment.memberships.count() == 2
    task = ProcessedTask.objects.get(pk=queued["task"]["id"])
    assert task.outcome == ProcessedTask.Outcome.ACCEPTED and task.cost_usd > 0
    # a second confirmation saves nothing more
    again = post_json(client, f"/api/v1/ai/segment-draft/{task.pk}/confirm/", {"name": "Otro"})
    assert again.status_code == 409 and again.json()["error"]["code"] == ErrorCode.DRAFT_ALREADY_SAVED


@pytest.mark.parametrize("answer", [
    "not json at all",
    {"rules": {"op": "and", "rules": [{"field": "password", "operator": "eq", "value": "x"}]}},  # not in the grammar
    {"rules": {"op": "and", "rules": [{"field": "days_since_last_purchase", "operator": "lte",
                                       "value": 99_999_999}]}},  # beyond the grammar's range
    {"rules": {"op": "and", "rules": []}},
])
def test_a_malformed_answer_is_refused_and_nothing_can_be_saved(world, licensed, mesh, paulistas, answer,
                                                                django_capture_on_commit_callbacks):
    drafter(licensed, mesh, answer)
    client = client_for(world, "alpha_admin")
    task_id = draft(world, client, django_capture_on_commit_callbacks)["task"]["id"]
    task = ProcessedTask.objects.get(pk=task_id)
    assert task.status == ProcessedTask.Status.FAILED and task.error_code == ErrorCode.OUTPUT_INVALID
    assert task.output_json is None
    detail = client.get(f"/api/v1/ai/segment-draft/{task_id}/").json()
    assert detail["rules"] is None and detail["preview_count"] is None
    assert detail["task"]["error_code"] == "ai_output_invalid" and detail["task"]["error_message"]
    refused = post_json(client, f"/api/v1/ai/segment-draft/{task_id}/confirm/", {"name": "Nope"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == ErrorCode.DRAFT_NOT_READY
    with tenant_context(world.alpha):
        assert not Segment.objects.exists()


def nested(depth):
    group = {"op": "and", "rules": [{"field": "city", "operator": "eq", "value": "São Paulo"}]}
    for _ in range(depth - 1):
        group = {"op": "or", "rules": [group]}
    return group


@pytest.mark.parametrize("rules", [
    nested(6),  # deeper than the compiler's MAX_DEPTH
    {"op": "and", "rules": [{"field": "total_spent", "operator": "gt", "value": 10 ** 14}]},  # beyond money columns
])
def test_rules_the_schema_admits_but_the_compiler_refuses_fail_the_task(world, licensed, mesh, rules,
                                                                        django_capture_on_commit_callbacks):
    # given an answer of the right shape whose values the compiler refuses
    drafter(licensed, mesh, {"rules": rules})
    task_id = draft(world, client_for(world, "alpha_admin"), django_capture_on_commit_callbacks)["task"]["id"]
    task = ProcessedTask.objects.get(pk=task_id)
    # then the task failed naming the compiler's reason, with no rules kept
    assert task.status == ProcessedTask.Status.FAILED and task.error_code == ErrorCode.OUTPUT_INVALID
    assert task.error_message.startswith("The model's answer was refused: rules") and task.output_json is None


def test_a_viewer_may_neither_draft_nor_read_nor_confirm(world, licensed, mesh, django_capture_on_commit_callbacks):
    drafter(licensed, mesh, {"rules": RULES})
    task_id = draft(world, client_for(world, "alpha_analyst"), django_capture_on_commit_callbacks)["task"]["id"]
    viewer = client_for(world, "alpha_viewer")
    assert post_json(viewer, "/api/v1/ai/segment-draft/", {"text": TEXT}).status_code == 403
    assert viewer.get(f"/api/v1/ai/segment-draft/{task_id}/").status_code == 403
    assert post_json(viewer, f"/api/v1/ai/segment-draft/{task_id}/confirm/", {"name": "x"}).status_code == 403
    assert ProcessedTask.objects.count() == 1


def test_another_tenant_s_draft_is_not_found(world, licensed, mesh, django_capture_on_commit_callbacks):
    drafter(licensed, mesh, {"rules": RULES})
    task_id = draft(world, client_for(world, "alpha_admin"), django_capture_on_commit_callbacks)["task"]["id"]
    beta = client_for(world, "beta_admin", tenant="beta")
    assert beta.get(f"/api/v1/ai/segment-draft/{task_id}/").status_code == 404
    assert post_json(beta, f"/api/v1/ai/segment-draft/{task_id}/confirm/", {"name": "Mine"}).status_code == 404
    with tenant_context(world.beta):
        assert not Segment.objects.exists()


def test_bad_input_and_ai_off_are_clear_errors(world, licensed, mesh):
    drafter(licensed, mesh, {"rules": RULES})
    client = client_for(world, "alpha_admin")
    empty = post_json(client, "/api/v1/ai/segment-draft/", {"text": "", "language": "pt"})
    assert empty.status_code == 400 and "text" in empty.json()["error"]["fields"]
    klingon = post_json(client, "/api/v1/ai/segment-draft/", {"text": TEXT, "language": "tlh"})
    assert klingon.status_code == 400 and "language" in klingon.json()["error"]["fields"]
    policy_save(actor=ACTOR, tenant=world.alpha, enabled=False)
    off = post_json(client, "/api/v1/ai/segment-draft/", {"text": TEXT})
    assert off.status_code == 403 and off.json()["error"]["code"] == "ai_disabled"
    assert not ProcessedTask.objects.exists()


def test_personal_data_in_the_sentence_stays_out_of_the_prompt(world, licensed, mesh,
                                                               django_capture_on_commit_callbacks):
    fake = drafter(licensed, mesh, {"rules": RULES})
    draft(world, client_for(world, "alpha_admin"), django_capture_on_commit_callbacks,
          text="customers like ana.souza@example.com or CPF 123.456.789-09")
    sent = json.dumps(fake.bodies()[0])
    assert "ana.souza@example.com" not in sent and "123.456.789-09" not in sent


def test_analytics_never_imports_ai():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in (root / "analytics").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name == "ai" or name.startswith("ai.")]
    assert offenders == []


def test_the_portal_drafts_shows_the_count_and_saves_on_confirmation(world, licensed, mesh, paulistas,
                                                                     django_capture_on_commit_callbacks):
    fake = drafter(licensed, mesh, {"rules": RULES})
    client = client_for(world, "alpha_analyst")
    assert "Segment from a sentence" in client.get("/ai/").content.decode()
    # when the analyst describes the customers, the page only queues the draft
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/ai/segments/", {"text": TEXT, "language": "pt"})
    assert response.status_code == 302 and fake.requests == []
    url = response["Location"]
    waiting = client.get(url).content.decode()
    assert 'http-equiv="refresh"' in waiting and 'data-status="queued"' in waiting
    for callback in callbacks:
        callback()
    # then the draft shows the rules as a sentence and the live count, and nothing is saved yet
    page = client.get(url).content.decode()
    assert 'data-count="2"' in page and "São Paulo" in page and 'http-equiv="refresh"' not in page
    with tenant_context(world.alpha):
        assert not Segment.objects.exists()
    # when they confirm it is an ordinary segment
    saved = client.post(url, {"name": "Paulistas", "description": ""})
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        segment = Segment.objects.get()
        assert saved["Location"].endswith(f"/segments/{segment.pk}/") and segment.member_count == 2
    assert "saved as a segment" in client.get(url).content.decode()


def test_the_portal_refusals(world, licensed, mesh, django_capture_on_commit_callbacks):
    drafter(licensed, mesh, "not json")
    client = client_for(world, "alpha_admin")
    with django_capture_on_commit_callbacks(execute=True):
        url = client.post("/ai/segments/", {"text": TEXT, "language": "en"})["Location"]
    page = client.get(url).content.decode()
    assert "No usable rules" in page and 'name="name"' not in page
    assert client.post(url, {"name": "x"}).status_code == 200  # the refusal lands on the form
    with tenant_context(world.alpha):
        assert not Segment.objects.exists()
    assert client_for(world, "alpha_viewer").get("/ai/segments/").status_code == 403
    assert client_for(world, "alpha_viewer").get(url).status_code == 403
    assert client_for(world, "beta_admin", tenant="beta").get(url).status_code == 404
    policy_save(actor=ACTOR, tenant=world.alpha, monthly_budget_usd="0")
    refused = client.post("/ai/segments/", {"text": TEXT, "language": "en"})
    assert refused.status_code == 200 and "budget" in refused.content.decode()


def test_roi_counts_saved_drafts_and_succeeded_answers(world, settings):
    from decimal import Decimal

    from ai.selectors import roi_by_feature

    settings.AI_MINUTES_SAVED = "segment-draft=20,message-draft=15"
    settings.AI_HOURLY_VALUE_USD = "30"
    done, used = ProcessedTask.Status.SUCCEEDED, ProcessedTask.Outcome.ACCEPTED
    for feature, status, outcome, cost in [("segment-draft", done, used, "0.01"), ("segment-draft", done, "", "0.01"),
                                           ("message-draft", done, "", "0.02"),
                                           ("message-draft", ProcessedTask.Status.FAILED, "", "0.00")]:
        ProcessedTask.objects.create(tenant=world.alpha, feature=feature, status=status, outcome=outcome,
                                     cost_usd=Decimal(cost))
    ProcessedTask.objects.create(tenant=world.beta, feature="message-draft", status=done)
    rows = {row["feature"]: row for row in roi_by_feature(tenant=world.alpha)}
    assert (rows["segment-draft"]["tasks"], rows["segment-draft"]["useful"]) == (2, 1)
    assert rows["segment-draft"]["minutes_saved"] == 20 and rows["segment-draft"]["value_usd"] == Decimal("10.00")
    assert (rows["message-draft"]["tasks"], rows["message-draft"]["useful"]) == (2, 1)
    assert rows["message-draft"]["value_usd"] == Decimal("7.50")
    assert rows["message-draft"]["value_per_dollar"] == Decimal("375.0")
    page = client_for(world, "alpha_analyst").get("/ai/").content.decode()
    assert 'data-roi="segment-draft"' in page

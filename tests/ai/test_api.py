"""The tenant's API: its AI tasks (analytics capability) and the message-draft feature (write),
queued and run by the worker, never inside the request."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ai.codes import ErrorCode
from ai.models import ProcessedTask
from ai.services import ai_complete, policy_save
from tests.ai.factories import ACTOR, prompt

pytestmark = pytest.mark.django_db

DRAFT = {"segment": "At risk", "description": "Bought twice, nothing in 120 days", "channel": "email",
         "language": "es", "offer": "10% off"}


def client_for(world, name, tenant="alpha"):
    client = Client(HTTP_HOST=f"{tenant}.localhost")
    client.force_login(world.user(name))
    return client


def post_draft(client, payload=None):
    return client.post("/api/v1/ai/message-drafts/", json.dumps(payload or DRAFT), content_type="application/json")


@pytest.fixture
def drafting(world, licensed, mesh):
    licensed()
    _, fake = mesh("openai", answer=json.dumps({"subject": "Te extrañamos", "body": "Vuelve con 10% off."}),
                   tokens_in=200, tokens_out=50)
    return fake


def test_a_message_draft_is_queued_and_the_worker_calls_the_provider(world, drafting,
                                                                     django_capture_on_commit_callbacks):
    # when an admin asks for a draft
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_draft(client_for(world, "alpha_admin"))
    # then the answer is 202 with a queued task, and no provider was called during the request
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["feature"] == "message-draft" and body["language"] == "es"
    assert drafting.requests == [] and len(callbacks) == 1
    # when the worker runs it (the committed transaction's callback enqueues the task)
    callbacks[0]()
    # then the task holds the validated draft, visible to an analyst
    detail = client_for(world, "alpha_analyst").get(f"/api/v1/ai/tasks/{body['id']}/").json()
    assert detail["status"] == "succeeded" and detail["prompt_version"] == 1
    assert detail["output"] == {"subject": "Te extrañamos", "body": "Vuelve con 10% off."}
    assert (detail["provider"], detail["tokens_in"], detail["tokens_out"]) == ("openai", 200, 50)
    assert detail["cost_usd"] == "0.175000"
    sent = drafting.bodies()[0]
    assert sent["response_format"] == {"type": "json_object"}
    assert "At risk" in sent["messages"][1]["content"] and "Alpha Store" in sent["messages"][0]["content"]


def test_a_malformed_answer_is_refused_without_output(world, licensed, mesh, django_capture_on_commit_callbacks):
    licensed()
    mesh("gemini", answer='{"subject": "Hi"}')  # no "body"
    with django_capture_on_commit_callbacks(execute=True):
        task_id = post_draft(client_for(world, "alpha_owner")).json()["id"]
    task = ProcessedTask.objects.get(pk=task_id)
    assert task.status == ProcessedTask.Status.FAILED and task.error_code == ErrorCode.OUTPUT_INVALID
    assert task.output_json is None
    detail = client_for(world, "alpha_owner").get(f"/api/v1/ai/tasks/{task_id}/").json()
    assert detail["output"] is None and detail["error_code"] == "ai_output_invalid"


def test_an_analyst_may_not_request_a_draft(world, drafting):
    response = post_draft(client_for(world, "alpha_analyst"))
    assert response.status_code == 403
    assert not ProcessedTask.objects.exists()


def test_a_viewer_may_not_list_ai_tasks(world):
    assert client_for(world, "alpha_viewer").get("/api/v1/ai/tasks/").status_code == 403
    assert client_for(world, "alpha_analyst").get("/api/v1/ai/tasks/").status_code == 200


def test_tasks_are_the_tenants_own(world, drafting):
    prompt(feature="note", template="Hi {{ who }}", variables=["who"])
    from tests.licensing.factories import LicenseFactory

    LicenseFactory(tenant=world.beta, plan_code="starter")
    mine = ai_complete(tenant=world.alpha, actor=ACTOR, feature="note", variables={"who": "a"})
    theirs = ai_complete(tenant=world.beta, actor=ACTOR, feature="note", variables={"who": "b"})
    client = client_for(world, "alpha_analyst")
    listed = client.get("/api/v1/ai/tasks/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert set(listed[0]) >= {"provider", "model", "tokens_in", "tokens_out", "cost_usd", "status"}
    assert client.get(f"/api/v1/ai/tasks/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/ai/tasks/?ordering=variables").status_code == 400


def test_bad_input_is_a_field_error(world, drafting):
    response = post_draft(client_for(world, "alpha_admin"), {**DRAFT, "channel": "pigeon"})
    assert response.status_code == 400 and "channel" in response.json()["error"]["fields"]


def test_ai_off_for_the_tenant_is_refused_clearly(world, drafting):
    policy_save(actor=ACTOR, tenant=world.alpha, enabled=False)
    response = post_draft(client_for(world, "alpha_admin"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "ai_disabled"


def test_personal_data_stays_out_of_prompts_unless_allowed(world, drafting, django_capture_on_commit_callbacks):
    payload = {**DRAFT, "description": "like ana.souza@example.com, +55 11 98765-4321, CPF 123.456.789-09"}
    with django_capture_on_commit_callbacks(execute=True):
        post_draft(client_for(world, "alpha_admin"), payload)
    sent = json.dumps(drafting.bodies()[-1])
    assert "ana.souza@example.com" not in sent and "98765-4321" not in sent and "123.456.789-09" not in sent
    assert "[redacted]" in sent
    # a tenant that allows personal data sends it as typed
    policy_save(actor=ACTOR, tenant=world.alpha, allow_personal_data=True)
    with django_capture_on_commit_callbacks(execute=True):
        post_draft(client_for(world, "alpha_admin"), payload)
    assert "ana.souza@example.com" in json.dumps(drafting.bodies()[-1])

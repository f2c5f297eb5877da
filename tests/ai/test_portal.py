"""The portal's AI page: analysts read, writers draft (queued, never called in the request),
viewers get nothing; refusals land on the form."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ai.models import ProcessedTask
from ai.services import policy_save
from tests.ai.factories import ACTOR

pytestmark = pytest.mark.django_db

FORM = {"segment": "Dormidos", "description": "", "channel": "whatsapp", "language": "es", "goal": "win-back",
        "offer": ""}


def page_client(world, name):
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(world.user(name))
    return client


@pytest.fixture
def drafting(world, licensed, mesh):
    licensed()
    _, fake = mesh("anthropic", answer=json.dumps({"subject": "", "body": "¡Vuelve!"}))
    return fake


def test_an_admin_drafts_from_the_portal_and_sees_the_result(world, drafting, django_capture_on_commit_callbacks):
    client = page_client(world, "alpha_admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/ai/", FORM)
    assert response.status_code == 302 and drafting.requests == []
    for callback in callbacks:
        callback()
    page = client.get("/ai/").content.decode()
    assert "¡Vuelve!" in page and 'data-status="succeeded"' in page


def test_an_analyst_reads_but_may_not_draft(world, drafting):
    client = page_client(world, "alpha_analyst")
    page = client.get("/ai/")
    assert page.status_code == 200 and 'name="segment"' not in page.content.decode()
    assert client.post("/ai/", FORM).status_code == 403
    assert not ProcessedTask.objects.exists()


def test_a_viewer_may_not_open_the_ai_page(world):
    assert page_client(world, "alpha_viewer").get("/ai/").status_code == 403


def test_a_refusal_is_shown_on_the_form(world, drafting):
    policy_save(actor=ACTOR, tenant=world.alpha, monthly_budget_usd="0")
    response = page_client(world, "alpha_admin").post("/ai/", FORM)
    assert response.status_code == 200 and "budget" in response.content.decode()
    assert not ProcessedTask.objects.exists()

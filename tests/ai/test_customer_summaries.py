"""The Customer 360's AI summary: queued from the 360 (never called in the request), built from
non-identifying facts only, cached per customer version (no second call or metering while the
customer is unchanged), refused to viewers, and emptied by an erasure."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from ai.models import ProcessedTask
from ai.services import policy_save
from cdp.context import Actor
from customers.services.privacy import customer_pseudonymize
from tests.ai.factories import ACTOR
from tests.customers.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

ANSWER = {"summary": "A loyal buyer of yerba mate, every month.", "next_action": "Offer the 2 kg pack."}


def client_for(world, name, tenant="alpha"):
    client = Client(HTTP_HOST=f"{tenant}.localhost")
    client.force_login(world.user(name))
    return client


@pytest.fixture
def summarizing(world, licensed, mesh):
    licensed()
    _, fake = mesh("anthropic", answer=json.dumps(ANSWER), tokens_in=400, tokens_out=60)
    return fake


@pytest.fixture
def customer(world):
    with tenant_context(world.alpha):
        person = CustomerFactory(first_name="Mariana", last_name="Quispe", email="mariana.quispe@example.com",
                                 phone="+5491155554444", document_number="30111222", city="Rosario",
                                 notes="VIP, calls on Tuesdays", total_orders=1, total_spent=Decimal("15990.00"),
                                 last_purchase_at=timezone.now() - timezone.timedelta(days=12))
        OrderFactory(customer=person, total_amount=Decimal("15990.00"))
        return person


def ask(client, customer_id):
    return client.post("/api/v1/ai/customer-summary/", json.dumps({"customer_id": customer_id}),
                       content_type="application/json")


def test_a_summary_is_queued_shown_on_the_360_and_cached_per_version(world, summarizing, customer,
                                                                     django_capture_on_commit_callbacks):
    client = client_for(world, "alpha_analyst")
    # when an analyst asks for the summary, the request only queues it
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ask(client, customer.pk)
    assert response.status_code == 202, response.content
    assert summarizing.requests == [] and len(callbacks) == 1
    callbacks[0]()
    # then the 360 (API and page) shows it as current
    section = client.get(f"/api/v1/customers/{customer.pk}/").json()["sections"]["ai_summary"]
    assert section["summary"] == ANSWER["summary"] and section["current"] is True
    assert section["status"] == "succeeded"
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert ANSWER["summary"] in page and ANSWER["next_action"] in page
    # when asked again with the customer unchanged, the cached task answers: no call, no metering
    with django_capture_on_commit_callbacks(execute=True):
        again = ask(client, customer.pk)
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    assert len(summarizing.requests) == 1 and ProcessedTask.objects.count() == 1
    # when the customer changes (a new order), the summary is out of date and a new one is written
    with tenant_context(world.alpha):
        OrderFactory(customer=customer, total_amount=Decimal("800.00"))
    stale = client.get(f"/api/v1/customers/{customer.pk}/").json()["sections"]["ai_summary"]
    assert stale["current"] is False and stale["summary"] == ANSWER["summary"]
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client, customer.pk).status_code == 202
    assert len(summarizing.requests) == 2


def test_no_personal_or_masked_field_reaches_the_provider(world, summarizing, customer,
                                                          django_capture_on_commit_callbacks):
    # even for an owner, who may see every field, and a tenant that allows personal data
    policy_save(actor=ACTOR, tenant=world.alpha, allow_personal_data=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client_for(world, "alpha_owner"), customer.pk).status_code == 202
    sent = json.dumps(summarizing.bodies()[0], ensure_ascii=False)
    for value in ("Mariana", "Quispe", "mariana.quispe", "5491155554444", "30111222", "VIP"):
        assert value not in sent
    assert f"customer #{customer.pk}" in sent and "Rosario" in sent


def test_the_portal_button_queues_and_viewers_may_not(world, summarizing, customer,
                                                      django_capture_on_commit_callbacks):
    admin = client_for(world, "alpha_admin")
    page = admin.get(f"/customers/{customer.pk}/").content.decode()
    assert f'action="/ai/customers/{customer.pk}/summary/"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(f"/ai/customers/{customer.pk}/summary/")
    assert response.status_code == 302 and summarizing.requests == []
    viewer = client_for(world, "alpha_viewer")
    viewer_page = viewer.get(f"/customers/{customer.pk}/").content.decode()
    assert "/summary/" not in viewer_page
    assert viewer.post(f"/ai/customers/{customer.pk}/summary/").status_code == 403
    assert ask(viewer, customer.pk).status_code == 403
    assert ProcessedTask.objects.count() == 1
    # another tenant's host does not find the customer
    assert ask(client_for(world, "beta_admin", tenant="beta"), customer.pk).status_code == 404


def test_erasure_removes_the_cached_summaries(world, summarizing, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(client_for(world, "alpha_admin"), customer.pk)
    task = ProcessedTask.objects.get()
    assert task.output_json == ANSWER and "Rosario" in task.variables["facts"]
    with tenant_context(world.alpha):
        customer_pseudonymize(customer_id=customer.pk, actor=Actor.system("tests"), reason="request")
    task.refresh_from_db()
    assert task.output_json is None and task.output_text == "" and task.variables == {} and task.subject == ""
    assert task.cost_usd > 0  # what it cost stays for billing
    refused = ask(client_for(world, "alpha_admin"), customer.pk)
    assert refused.status_code == 400


def test_ai_off_hides_the_section_and_refuses(world, summarizing, customer):
    policy_save(actor=ACTOR, tenant=world.alpha, enabled=False)
    client = client_for(world, "alpha_admin")
    assert client.get(f"/api/v1/customers/{customer.pk}/").json()["sections"]["ai_summary"] is None
    response = ask(client, customer.pk)
    assert response.status_code == 403 and response.json()["error"]["code"] == "ai_disabled"

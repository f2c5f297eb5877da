"""One story about plan, license and subscription on the overview, license and billing pages;
test card details only while the checkout charges the sandbox (test mode)."""

from __future__ import annotations

import re
from decimal import Decimal as D

from billing.models import PaymentGateway
from tests.billing.factories import PlanProductFactory


def test_before_any_purchase_every_page_says_no_plan_yet(world, alpha_client):
    owner = alpha_client(world.user("alpha_owner"))
    dashboard = owner.get("/").content.decode()
    assert "No plan yet" in dashboard and "No subscription yet" in dashboard
    assert "Business plan" not in dashboard  # the tenant's type is not a plan
    assert "No plan yet" in owner.get("/license/").content.decode()
    assert "No subscription yet" in owner.get("/billing/").content.decode()
    # the subscription line is for who may open billing
    assert "data-overview-subscription" not in alpha_client(world.user("alpha_admin")).get("/").content.decode()


def test_after_a_purchase_the_overview_names_the_plan_and_the_subscription(world, alpha_client):
    PlanProductFactory(sku="T-STORY", name="Story plan", price=D("49.00"))
    owner = alpha_client(world.user("alpha_owner"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', owner.get("/billing/").content.decode()).group(1)
    assert owner.post("/billing/buy/", {"sku": "T-STORY", "token": "tok_visa", "idempotency_key": key}).status_code == 201
    dashboard = owner.get("/").content.decode()
    license_page = owner.get("/license/").content.decode()
    plan = re.search(r"Plan <strong>([^<]+)</strong>", license_page).group(1)
    assert f"Plan <strong>{plan}</strong>, license" in dashboard
    assert "<strong>Story plan</strong>, Active" in dashboard and "No plan yet" not in dashboard


def test_test_card_details_only_in_test_mode(world, alpha_client):
    owner = alpha_client(world.user("alpha_owner"))
    page = owner.get("/billing/").content.decode()
    assert "data-test-mode" in page and 'list="test-tokens"' in page and '<option value="tok_visa">' in page
    assert 'value="tok_visa" ' not in page and 'name="token" value=' not in page  # nothing pre-filled
    PaymentGateway.objects.filter(code="sandbox").update(is_active=False)
    page = owner.get("/billing/").content.decode()
    assert "data-test-mode" not in page and "tok_" not in page and 'name="token"' not in page
    assert "data-no-card-form" in page
    assert "data-test-mode" not in owner.get("/").content.decode()

"""Partner offers (issue #15 item 4): targeted by tier and by the customers list's filters, with a
budget and dates, issuing one voucher per matching member; a partner's key reaches its own only."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from loyalty import services
from loyalty.models import Offer, Voucher
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory
from tests.loyalty.factories import LoyaltyAccountFactory

ACTOR = Actor.system("tests")


def post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def people(world):
    """Alpha members: two gold (AR and BR), one silver (AR); and a customer who is not a member."""
    with tenant_context(world.alpha):
        gold_ar = LoyaltyAccountFactory(customer=CustomerFactory(country="AR"), tier="gold").customer
        gold_br = LoyaltyAccountFactory(customer=CustomerFactory(country="BR"), tier="gold").customer
        silver_ar = LoyaltyAccountFactory(customer=CustomerFactory(country="AR"), tier="silver").customer
        CustomerFactory(country="AR")
        partner = services.partner_create(actor=ACTOR, values={"name": "Café A", "slug": "cafe-a"})
        other = services.partner_create(actor=ACTOR, values={"name": "Books B", "slug": "books-b"})
    return {"gold_ar": gold_ar, "gold_br": gold_br, "silver_ar": silver_ar, "partner": partner, "other": other}


def _body(**values):
    now = timezone.now()
    return {"name": "Gold coffee", "partner": "cafe-a", "status": "active", "tiers": ["gold"], "kind": "percent",
            "value": "20", "validity_days": 10, "budget": 100, "starts_at": (now - datetime.timedelta(hours=1))
            .isoformat(), "ends_at": (now + datetime.timedelta(days=7)).isoformat(), **values}


def test_an_offer_issues_one_voucher_to_each_matching_member(world, people, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    created = post(manager, "/api/v1/loyalty/offers/", _body(audience={"country": "AR"}))
    assert created.status_code == 201, created.json()
    offer_id = created.json()["id"]
    # when it is issued: gold members in Argentina only
    first = post(manager, f"/api/v1/loyalty/offers/{offer_id}/issue/")
    assert first.json() == {"issued": 1, "remaining": 99}
    with tenant_context(world.alpha):
        voucher = Voucher.objects.get(offer_id=offer_id)
    assert (voucher.customer_id, voucher.partner_id, voucher.origin, voucher.kind, voucher.value) == (
        people["gold_ar"].pk, people["partner"].pk, "offer", "percent", Decimal("20"))
    # issuing again gives nobody a second one
    assert post(manager, f"/api/v1/loyalty/offers/{offer_id}/issue/").json() == {"issued": 0, "remaining": 99}
    assert manager.get(f"/api/v1/loyalty/offers/{offer_id}/").json()["issued"] == 1


def test_the_budget_caps_the_vouchers(world, people, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    offer_id = post(manager, "/api/v1/loyalty/offers/", _body(tiers=[], budget=2)).json()["id"]
    assert post(manager, f"/api/v1/loyalty/offers/{offer_id}/issue/").json() == {"issued": 2, "remaining": 0}
    assert post(manager, f"/api/v1/loyalty/offers/{offer_id}/issue/").json() == {"issued": 0, "remaining": 0}
    with tenant_context(world.alpha):
        # the oldest members first; the customer without an account is never a target
        assert sorted(Voucher.objects.filter(offer_id=offer_id).values_list("customer_id", flat=True)) == sorted(
            [people["gold_ar"].pk, people["gold_br"].pk])


def test_only_a_running_offer_issues(world, people, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    draft = post(manager, "/api/v1/loyalty/offers/", _body(status="draft")).json()["id"]
    refused = post(manager, f"/api/v1/loyalty/offers/{draft}/issue/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "offer_inactive"
    later = timezone.now() + datetime.timedelta(days=1)
    future = post(manager, "/api/v1/loyalty/offers/", _body(starts_at=later.isoformat(),
                                                            ends_at=(later + datetime.timedelta(days=1)).isoformat()))
    assert post(manager, f"/api/v1/loyalty/offers/{future.json()['id']}/issue/").status_code == 409


@pytest.mark.parametrize("values, field", [
    ({"audience": {"no_such_filter": "1"}}, "audience"),
    ({"audience": {"q": "ana"}}, "audience"),
    ({"audience": {"spent_min": "lots"}}, "audience.spent_min"),
    ({"tiers": ["diamond"]}, "tiers"),
    ({"value": "0"}, "value"),
    ({"kind": "percent", "value": "120"}, "value"),
    ({"ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
    ({"partner": "nowhere"}, "partner"),
])
def test_a_bad_offer_is_a_field_error(world, people, alpha_client, values, field):
    response = post(alpha_client(world.user("alpha_admin")), "/api/v1/loyalty/offers/", _body(**values))
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]


def test_lower_roles_do_not_create_or_issue_offers(world, people, alpha_client):
    offer_id = post(alpha_client(world.user("alpha_admin")), "/api/v1/loyalty/offers/", _body()).json()["id"]
    analyst = alpha_client(world.user("alpha_analyst"))
    assert post(analyst, "/api/v1/loyalty/offers/", _body()).status_code == 403
    assert post(analyst, f"/api/v1/loyalty/offers/{offer_id}/issue/").status_code == 403
    assert analyst.get("/api/v1/loyalty/offers/").status_code == 200


def test_a_partner_key_sees_and_issues_only_its_partner_s_offers(world, people, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    own = post(manager, "/api/v1/loyalty/offers/", _body()).json()["id"]
    foreign = post(manager, "/api/v1/loyalty/offers/", _body(partner="books-b")).json()["id"]
    issued = api_key_create(tenant=world.alpha, name="till", scopes=["read", "write", "loyalty"], actor=ACTOR)
    with tenant_context(world.alpha):
        services.partner_key_bind(partner_id=people["partner"].pk, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    key = api_client("alpha.localhost", issued.key)
    assert [row["id"] for row in key.get("/api/v1/loyalty/offers/").json()["results"]] == [own]
    assert key.get(f"/api/v1/loyalty/offers/{foreign}/").status_code == 404
    assert post(key, f"/api/v1/loyalty/offers/{foreign}/issue/").status_code == 404
    assert post(key, f"/api/v1/loyalty/offers/{own}/issue/").status_code == 200
    assert post(key, "/api/v1/loyalty/offers/", _body()).status_code == 403


def test_the_offer_admin_saves_through_the_service_and_issues(world, people, alpha_client):
    client = alpha_client(world.user("alpha_owner"))
    now = timezone.now()
    form = {"name": "Admin offer", "description": "", "partner": people["partner"].pk, "status": "active",
            "tiers": '["silver"]', "audience": "{}", "kind": "fixed_amount", "value": "5", "item_name": "",
            "min_spend": "0", "validity_days": "30", "budget": "10",
            "starts_at_0": (now - datetime.timedelta(days=1)).strftime("%Y-%m-%d"), "starts_at_1": "00:00:00",
            "ends_at_0": (now + datetime.timedelta(days=5)).strftime("%Y-%m-%d"), "ends_at_1": "00:00:00"}
    assert client.post("/admin/loyalty/offer/add/", form).status_code == 302
    bad = client.post("/admin/loyalty/offer/add/", {**form, "tiers": '["diamond"]'})
    assert bad.status_code == 200 and bad.context["adminform"].form.errors
    with tenant_context(world.alpha):
        offer_id = Offer.objects.get(name="Admin offer").pk
    response = client.post("/admin/loyalty/offer/", {"action": "issue_offers", "_selected_action": [offer_id]},
                           follow=True)
    assert "1 offer(s) issued" in response.content.decode()
    with tenant_context(world.alpha):
        assert list(Voucher.objects.filter(offer_id=offer_id).values_list("customer_id", flat=True)) == [
            people["silver_ar"].pk]

"""Referrals (issue #15 item 6): a member's code; a new customer whose first counted order carries
it is recorded as referred and both get the program's reward, once; self-referrals and referrals
over the monthly cap are held for review, which staff decide."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Order
from customers.services.normalize import phone_normalize
from loyalty import services
from loyalty.models import LoyaltyAccount, LoyaltyTransaction, Referral
from loyalty.tasks import loyalty_orders_sync_task
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory, order_record

ACTOR = Actor.system("tests")


def post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


def _balance(customer_id) -> int:
    account = LoyaltyAccount.objects.filter(customer_id=customer_id).first()
    return account.points_balance if account else 0


@pytest.fixture
def program(world):
    with tenant_context(world.alpha):
        services.loyalty_program_update(actor=ACTOR, values={
            "points_per_currency_unit": 0, "referral_referrer_points": 100, "referral_referred_points": 50,
            "referral_monthly_cap": 2})


@pytest.fixture
def member(world):
    with tenant_context(world.alpha):
        return CustomerFactory(email="member@example.com", phone=phone_normalize("+54 9 11 0000-0001", "AR"))


@pytest.fixture
def buy(world, ingest):
    """``buy(n, code=...)``: ingest order ``n`` of person ``n`` (today, completed) and run the order task."""

    def run(n, code=None, person=None, **customer):
        record = order_record(n, person, order_date=timezone.now().isoformat(), customer=customer)
        if code is not None:
            record["referral_code"] = code
        ingest([record])
        with tenant_context(world.alpha):
            order = Order.objects.get(source="vtex", external_order_id=f"o-{n}")
            loyalty_orders_sync_task(id_ranges=[[order.pk, order.pk]])
        return order

    return run


def test_the_referral_code_is_issued_once(world, member, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    first = post(client, f"/api/v1/customers/{member.pk}/loyalty/referral-code/")
    second = post(client, f"/api/v1/customers/{member.pk}/loyalty/referral-code/")
    assert (first.status_code, second.status_code) == (201, 200)
    assert len(first.json()["code"]) == 8 and second.json()["code"] == first.json()["code"]
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert post(reader, f"/api/v1/customers/{member.pk}/loyalty/referral-code/").status_code == 403


def test_a_first_counted_order_with_a_code_rewards_both_once(world, program, member, buy):
    with tenant_context(world.alpha):
        code, _ = services.referral_code_issue(customer_id=member.pk, actor=ACTOR)
    order = buy(1, code=code.code.lower())
    buy(2, code=code.code, person=1)  # the same customer's second order: not a first purchase
    with tenant_context(world.alpha):
        services.loyalty_orders_settle(order_ids=[order.pk])  # a retry changes nothing
        referral = Referral.objects.get()
        assert (referral.referrer_id, referral.referred_id, referral.status) == (member.pk, order.customer_id,
                                                                                 "rewarded")
        assert _balance(member.pk) == 100 and _balance(order.customer_id) == 50
        assert LoyaltyTransaction.objects.filter(reference=f"referral:{referral.pk}").count() == 2


def test_only_the_first_counted_order_refers(world, program, member, buy):
    with tenant_context(world.alpha):
        code, _ = services.referral_code_issue(customer_id=member.pk, actor=ACTOR)
    buy(1)  # a purchase without the code first
    buy(2, code=code.code, person=1)
    with tenant_context(world.alpha):
        assert not Referral.objects.exists() and _balance(member.pk) == 0


def test_self_referral_is_held_for_review_and_staff_decide(world, program, member, buy, alpha_client, api_key):
    with tenant_context(world.alpha):
        code, _ = services.referral_code_issue(customer_id=member.pk, actor=ACTOR)
    order = buy(1, code=code.code, phone="+54 9 11 0000-0001")  # the member's phone on a new profile
    with tenant_context(world.alpha):
        referral = Referral.objects.get()
        assert (referral.status, referral.reason) == ("review", "self_referral")
        assert _balance(member.pk) == 0 and _balance(order.customer_id) == 0
    url = f"/api/v1/loyalty/referrals/{referral.pk}/review/"
    held = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"])).get(
        "/api/v1/loyalty/referrals/?status=review").json()
    assert [row["id"] for row in held["results"]] == [referral.pk]
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, url, {"approve": True}).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), url, {"approve": True}).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    approved = post(admin, url, {"approve": True})
    assert approved.status_code == 200 and approved.json()["status"] == "rewarded"
    again = post(admin, url, {"approve": False})
    assert again.status_code == 409 and again.json()["error"]["code"] == "referral_not_in_review"
    with tenant_context(world.alpha):
        assert _balance(member.pk) == 100 and _balance(order.customer_id) == 50


def test_referrals_over_the_monthly_cap_wait_for_review(world, program, member, buy):
    with tenant_context(world.alpha):
        code, _ = services.referral_code_issue(customer_id=member.pk, actor=ACTOR)
    for n in (1, 2, 3):
        buy(n, code=code.code)
    with tenant_context(world.alpha):
        assert list(Referral.objects.order_by("id").values_list("status", "reason")) == [
            ("rewarded", ""), ("rewarded", ""), ("review", "monthly_cap")]
        assert _balance(member.pk) == 200


def test_an_unknown_code_refers_nobody(world, program, buy):
    buy(1, code="NOSUCHCODE")
    with tenant_context(world.alpha):
        assert not Referral.objects.exists()


def test_a_partner_key_does_not_see_referrals(world, program):
    with tenant_context(world.alpha):
        partner = services.partner_create(actor=ACTOR, values={"name": "A", "slug": "a"})
    issued = api_key_create(tenant=world.alpha, name="till", scopes=["read", "write"], actor=ACTOR)
    with tenant_context(world.alpha):
        services.partner_key_bind(partner_id=partner.pk, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    assert api_client("alpha.localhost", issued.key).get("/api/v1/loyalty/referrals/").status_code == 403

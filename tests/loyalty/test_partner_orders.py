"""Purchases at partners (issue #15 item 2): the order's canonical ``partner``, order ids unique per
partner, the partner's earn multiplier and funding share on the points, the monthly partner
settlement (API and admin), and partner-bound keys fenced on the ingest and every other endpoint."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Order
from loyalty import services
from loyalty.models import LoyaltyTransaction, PartnerSettlement, Voucher
from loyalty.tasks import loyalty_orders_sync_task
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import order_record

ACTOR = Actor.system("tests")
#: One purchase time for the whole module: a record sent again is the same record.
NOW = timezone.now().replace(microsecond=0)


def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def partners(world):
    with tenant_context(world.alpha):
        services.loyalty_program_update(actor=ACTOR, values={"points_per_currency_unit": Decimal("1"),
                                                             "point_value": Decimal("0.10")})
        a = services.partner_create(actor=ACTOR, values={"name": "Café A", "slug": "cafe-a",
                                                         "earn_multiplier": Decimal("2"),
                                                         "funding_share": Decimal("40")})
        b = services.partner_create(actor=ACTOR, values={"name": "Books B", "slug": "books-b"})
    return {"a": a, "b": b}


def _bound_key(world, partner, scopes=("read", "write", "unmask", "sensitive")) -> str:
    issued = api_key_create(tenant=world.alpha, name=f"{partner.slug} till", scopes=list(scopes), actor=ACTOR)
    with tenant_context(world.alpha):
        services.partner_key_bind(partner_id=partner.pk, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    return issued.key


def _sync(world, *orders):
    with tenant_context(world.alpha):
        loyalty_orders_sync_task(id_ranges=[[order.pk, order.pk] for order in orders])


def _record(n, partner, amount="100.00", person=1, **extra):
    record = order_record(n, person, order_date=NOW.isoformat(), partner=partner, total_amount=amount,
                          items=..., **extra)
    return record


# --- the canonical column and per-partner uniqueness -----------------------------------------------

def test_order_ids_are_unique_per_partner_and_the_partner_is_a_column(world, partners, ingest):
    # given two partners' tills that both number their sales from 1
    result = ingest([_record(1, "cafe-a"), _record(1, "Books-B"), _record(1, None)])
    assert [r.status for r in result.results] == ["created", "created", "created"]
    with tenant_context(world.alpha):
        orders = Order.objects.filter(source="vtex", external_order_id="o-1")
        assert sorted(orders.values_list("partner", flat=True)) == ["", "books-b", "cafe-a"]
    # when the same sale is sent again it is the same order
    again = ingest([_record(1, "cafe-a"), _record(1, "cafe-a", amount="120.00")])
    assert again.results[1].errors == {"external_order_id": ["Same order as record 0 of this batch."]}
    assert again.results[0].status == "unchanged"
    assert ingest([_record(1, "cafe-a", amount="120.00")]).results[0].status == "updated"
    with tenant_context(world.alpha):
        assert Order.objects.filter(source="vtex", external_order_id="o-1").count() == 3


def test_a_partner_that_is_not_a_slug_is_a_field_error(ingest):
    result = ingest([_record(1, "Café A!")])
    assert result.results[0].status == "rejected"
    assert list(result.results[0].errors) == ["partner"]


def test_orders_api_shows_and_filters_by_partner(world, partners, ingest, alpha_client):
    ingest([_record(1, "cafe-a"), _record(2, None)])
    rows = alpha_client(world.user("alpha_admin")).get("/api/v1/orders/?partner=cafe-a").json()["results"]
    assert [(row["external_order_id"], row["partner"]) for row in rows] == [("o-1", "cafe-a")]


# --- the partner's earning rules ---------------------------------------------------------------------

def test_a_purchase_at_a_partner_earns_its_multiplier_and_it_funds_its_share(world, partners, ingest):
    ingest([_record(1, "cafe-a", amount="100.00"), _record(2, "books-b", amount="100.00"),
            _record(3, None, amount="100.00")])
    with tenant_context(world.alpha):
        orders = {o.external_order_id: o for o in Order.objects.filter(external_order_id__in=["o-1", "o-2", "o-3"])}
    _sync(world, *orders.values())
    with tenant_context(world.alpha):
        earns = {e.order.external_order_id: e for e in LoyaltyTransaction.objects.filter(type="earn")
                 .select_related("order")}
    # bronze multiplier 1 × rate 1 × partner multiplier 2 = 200 points, 40 % funded by the partner
    assert (earns["o-1"].points, earns["o-1"].partner_id, earns["o-1"].partner_funded) == (200, partners["a"].pk, 80)
    assert earns["o-1"].metadata["partner"] == "cafe-a"
    # a partner funding 100 % (the default) with multiplier 1
    assert (earns["o-2"].points, earns["o-2"].partner_funded) == (100, 100)
    # no partner: the program's rules, no funding
    assert (earns["o-3"].points, earns["o-3"].partner_id, earns["o-3"].partner_funded) == (100, None, 0)


def test_a_reversed_partner_order_gives_back_its_funding(world, partners, ingest):
    ingest([_record(1, "cafe-a", amount="100.00")])
    with tenant_context(world.alpha):
        order = Order.objects.get(external_order_id="o-1")
    _sync(world, order)
    ingest([_record(1, "cafe-a", amount="100.00", status="refunded")])
    _sync(world, order)
    with tenant_context(world.alpha):
        entries = LoyaltyTransaction.objects.filter(order=order).order_by("id")
        assert [(e.type, e.points, e.partner_funded) for e in entries] == [("earn", 200, 80), ("adjust", -200, -80)]


# --- the settlement -----------------------------------------------------------------------------------

def test_the_monthly_settlement_nets_funded_against_redeemed_points(world, partners, ingest, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    # given a purchase at A (200 points, 80 funded by A) and at B (100 points, all funded by B)
    ingest([_record(1, "cafe-a", amount="100.00"), _record(2, "books-b", amount="100.00")])
    with tenant_context(world.alpha):
        orders = list(Order.objects.filter(external_order_id__in=["o-1", "o-2"]))
    _sync(world, *orders)
    with tenant_context(world.alpha):
        customer_id = orders[0].customer_id
        # the member redeems 150 points on a reward valid at A, 50 on one valid anywhere used at B
        at_a = services.reward_create(actor=ACTOR, values={"name": "A", "points_cost": 150, "kind": "fixed_amount",
                                                           "value": Decimal("5"), "partner_id": partners["a"].pk})
        anywhere = services.reward_create(actor=ACTOR, values={"name": "Any", "points_cost": 50,
                                                               "kind": "fixed_amount", "value": Decimal("2")})
        services.reward_redeem(reward_id=at_a.pk, customer_id=customer_id, actor=ACTOR)
        redemption, _ = services.reward_redeem(reward_id=anywhere.pk, customer_id=customer_id, actor=ACTOR)
        services.voucher_use(code=redemption.voucher.code, amount=Decimal("10"), partner_id=partners["b"].pk,
                             actor=ACTOR)
    # when the month is computed through the API
    month = timezone.localdate().strftime("%Y-%m")
    response = post(manager, "/api/v1/loyalty/settlements/compute/", {"period": month})
    assert response.status_code == 201, response.json()
    rows = {row["partner"]: row for row in response.json()}
    # then A funded 80 and had 150 redeemed at it: the program owes A 70 points (7.00 at 0.10)
    assert (rows["cafe-a"]["points_earned"], rows["cafe-a"]["points_funded"], rows["cafe-a"]["points_redeemed"],
            rows["cafe-a"]["net_points"], rows["cafe-a"]["amount"]) == (200, 80, 150, -70, "-7.00")
    # B funded 100 and had 50 redeemed at it: it owes the program 50 points (5.00)
    assert (rows["books-b"]["points_funded"], rows["books-b"]["points_redeemed"], rows["books-b"]["net_points"],
            rows["books-b"]["amount"]) == (100, 50, 50, "5.00")
    # idempotent: computing again keeps one statement per partner and month
    assert post(manager, "/api/v1/loyalty/settlements/compute/", {"period": month}).status_code == 201
    with tenant_context(world.alpha):
        assert PartnerSettlement.objects.count() == 2
    listed = manager.get(f"/api/v1/loyalty/settlements/?period={month}&partner=cafe-a").json()
    assert [row["net_points"] for row in listed["results"]] == [-70]


def test_settlement_input_errors_and_capability(world, partners, alpha_client):
    manager = alpha_client(world.user("alpha_admin"))
    assert post(manager, "/api/v1/loyalty/settlements/compute/", {"period": "2026-13"}).status_code == 400
    future = (timezone.localdate() + datetime.timedelta(days=70)).strftime("%Y-%m")
    refused = post(manager, "/api/v1/loyalty/settlements/compute/", {"period": future})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "settlement_invalid"
    assert manager.get("/api/v1/loyalty/settlements/?period=nope").status_code == 400
    # an analyst (no loyalty capability) reads but does not compute
    analyst = alpha_client(world.user("alpha_analyst"))
    month = timezone.localdate().strftime("%Y-%m")
    assert post(analyst, "/api/v1/loyalty/settlements/compute/", {"period": month}).status_code == 403
    assert analyst.get("/api/v1/loyalty/settlements/").status_code == 200


def test_a_partner_key_reads_only_its_partner_s_statements_and_computes_none(world, partners):
    with tenant_context(world.alpha):
        services.partner_settlements_compute(period=timezone.localdate(), actor=ACTOR)
    key_a = api_client("alpha.localhost", _bound_key(world, partners["a"], scopes=("read", "write", "loyalty")))
    rows = key_a.get("/api/v1/loyalty/settlements/").json()["results"]
    assert [row["partner"] for row in rows] == ["cafe-a"]
    assert post(key_a, "/api/v1/loyalty/settlements/compute/",
                {"period": timezone.localdate().strftime("%Y-%m")}).status_code == 403


def test_the_nightly_refresh_writes_this_and_last_month(world, partners):
    with tenant_context(world.alpha):
        assert services.partner_settlements_refresh() == 4
        assert services.partner_settlements_refresh() == 4
        assert PartnerSettlement.objects.count() == 4


def test_the_settlement_admin_lists_and_recomputes(world, partners, alpha_client):
    staff_admin_client = alpha_client(world.user("alpha_owner"))
    with tenant_context(world.alpha):
        statement = services.partner_settlements_compute(period=timezone.localdate(), actor=ACTOR)[0]
    url = "/admin/loyalty/partnersettlement/"
    assert staff_admin_client.get(url).status_code == 200
    assert staff_admin_client.get(f"{url}{statement.pk}/change/").status_code == 200
    response = staff_admin_client.post(url, {"action": "recompute_settlements", "_selected_action": [statement.pk]},
                                       follow=True)
    assert "1 statement(s) recomputed" in response.content.decode()


# --- partner-bound keys: the fence ------------------------------------------------------------------

def test_a_partner_key_ingests_only_its_partner_s_orders(world, partners):
    key_a = api_client("alpha.localhost", _bound_key(world, partners["a"]))
    response = post(key_a, "/api/v1/orders/ingest/", {"orders": [
        _record(1, None), _record(2, "cafe-a"), _record(3, "books-b")]})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "rejected"]
    assert list(results[2]["errors"]) == ["partner"]
    with tenant_context(world.alpha):
        assert set(Order.objects.values_list("partner", flat=True)) == {"cafe-a"}


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/orders/", "/api/v1/loyalty/referrals/",
                                  "/api/v1/loyalty/cross-promo-chains/", "/api/v1/loyalty/tiers/"])
def test_a_partner_key_is_fenced_out_of_program_wide_endpoints(world, partners, api_key, path):
    key_a = api_client("alpha.localhost", _bound_key(world, partners["a"]))
    unbound = api_client("alpha.localhost", api_key(world.alpha))
    assert key_a.get(path).status_code == 403
    assert unbound.get(path).status_code == 200


def test_a_partner_key_cannot_read_a_customer_s_points_or_another_partner_s_vouchers(world, partners, ingest):
    ingest([_record(1, "books-b")])
    with tenant_context(world.alpha):
        order = Order.objects.get(external_order_id="o-1")
        services.loyalty_points_bonus(customer_id=order.customer_id, points=100, reason="t", actor=ACTOR)
        reward_b = services.reward_create(actor=ACTOR, values={"name": "B", "points_cost": 10, "kind": "fixed_amount",
                                                               "value": Decimal("1"), "partner_id": partners["b"].pk})
        redemption, _ = services.reward_redeem(reward_id=reward_b.pk, customer_id=order.customer_id, actor=ACTOR)
    key_a = api_client("alpha.localhost", _bound_key(world, partners["a"]))
    assert key_a.get(f"/api/v1/customers/{order.customer_id}/loyalty/").status_code == 403
    assert key_a.get(f"/api/v1/customers/{order.customer_id}/").status_code == 403
    assert key_a.get(f"/api/v1/orders/{order.pk}/").status_code == 403
    assert key_a.get(f"/api/v1/loyalty/vouchers/{redemption.voucher_id}/").status_code == 404
    assert key_a.get(f"/api/v1/loyalty/redemptions/{redemption.pk}/").status_code == 404
    with tenant_context(world.alpha):
        assert Voucher.objects.filter(pk=redemption.voucher_id).exists()

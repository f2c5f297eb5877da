"""Cross-promotion and the Win-Win matrix (issue #15 item 5), end to end through the ingest: a
purchase at partner A issues a voucher for partner B; an order at B carrying its code redeems it
(once; a refused code leaves the order standing); the matrix shows one trigger and one conversion."""

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
from loyalty.models import Voucher
from loyalty.tasks import loyalty_orders_sync_task
from tests.conftest import api_client
from tests.customers.factories import order_record

ACTOR = Actor.system("tests")


def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def chain(world):
    with tenant_context(world.alpha):
        a = services.partner_create(actor=ACTOR, values={"name": "Café A", "slug": "cafe-a"})
        b = services.partner_create(actor=ACTOR, values={"name": "Books B", "slug": "books-b"})
        return services.chain_create(actor=ACTOR, values={
            "name": "Coffee to books", "source_partner_id": a.pk, "target_partner_id": b.pk,
            "min_amount": Decimal("1000"), "kind": "percent", "value": Decimal("15"), "validity_days": 14})


@pytest.fixture
def buy(world, ingest):
    def run(n, partner, amount="1500.50", person=1, **extra):
        record = order_record(n, person, order_date=timezone.now().isoformat(), partner=partner,
                              total_amount=amount, **extra)
        record["items"][0]["unit_price"] = str(Decimal(amount) / 2)
        ingest([record])
        with tenant_context(world.alpha):
            order = Order.objects.get(source="vtex", external_order_id=f"o-{n}")
            loyalty_orders_sync_task(id_ranges=[[order.pk, order.pk]])
            loyalty_orders_sync_task(id_ranges=[[order.pk, order.pk]])  # a redelivered message
        return order

    return run


def test_a_purchase_at_a_issues_a_voucher_at_b_redeemed_by_an_order_at_b_and_the_matrix_counts_it(
        world, chain, buy, alpha_client):
    first = buy(1, "cafe-a")
    buy(2, "cafe-a", amount="999.00")  # under the chain's minimum
    with tenant_context(world.alpha):
        voucher = Voucher.objects.get(chain=chain)
        assert (voucher.customer_id, voucher.partner.slug, voucher.origin, voucher.source_order_id) == (
            first.customer_id, "books-b", "cross_promo", first.pk)
        assert voucher.valid_until - voucher.valid_from == datetime.timedelta(days=14)

    buy(3, "books-b", voucher_code=voucher.code.lower())

    with tenant_context(world.alpha):
        voucher.refresh_from_db()
        assert voucher.status == "redeemed" and voucher.redeemed_partner.slug == "books-b"
    analyst = alpha_client(world.user("alpha_analyst"))
    matrix = analyst.get("/api/v1/analytics/cross-promo-matrix/")
    assert matrix.status_code == 200
    assert matrix.json() == [{"source_partner": "cafe-a", "target_partner": "books-b", "triggers": 1,
                              "conversions": 1, "conversion_rate": "1.0000"}]
    # dates are the tenant's (Buenos Aires): two days back is before today wherever the test runs
    # (one day back from UTC's date is still today there between 00:00 and 03:00 UTC)
    before = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()
    assert analyst.get("/api/v1/analytics/cross-promo-matrix/", {"until": before}).json() == []
    assert analyst.get("/api/v1/analytics/cross-promo-matrix/", {"since": "2030-01-02",
                                                                  "until": "2030-01-01"}).status_code == 400


def test_a_refused_voucher_code_leaves_the_order_standing(world, chain, buy):
    buy(1, "cafe-a")
    with tenant_context(world.alpha):
        voucher = Voucher.objects.get(chain=chain)
    order = buy(2, "cafe-a", person=2, voucher_code=voucher.code)  # at the wrong partner
    with tenant_context(world.alpha):
        assert Order.objects.filter(pk=order.pk).exists()
        voucher.refresh_from_db()
        assert voucher.status == "issued"


def test_the_matrix_takes_the_analytics_capability(world, chain, alpha_client, api_key):
    assert alpha_client(world.user("alpha_viewer")).get("/api/v1/analytics/cross-promo-matrix/").status_code == 403
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert reader.get("/api/v1/analytics/cross-promo-matrix/").status_code == 403


def test_chains_are_managed_with_the_loyalty_capability(world, chain, alpha_client, api_key):
    body = {"name": "Books to coffee", "source_partner": "books-b", "target_partner": "cafe-a",
            "kind": "fixed_amount", "value": "5"}
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, "/api/v1/loyalty/cross-promo-chains/", body).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), "/api/v1/loyalty/cross-promo-chains/",
                body).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    assert post(admin, "/api/v1/loyalty/cross-promo-chains/", body).status_code == 201
    loop = post(admin, "/api/v1/loyalty/cross-promo-chains/", {**body, "target_partner": "books-b"})
    assert loop.status_code == 400 and loop.json()["error"]["code"] == "chain_invalid"

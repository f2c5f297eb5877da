"""Lists that stay fast at scale (issue #18 item 3): cursor pages on a stable order, and counts
that are exact below ``CDP_EXACT_COUNT_LIMIT`` and the planner's estimate above it, in the API,
the portal and the admin."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.pagination import EstimatedCountPaginator, bounded_count, estimated_count
from customers.models import Order
from integrations.models import WebhookDelivery
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory, OrderFactory
from tests.integrations.factories import WebhookDeliveryFactory, WebhookEndpointFactory


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


@pytest.fixture
def orders(world):
    """Seven orders of one customer, three of them at the same instant (ties the id must break)."""
    same = timezone.now() - datetime.timedelta(days=1)
    with tenant_context(world.alpha):
        customer = CustomerFactory()
        made = [OrderFactory(customer=customer, order_date=same) for _ in range(3)]
        made += [OrderFactory(customer=customer, order_date=same - datetime.timedelta(hours=n)) for n in range(1, 5)]
        return made


def _all_pages(client, url):
    ids, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body  # cursors never count
        ids += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    return ids, pages


def test_cursor_pages_walk_every_order_once_in_the_list_s_order(world, alpha_api, orders):
    # given the order list in page-number mode (every row on one page)
    expected = [row["id"] for row in alpha_api.get("/api/v1/orders/?page_size=500").json()["results"]]
    assert set(expected) >= {order.pk for order in orders}

    # when a client walks it with cursors, two rows a page
    ids, pages = _all_pages(alpha_api, "/api/v1/orders/?cursor=&page_size=2")

    # then it sees every row once, in the same order (ties on order_date broken by id)
    assert ids == expected and len(ids) == len(set(ids))
    assert pages == (len(expected) + 1) // 2


def test_cursor_pages_go_back_with_previous_and_follow_ordering(world, alpha_api, orders):
    first = alpha_api.get("/api/v1/orders/?cursor=&page_size=3&ordering=total_amount").json()
    second = alpha_api.get(first["next"]).json()
    back = alpha_api.get(second["previous"]).json()
    assert first["previous"] is None
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    amounts = [row["total_amount"] for row in first["results"] + second["results"]]
    assert amounts == sorted(amounts, key=float)


def test_cursor_pages_refuse_an_order_that_starts_with_a_field_that_may_be_empty(world, alpha_api, orders):
    response = alpha_api.get("/api/v1/customers/?cursor=&ordering=last_purchase_at")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["ordering"][0]
    assert "last_purchase_at" in message and "created_at" in message



def _cursor(*key) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": list(key), "r": 0}).encode()).decode()


def test_a_bad_cursor_is_a_404_not_a_500(world, alpha_api, orders):
    assert alpha_api.get("/api/v1/orders/?cursor=not-a-cursor").status_code == 404
    # keys made up by hand: not a date, an id past a bigint, an amount past the column, too short
    for url in (f"/api/v1/orders/?cursor={_cursor('yesterday', 1)}",
                f"/api/v1/customers/?cursor={_cursor('9' * 30)}",
                f"/api/v1/orders/?ordering=total_amount&cursor={_cursor('1e999999', 1)}",
                f"/api/v1/orders/?cursor={_cursor('2026-01-01T00:00:00+00:00')}"):
        response = alpha_api.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert response.json()["error"]["message"] == "Invalid cursor"


def test_a_cursor_keeps_microseconds_and_ties(world, alpha_api, orders):
    # the three orders at one instant come on three pages, once each, and the walk back finds them
    ids, _pages = _all_pages(alpha_api, "/api/v1/orders/?cursor=&page_size=1")
    assert ids[:3] == sorted((order.pk for order in orders[:3]), reverse=True)
    last = alpha_api.get("/api/v1/orders/?cursor=&page_size=1")
    for _ in range(2):
        last = alpha_api.get(last.json()["next"])
    back = alpha_api.get(last.json()["previous"]).json()
    assert [row["id"] for row in back["results"]] == [ids[1]]


def test_customers_and_webhook_deliveries_page_by_cursor_too(world, alpha_api, api_key, orders):
    ids, _pages = _all_pages(alpha_api, "/api/v1/customers/?cursor=&page_size=1")
    assert ids == [row["id"] for row in alpha_api.get("/api/v1/customers/?page_size=500").json()["results"]]

    # the event log of an endpoint: order.ingested deliveries, newest first, two of them at one instant
    with tenant_context(world.alpha):
        endpoint = WebhookEndpointFactory()
        at = timezone.now()
        made = [WebhookDeliveryFactory(endpoint=endpoint, event="order.ingested") for _ in range(5)]
        WebhookDelivery.objects.filter(pk__in=[made[0].pk, made[1].pk]).update(created_at=at)
    base = f"/api/v1/webhooks/{endpoint.pk}/deliveries/"
    manager = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "integrations"]))
    ids, pages = _all_pages(manager, f"{base}?cursor=&page_size=2")
    assert ids == [row["id"] for row in manager.get(f"{base}?page_size=500").json()["results"]]
    assert sorted(ids) == sorted(delivery.pk for delivery in made) and pages == 3


def test_page_numbers_keep_working_with_an_exact_count_below_the_limit(world, alpha_api, orders, settings):
    settings.CDP_EXACT_COUNT_LIMIT = 1_000_000
    body = alpha_api.get("/api/v1/orders/?page_size=2&page=2").json()
    with tenant_context(world.alpha):
        total = Order.objects.count()
    assert (body["count"], body["count_estimated"]) == (total, False)
    assert "page=3" in body["next"] and "page_size=2" in body["next"]


def test_page_numbers_answer_the_planner_s_estimate_above_the_limit(world, alpha_api, orders, settings):
    settings.CDP_EXACT_COUNT_LIMIT = 3
    body = alpha_api.get("/api/v1/orders/?page_size=2").json()
    assert body["count_estimated"] is True and body["count"] >= 3
    assert len(body["results"]) == 2


def test_bounded_count_trusts_a_high_estimate_and_counts_below_the_limit(world, orders, monkeypatch):
    from cdp import pagination

    with tenant_context(world.alpha):
        queryset = Order.objects.filter(customer=orders[0].customer)
        assert estimated_count(queryset) >= 1  # the planner's figure, no row read
        assert estimated_count(queryset.none()) == 0 and estimated_count(queryset.filter(pk__in=[])) == 0
        assert bounded_count(queryset.filter(pk__in=[])) == (0, False)
        # a high estimate is the answer, nothing counted
        monkeypatch.setattr(pagination, "estimated_count", lambda qs: 1_000_000)
        assert bounded_count(queryset, limit=5) == (1_000_000, True)
        # a low one (stale statistics) is checked by counting, at most limit + 1 rows
        monkeypatch.setattr(pagination, "estimated_count", lambda qs: 1)
        assert bounded_count(queryset, limit=7) == (7, False)
        assert bounded_count(queryset, limit=5) == (6, True)
        assert bounded_count(queryset.none(), limit=5) == (0, False)


def test_the_portal_and_the_admin_lists_use_the_bounded_count(world, alpha_client, orders, settings):
    settings.CDP_EXACT_COUNT_LIMIT = 2
    portal = alpha_client(world.user("alpha_owner")).get("/customers/")
    assert portal.status_code == 200
    assert isinstance(portal.context["page"].paginator, EstimatedCountPaginator)
    admin = alpha_client(world.user("alpha_owner")).get("/admin/customers/order/")
    assert admin.status_code == 200
    changelist = admin.context["cl"]
    assert isinstance(changelist.paginator, EstimatedCountPaginator)
    assert changelist.paginator.count_estimated is True


def test_the_portal_says_about_when_its_count_is_an_estimate(world, alpha_client, orders, settings):
    client = alpha_client(world.user("alpha_owner"))
    settings.CDP_EXACT_COUNT_LIMIT = 1_000_000
    exact = client.get("/customers/").content.decode()
    assert " in all" in exact and "about " not in exact
    settings.CDP_EXACT_COUNT_LIMIT = 1
    page = client.get("/customers/")
    assert page.context["page"].paginator.count_estimated is True
    assert "about " in page.content.decode()

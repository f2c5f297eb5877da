"""The loyalty program report (issue #15 item 9): members, activity, points issued, redeemed and
expired, redemption and breakage rates, liability, member vs non-member revenue and the partner
leaderboard, in the API and on a portal page with a chart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Order
from loyalty import services
from loyalty.hooks import loyalty_pending_flush
from loyalty.tasks import loyalty_orders_sync_task
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import order_record

ACTOR = Actor.system("tests")
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def program(world, ingest):
    """Alpha (1 point per peso, a point worth 0.10): a member who bought 100.00 at partner A (200 points with its x2) and
    redeemed 50; a non-member's 40.00 order (ingested while the program was switched off, so that
    it made no account)."""
    with tenant_context(world.alpha):
        services.loyalty_program_update(actor=ACTOR, values={"point_value": Decimal("0.10"),
                                                             "points_per_currency_unit": Decimal("1")})
        services.partner_create(actor=ACTOR, values={"name": "Café A", "slug": "cafe-a",
                                                     "earn_multiplier": Decimal("2")})
    ingest([order_record(1, 1, order_date=NOW.isoformat(), partner="cafe-a", total_amount="100.00", items=...)])
    with tenant_context(world.alpha):
        order = Order.objects.get(external_order_id="o-1")
        loyalty_orders_sync_task(id_ranges=[[order.pk, order.pk]])
        services.loyalty_points_redeem(customer_id=order.customer_id, points=50, actor=ACTOR)
        services.loyalty_program_update(actor=ACTOR, values={"is_active": False})
    ingest([order_record(2, 2, order_date=NOW.isoformat(), total_amount="40.00", items=...)])
    loyalty_pending_flush()  # the ingest hook's buffered orders are synced now, while the program is off
    with tenant_context(world.alpha):
        services.loyalty_program_update(actor=ACTOR, values={"is_active": True})


def test_the_program_report_in_the_api(world, program, alpha_client):
    response = alpha_client(world.user("alpha_analyst")).get("/api/v1/analytics/loyalty-program/")
    assert response.status_code == 200, response.json()
    report = response.json()
    assert (report["members"], report["active_members"]) == (1, 1)
    assert (report["points_issued"], report["points_redeemed"], report["points_expired"]) == (200, 50, 0)
    assert report["redemption_rate"] == "0.2500" and report["breakage_rate"] == "0.0000"
    assert (report["liability_points"], report["liability_amount"]) == (150, "15.00")
    assert (report["member_revenue"], report["non_member_revenue"]) == ("100.00", "40.00")
    assert report["partners"] == [{"partner": "cafe-a", "name": "Café A", "orders": 1, "revenue": "100.00",
                                   "points": 200}]
    assert report["months"][-1]["issued"] == 200 and report["months"][-1]["redeemed"] == 50


def test_the_report_s_period_is_checked(world, program, alpha_client):
    client = alpha_client(world.user("alpha_analyst"))
    assert client.get("/api/v1/analytics/loyalty-program/?since=2026-02-01&until=2026-01-01").status_code == 400
    assert client.get("/api/v1/analytics/loyalty-program/?since=nope").status_code == 400
    old = client.get("/api/v1/analytics/loyalty-program/?since=2020-01-01&until=2020-01-31").json()
    assert (old["points_issued"], old["member_revenue"], old["partners"]) == (0, "0.00", [])


def test_who_reads_the_report(world, program, alpha_client):
    assert alpha_client(world.user("alpha_viewer")).get("/api/v1/analytics/loyalty-program/").status_code == 403
    issued = api_key_create(tenant=world.alpha, name="till", scopes=["read", "analytics"], actor=ACTOR)
    with tenant_context(world.alpha):
        partner = services.partner_create(actor=ACTOR, values={"name": "B", "slug": "books-b"})
        services.partner_key_bind(partner_id=partner.pk, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    assert api_client("alpha.localhost", issued.key).get("/api/v1/analytics/loyalty-program/").status_code == 403


def test_the_program_page_shows_the_figures_and_the_chart(world, program, alpha_client):
    client = alpha_client(world.user("alpha_analyst"))
    page = client.get("/loyalty/program/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="points-issued">200<' in html and 'id="points-redeemed">50<' in html
    assert '<svg class="chart"' in html and "Café A" in html
    assert 'href="/loyalty/program/"' in client.get("/").content.decode()  # in the portal's navigation
    assert client.get("/loyalty/program/?since=2026-02-01&until=2026-01-01").status_code == 400
    assert alpha_client(world.user("alpha_viewer")).get("/loyalty/program/").status_code == 403

"""Ad spend becomes numbers: the Google and Meta spend that integrations sync, joined to counted
sales by UTM (per day, channel and campaign) and blended (all spend against all new customers and
revenue) into CAC and ROAS, in the KPIs, the API and the dashboard."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from analytics.models import AdPerformanceDaily, DailyKpi
from analytics.services import kpis_compute
from cdp.context import Actor
from customers.services import order_ingest
from integrations.services import integration_create
from integrations.services.raw import ad_spend_upsert

ACTOR = Actor.system("tests")
DAY = datetime.date(2025, 6, 10)


def _order(n, person, day, amount, *, source="", campaign="", status="paid"):
    return {"source": "vtex", "external_order_id": f"ad-{n}", "order_date": f"{day.isoformat()}T12:00:00-03:00",
            "status": status, "total_amount": str(amount), "utm_source": source, "utm_campaign": campaign,
            "customer": {"email": f"ads{person}@example.com"}}


@pytest.fixture
def advertised(world):
    """Two Google campaigns and one Meta campaign with spend on DAY; orders that day: two new
    customers from "search-yerba", one repeat customer from it, one new customer from Meta by the
    campaign's id, one Google order naming no known campaign, a pending order tagged for search
    (not a sale), and an untagged new customer (a marketplace order)."""
    with tenant_context(world.alpha):
        order_ingest(records=[_order(0, 3, DAY - datetime.timedelta(days=20), 100)], actor=ACTOR, tenant=world.alpha)
        order_ingest(records=[
            _order(1, 1, DAY, 1000, source="google", campaign="search-yerba"),
            _order(2, 2, DAY, 3000, source="Google", campaign="Search_Yerba"),
            _order(3, 3, DAY, 500, source="google", campaign="search-yerba"),
            _order(4, 4, DAY, 2000, source="instagram", campaign="23850000000001"),
            _order(5, 5, DAY, 700, source="google", campaign="brand-old"),
            _order(6, 6, DAY, 9000, source="google", campaign="search-yerba", status="pending"),
            _order(7, 7, DAY, 400),
        ], actor=ACTOR, tenant=world.alpha)
        google = integration_create(integration_type="google_ads", account_name="g", actor=ACTOR, is_active=False,
                                    credentials={"developer_token": "t", "access_token": "a"},
                                    config={"customer_id": "1234567890"})
        meta = integration_create(integration_type="facebook_ads", account_name="m", actor=ACTOR, is_active=False,
                                  credentials={"access_token": "a"}, config={"ad_account_id": "1234567890"})
        ad_spend_upsert(integration=google, currency="ARS", rows=[
            {"date": DAY.isoformat(), "campaign_id": "111", "campaign_name": "Search - Yerba", "channel": "google_ads",
             "spend": Decimal("600.00"), "clicks": 30, "impressions": 900},
            {"date": DAY.isoformat(), "campaign_id": "112", "campaign_name": "Shopping", "channel": "google_ads",
             "spend": Decimal("400.00"), "clicks": 10, "impressions": 300}])
        ad_spend_upsert(integration=meta, currency="ARS", rows=[
            {"date": DAY.isoformat(), "campaign_id": "23850000000001", "campaign_name": "Prospecting",
             "channel": "facebook_ads", "spend": Decimal("250.00"), "clicks": 5, "impressions": 1000}])
        # spend booked in another currency is left out rather than added to pesos
        ad_spend_upsert(integration=meta, currency="USD", rows=[
            {"date": DAY.isoformat(), "campaign_id": "999", "campaign_name": "Abroad", "channel": "facebook_ads",
             "spend": Decimal("90.00")}])
        summary = kpis_compute(tenant=world.alpha, as_of=DAY)
        yield summary


def test_spend_joins_counted_sales_by_campaign_into_cac_and_roas(world, advertised):
    assert advertised["spend_rows_other_currency"] == 1
    with tenant_context(world.alpha):
        rows = {(r.channel, r.campaign_id): r for r in AdPerformanceDaily.objects.filter(date=DAY)}
        search = rows[("google_ads", "111")]
        # two new customers and one returning one; the pending order is not a sale
        assert (search.spend, search.orders, search.revenue, search.new_customers) == (
            Decimal("600.00"), 3, Decimal("4500.00"), 2)
        assert (search.cac, search.roas) == (Decimal("300.00"), 7.5)
        shopping = rows[("google_ads", "112")]
        assert (shopping.orders, shopping.new_customers, shopping.cac, shopping.roas) == (0, 0, None, 0.0)
        meta = rows[("facebook_ads", "23850000000001")]  # matched by id, instagram is Meta
        assert (meta.new_customers, meta.cac, meta.roas) == (1, Decimal("250.00"), 8.0)
        unknown = rows[("google_ads", "")]  # a Google order whose campaign has no spend
        assert (unknown.spend, unknown.orders, unknown.cac, unknown.roas) == (Decimal("0.00"), 1, None, None)
        assert ("facebook_ads", "999") not in rows
        # blended, in the KPIs: all spend of the day against all its new customers and revenue
        kpi = DailyKpi.objects.get(date=DAY)
        assert kpi.ad_spend == Decimal("1250.00") and kpi.new_customers == 5
        assert (kpi.blended_cac, kpi.blended_roas) == (Decimal("250.00"), round(7600 / 1250, 4))


def test_api_lists_and_sums_the_figures_for_readers_only_of_this_tenant(world, advertised, alpha_client, beta_client):
    viewer = alpha_client(world.user("alpha_viewer"))
    listed = viewer.get("/api/v1/analytics/ad-performance/", {"channel": "google_ads", "start": DAY, "end": DAY})
    assert listed.status_code == 200
    assert {row["campaign_id"] for row in listed.json()["results"]} == {"111", "112", ""}
    summary = viewer.get("/api/v1/analytics/ad-performance/summary/", {"start": DAY, "end": DAY}).json()
    search = next(c for c in summary["campaigns"] if c["campaign_id"] == "111")
    assert (search["cac"], search["roas"]) == ("300.00", 7.5)
    assert summary["blended"]["cac"] == "250.00" and summary["blended"]["new_customers"] == 5
    kpi = viewer.get(f"/api/v1/analytics/kpis/{DAY.isoformat()}/").json()
    assert (kpi["ad_spend"], kpi["blended_cac"]) == ("1250.00", "250.00")
    bad = viewer.get("/api/v1/analytics/ad-performance/summary/", {"start": DAY, "end": DAY - datetime.timedelta(1)})
    assert bad.status_code == 400 and "start" in bad.json()["error"]["fields"]
    assert alpha_client(world.user("outsider")).get("/api/v1/analytics/ad-performance/").status_code == 403
    other = beta_client(world.user("beta_viewer")).get("/api/v1/analytics/ad-performance/")
    assert other.status_code == 200 and other.json()["results"] == []


def test_dashboard_shows_cac_and_roas(world, advertised, alpha_client):
    page = alpha_client(world.user("alpha_viewer")).get("/analytics/").content.decode()
    assert "Advertising: CAC and ROAS" in page and "Search - Yerba" in page
    assert "Blended CAC" in page

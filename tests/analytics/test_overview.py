"""The portal's overview (the tenant's home page): headline figures with their change against the
previous period, taken from the same selectors as the analytics page, each linking to the
customers behind it; a sensible page for a tenant with no data yet."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import translation
from django_tenants.utils import tenant_context

from analytics.models import CustomerChurn, CustomerClv
from analytics.selectors import dashboard_figures, overview_figures
from tests.analytics.factories import (
    AS_OF,
    CustomerChurnFactory,
    CustomerClvFactory,
    CustomerRfmFactory,
    DailyKpiFactory,
)
from tests.customers.factories import CustomerFactory

D = datetime.timedelta


def _sixty_days():
    # the last 30 days: 100.00 and 4 orders a day; the 30 before: 50.00 and 4 orders a day
    for days_ago in range(60):
        recent = days_ago < 30
        DailyKpiFactory(date=AS_OF - D(days=days_ago), revenue=Decimal("100.00") if recent else Decimal("50.00"),
                        orders=4, active_90=120 if days_ago == 0 else (100 if days_ago == 30 else 90))


def test_each_figure_has_its_change_against_the_previous_period(alpha):
    _sixty_days()
    figures = overview_figures(period_days=30)
    assert figures["as_of"] == AS_OF and figures["start"] == AS_OF - D(days=29)
    revenue, orders, average, active = (figures["figures"][name] for name in
                                        ("revenue", "orders", "average_order_value", "active_customers"))
    assert (revenue["value"], revenue["previous"], revenue["change"]) == (Decimal("3000.00"), Decimal("1500.00"), 1.0)
    assert (orders["value"], orders["previous"], orders["change"]) == (120, 120, 0.0)
    assert (average["value"], average["change"]) == (Decimal("25"), 1.0)
    assert (active["value"], active["previous"], active["change"]) == (120, 100, 0.2)


def test_the_overview_and_the_analytics_page_show_the_same_period_figures(alpha):
    _sixty_days()
    overview, page = overview_figures(period_days=30), dashboard_figures(tenant=alpha, period_days=30)
    assert overview["figures"]["revenue"]["value"] == page["revenue"]
    assert overview["figures"]["orders"]["value"] == page["orders"]
    assert overview["figures"]["average_order_value"]["value"] == page["average_order_value"]
    assert overview["figures"]["active_customers"]["value"] == page["latest"].active_90


def test_without_a_whole_previous_period_there_is_no_change_to_show(alpha):
    for days_ago in range(40):  # 30 days and only 10 before them
        DailyKpiFactory(date=AS_OF - D(days=days_ago), active_90=10)
    figures = overview_figures(period_days=30)["figures"]
    assert figures["revenue"]["change"] is None and figures["revenue"]["previous"] is None
    assert figures["active_customers"]["change"] is not None  # the day 30 days back exists


def test_distributions_and_clv_total(alpha):
    CustomerClvFactory(tier=CustomerClv.Tier.HIGH, total_clv=Decimal("700.00"))
    CustomerClvFactory(tier=CustomerClv.Tier.LOW, total_clv=Decimal("50.50"))
    CustomerChurnFactory.create_batch(2, band=CustomerChurn.Band.CHURNING)
    CustomerRfmFactory()
    figures = overview_figures()
    assert figures["clv_total"] == Decimal("750.50") and figures["clv_customers"] == 2
    assert figures["clv_tiers"] == [("high", 1), ("medium", 0), ("low", 1)]
    assert {b["band"]: b["customers"] for b in figures["churn_bands"]}["churning"] == 2
    assert [s["customers"] for s in figures["segments"] if s["segment"] == "champions"] == [1]


def test_the_overview_page_links_each_figure_to_its_customers(world, alpha_client):
    with tenant_context(world.alpha):
        _sixty_days()
        CustomerRfmFactory()
        CustomerChurnFactory(band=CustomerChurn.Band.AT_RISK)
        CustomerClvFactory(tier=CustomerClv.Tier.HIGH, total_clv=Decimal("1234567.50"))
    html = alpha_client(world.user("alpha_viewer")).get("/").content.decode()
    start = (AS_OF - D(days=29)).isoformat()
    assert f'href="/customers/?last_purchase_after={start}" data-figure="revenue"' in html
    assert "/customers/?rfm_segment=champions" in html and "/customers/?churn_band=at_risk" in html
    assert "/customers/?clv_tier=high" in html and "+100% vs previous period" in html
    assert 'data-overview-plan' in html  # the plan line (licensing's section)
    # the figures in the tenant's currency and the reader's separators
    with translation.override("es"):
        spanish = alpha_client(world.user("alpha_viewer")).get("/", HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 200


def test_a_new_tenant_sees_what_to_do_first(world, alpha_client):
    # alpha has no orders and no analytics run in this test
    viewer = alpha_client(world.user("alpha_viewer")).get("/").content.decode()
    assert "data-overview-empty" in viewer and "Ask an administrator to connect your store" in viewer
    assert "Connect your store" in alpha_client(world.user("alpha_admin")).get("/").content.decode()
    assert 'data-figure="revenue"' not in viewer
    with tenant_context(world.alpha):
        CustomerFactory()
    analyst = alpha_client(world.user("alpha_analyst")).get("/").content.decode()
    assert "no analytics run has scored them yet" in analyst and "Run analytics now" in analyst
    assert "Run analytics now" not in alpha_client(world.user("alpha_viewer")).get("/").content.decode()


def test_the_last_sync_is_shown_to_whom_may_open_integrations(world, alpha_client):
    assert "data-overview-sync" in alpha_client(world.user("alpha_admin")).get("/").content.decode()
    assert "data-overview-sync" not in alpha_client(world.user("alpha_viewer")).get("/").content.decode()

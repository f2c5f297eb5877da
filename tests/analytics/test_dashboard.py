"""The dashboard's read model (``analytics.selectors.dashboard_figures``): the figures are
computed there, and the page only draws them."""

from __future__ import annotations

import datetime
from decimal import Decimal

from analytics.models import CustomerChurn, CustomerClv
from analytics.selectors import CHURN_BAND_COLORS, dashboard_figures
from tests.analytics.factories import (
    AS_OF,
    CustomerChurnFactory,
    CustomerClvFactory,
    CustomerRfmFactory,
    DailyKpiFactory,
)


def test_the_period_figures_are_the_last_days_of_kpis(alpha):
    # given 40 days of KPIs, the older ten with other figures
    for days_ago in range(40):
        DailyKpiFactory(date=AS_OF - datetime.timedelta(days=days_ago), revenue=Decimal("100.00") if days_ago < 30
                        else Decimal("999.00"), orders=4 if days_ago < 30 else 1)
    # when
    figures = dashboard_figures(tenant=alpha, kpi_days=90, period_days=30)
    # then
    assert figures["latest"].date == AS_OF and len(figures["kpis"]) == 40
    assert (figures["revenue"], figures["orders"]) == (Decimal("3000.00"), 120)
    assert figures["average_order_value"] == Decimal("25")


def test_customers_per_tier_and_per_band_with_each_bands_colour(alpha):
    CustomerClvFactory.create_batch(2, tier=CustomerClv.Tier.HIGH)
    CustomerClvFactory(tier=CustomerClv.Tier.LOW)
    CustomerChurnFactory.create_batch(3, band=CustomerChurn.Band.AT_RISK)
    CustomerRfmFactory()
    figures = dashboard_figures(tenant=alpha)
    assert figures["clv_tiers"] == [("high", 2), ("medium", 0), ("low", 1)]
    bands = {row["band"]: (row["customers"], row["color"]) for row in figures["churn_bands"]}
    assert bands["at_risk"] == (3, CHURN_BAND_COLORS["at_risk"]) and bands["active"][0] == 0
    assert [s["customers"] for s in figures["segments"] if s["segment"] == "champions"] == [1]


def test_an_empty_tenant_has_a_dashboard_without_figures(alpha):
    figures = dashboard_figures(tenant=alpha)
    assert figures["latest"] is None and figures["revenue"] == 0 and figures["average_order_value"] == 0
    assert figures["cohorts"] == [] and list(figures["months"]) == [0]

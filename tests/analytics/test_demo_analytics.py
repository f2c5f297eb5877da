"""The demo store, analysed end to end the way ``make run`` shows it: the CLV models fit, the churn
bands agree with the KPIs, recent customers are not called at risk, every explanation says what its
number says, and no analytics page shows a library's message."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.db.models import Count
from django_tenants.utils import tenant_context

from analytics.models import ChurnPredictionLog, ClvCalculationLog, CohortCell, CustomerChurn, CustomerClv, DailyKpi
from analytics.services import analytics_run
from cdp.context import Actor
from customers.demo import demo_records
from customers.management.commands.load_demo_data import demo_csv
from customers.models import Customer
from customers.services.bulk import orders_bulk_load

#: A fixed moment, so the store's history (and every figure) is the same on any day the suite runs.
NOW = datetime.datetime(2026, 6, 30, 23, 0, tzinfo=datetime.UTC)
AS_OF = datetime.date(2026, 6, 30)
#: Tolerance of the agreement between the churn bands and the KPI "active in the last 90 days":
#: none. Active, at-risk and churning customers are exactly those who bought in the last 90 days.
BAND_KPI_TOLERANCE = 0
LIBRARY_WORDS = ("Desired error", "precision loss", "did not converge", "Traceback", "scipy", "lifetimes")


@pytest.fixture
def demo_store(world, tmp_path):
    """The demo generator at a third of its default pace (about 300 customers, 3,000 orders),
    loaded as ``load_demo_data`` loads it, then one full analytics run."""
    actor = Actor.system("tests")
    with tenant_context(world.alpha):
        result = orders_bulk_load(path=demo_csv(demo_records(customers=250, now=NOW), Path(tmp_path) / "demo.csv"),
                                  tenant=world.alpha, actor=actor, default_source="demo")
        assert not result.rejected, result.rejected[:3]
        job = analytics_run(tenant=world.alpha, actor=actor, as_of=AS_OF)
        assert job.status == "succeeded", job.error
        yield job


def test_the_demo_store_has_numbers_in_every_analytics_section(world, demo_store):
    with tenant_context(world.alpha):
        clv = ClvCalculationLog.objects.get(job=demo_store)
        assert clv.status == "ok", clv.diagnostics
        assert CustomerClv.objects.count() == clv.customers_used == Customer.objects.filter(total_orders__gt=0).count()
        churn = ChurnPredictionLog.objects.get(job=demo_store)
        assert churn.method == "model", churn.message
        assert churn.auc > 0.8 and churn.brier < 0.15
        assert CohortCell.objects.exists() and demo_store.summary["rfm"]["customers"] > 0
        # the store sold up to the as-of date: the last week has revenue
        last_week = DailyKpi.objects.filter(date__gt=AS_OF - datetime.timedelta(days=7))
        assert sum(day.revenue for day in last_week) > 0


def test_churn_bands_agree_with_the_kpis_and_recent_customers_are_not_at_risk(world, demo_store):
    with tenant_context(world.alpha):
        kpi = DailyKpi.objects.get(date=AS_OF)
        bands = dict(CustomerChurn.objects.values_list("band").annotate(n=Count("id")))
        buying = bands.get("active", 0) + bands.get("at_risk", 0) + bands.get("churning", 0)
        assert abs(buying - kpi.active_90) <= BAND_KPI_TOLERANCE, (bands, kpi.active_90)
        assert bands.get("churned", 0) == kpi.total_customers - kpi.active_90
        assert bands.get("active", 0) > bands.get("at_risk", 0) + bands.get("churning", 0)  # a store that lives
        # the most recent fifth of the customers (R = 5) are never called at risk or churning
        recent = CustomerChurn.objects.filter(customer__analytics_rfm__r_score=5)
        assert recent.exists()
        assert not recent.filter(band__in=["at_risk", "churning"]).exists(), list(
            recent.filter(band__in=["at_risk", "churning"]).values_list("probability", "factors")[:3])


def test_every_explanation_line_says_what_its_number_says(world, demo_store):
    with tenant_context(world.alpha):
        rows = list(CustomerChurn.objects.all())
        assert rows
        for row in rows:
            for factor in row.factors:
                expected = "raises" if factor["weight"] > 0 else "lowers" if factor["weight"] < 0 else "neutral"
                assert factor["effect"] == expected, (row.customer_id, factor)
        # a loyal recent customer's risk is explained by what lowers it
        champion = CustomerChurn.objects.filter(customer__analytics_rfm__rfm_score="555").order_by("probability").first()
        assert champion is not None and champion.band == "active"
        assert any(factor["effect"] == "lowers" for factor in champion.factors)


def test_analytics_pages_show_figures_and_no_library_text(world, demo_store, alpha_client):
    page = alpha_client(world.user("alpha_viewer")).get("/analytics/")
    assert page.status_code == 200
    text = page.content.decode()
    for words in LIBRARY_WORDS:
        assert words not in text, words
    assert "Lifetime values predicted from" in text
    assert "AUC" in text and "Brier" in text
    assert "no purchase for 90 days" in text  # the band thresholds are stated

"""Cohorts and daily KPIs on a store whose figures are known."""

import datetime
import decimal

import pytest

from analytics.models import CohortCell, DailyKpi
from analytics.services import cohorts_compute, kpis_compute

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


@pytest.fixture
def known_store(alpha, customer_with):
    a = customer_with(alpha, [(datetime.date(2025, 1, 10), 100), (datetime.date(2025, 2, 5), 50),
                              (datetime.date(2025, 3, 20), 30)])
    b = customer_with(alpha, [(datetime.date(2025, 1, 25), 200)])
    c = customer_with(alpha, [(datetime.date(2025, 2, 14), 80), (datetime.date(2025, 2, 14), 20),
                              (datetime.date(2025, 3, 1), 40, "cancelled"), (datetime.date(2025, 4, 1), 40)])
    return a, b, c


def test_cohorts_on_a_known_store(alpha, known_store):
    cohorts_compute(tenant=alpha, as_of=datetime.date(2025, 3, 31))
    cells = {(c.cohort_month.isoformat(), c.months_since): (c.cohort_size, c.customers, c.revenue)
             for c in CohortCell.objects.all()}
    assert cells == {
        ("2025-01-01", 0): (2, 2, decimal.Decimal("300.00")),
        ("2025-01-01", 1): (2, 1, decimal.Decimal("50.00")),
        ("2025-01-01", 2): (2, 1, decimal.Decimal("30.00")),
        ("2025-02-01", 0): (1, 1, decimal.Decimal("100.00")),
    }


def test_daily_kpis_on_a_known_store(alpha, known_store):
    days = kpis_compute(tenant=alpha, as_of=datetime.date(2025, 3, 31))["rows"]
    assert days == 81  # 2025-01-10 … 2025-03-31
    kpi = {k.date.isoformat(): k for k in DailyKpi.objects.all()}
    assert (kpi["2025-01-10"].revenue, kpi["2025-01-10"].orders, kpi["2025-01-10"].new_customers) == (100, 1, 1)
    assert (kpi["2025-02-14"].orders, kpi["2025-02-14"].average_order_value) == (2, 50)
    assert (kpi["2025-02-05"].returning_customers, kpi["2025-02-05"].new_customers) == (1, 0)
    assert kpi["2025-03-01"].orders == 0  # the cancelled order does not count
    assert kpi["2025-02-09"].active_30 == 2  # a (bought 02-05) and b (01-25)
    assert kpi["2025-03-01"].active_30 == 2  # a (02-05) and c (02-14); b's 30 days ended 02-23
    assert kpi["2025-03-31"].active_365 == 3 and kpi["2025-03-31"].total_customers == 3
    assert kpi["2025-03-31"].repeat_purchase_rate == pytest.approx(1 / 3)  # c's two orders were on one day
    assert kpi["2025-03-31"].churn_rate == pytest.approx(0.0)
    assert kpi["2025-01-24"].active_30 == 1 and kpi["2025-02-08"].active_30 == 2
    assert "2025-04-01" not in kpi

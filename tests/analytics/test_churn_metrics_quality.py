import datetime
import decimal

import pytest
from django.utils import timezone

from analytics.models import ChurnPredictionLog, CohortCell, CustomerChurn, CustomerClv, DailyKpi, DataQualityCheck
from analytics.services import churn_compute, clv_compute, cohorts_compute, data_quality_check, kpis_compute
from analytics.services.churn import churn_band
from tests.analytics.conftest import synthetic_history

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta



def test_churn_model_is_trained_with_a_time_split_and_evaluated_on_held_out_customers(alpha, small_thresholds):
    synthetic_history(alpha, customers=300, as_of=AS_OF, days=540, seed=11)
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    assert log.method == ChurnPredictionLog.Method.MODEL, log.message
    assert log.cutoff == AS_OF - D(days=90)
    assert log.train_customers > 0 and log.test_customers > 0
    assert 0.5 < log.auc <= 1.0  # recency and gaps do predict who comes back
    assert 0.0 <= log.brier < 0.25
    assert log.calibration and sum(b["n"] for b in log.calibration) == log.test_customers
    rows = list(CustomerChurn.objects.all())
    assert len(rows) == log.scored_customers > 0
    for row in rows:
        assert row.band == churn_band(row.probability, row.days_since_last_purchase)
        assert len(row.factors) == 3 and row.factors[0]["effect"] in ("raises", "lowers")
        assert row.predicted_churn_date >= AS_OF - D(days=row.days_since_last_purchase) + D(days=90)


def test_churn_falls_back_to_one_minus_probability_alive_when_history_is_short(alpha, small_thresholds, customer_with):
    # all history inside the last 60 days: nobody is known at the 90-day cutoff
    synthetic_history(alpha, customers=80, as_of=AS_OF, days=60, seed=5)
    clv = clv_compute(tenant=alpha, as_of=AS_OF)
    assert clv.status == "ok", clv.message
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    assert log.method == ChurnPredictionLog.Method.FALLBACK
    assert "too short" in log.message and log.auc is None
    for row in CustomerChurn.objects.all():
        p_alive = CustomerClv.objects.get(customer_id=row.customer_id).probability_alive
        assert row.probability == pytest.approx(1 - p_alive, abs=1e-6)


def test_churn_without_history_or_clv_gives_no_scores(alpha, customer_with):
    customer_with(alpha, [(AS_OF - D(days=5), 10)])
    clv_compute(tenant=alpha, as_of=AS_OF)
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    assert log.method == ChurnPredictionLog.Method.NONE and not CustomerChurn.objects.exists()


def test_bands_follow_the_thresholds_in_settings_and_churned_means_lapsed(settings):
    settings.ANALYTICS_CHURN_BANDS = {"at_risk": 0.2, "churning": 0.5}
    # bought within the churn window: the risk decides
    assert [churn_band(p, 30) for p in (0.1, 0.2, 0.6, 0.95)] == ["active", "at_risk", "churning", "churning"]
    # no purchase for the window (90 days): churned, as the KPIs count it, whatever the risk
    assert [churn_band(p, days) for p, days in ((0.05, 90), (0.95, 89), (0.4, 400))] == [
        "churned", "churning", "churned"]


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


def test_data_quality_findings_and_score(alpha, customer_with):
    from customers.models import Order

    good = customer_with(alpha, [(AS_OF - D(days=3), 10)], phone="+5491122334455", document_type="dni",
                         document_number="30123456")
    bad = customer_with(alpha, [(AS_OF - D(days=3), 10)], email="not-an-email", phone="12",
                        document_type="cpf", document_number="123")
    customer_with(alpha, [], email=None)
    Order.objects.filter(customer=good).update(order_date=timezone.now() + D(days=3))
    Order.objects.filter(customer=bad).update(total_amount=0)
    # sales by the counted-sale rule: a free cancelled order is fine, a paid sale whose payment was
    # refunded is not; an order pending for a month was probably never paid
    complete = {"phone": "+5491122334466", "document_type": "dni"}
    customer_with(alpha, [(AS_OF - D(days=3), 0, "cancelled")], document_number="30123457", **complete)
    refunded = customer_with(alpha, [(AS_OF - D(days=3), 50, "paid")], document_number="30123458", **complete)
    Order.objects.filter(customer=refunded).update(payment_status="refunded")
    customer_with(alpha, [(AS_OF - D(days=40), 20, "pending"), (timezone.localdate() - D(days=1), 20, "pending")],
                  document_number="30123459", **complete)
    summary = data_quality_check(tenant=alpha, as_of=AS_OF)
    failed = summary["failed"]
    assert failed["invalid_email"] == 1 and failed["missing_email"] == 1
    assert failed["invalid_phone"] == 1 and failed["missing_phone"] == 1
    assert failed["invalid_document"] == 1 and failed["missing_document"] == 1
    assert failed["future_dates"] == 1 and failed["non_positive_totals"] == 1
    assert failed["sales_without_payment"] == 1 and failed["stale_pending"] == 1
    assert failed["orders_without_items"] == 6
    check = DataQualityCheck.objects.get(as_of=AS_OF, code="invalid_email")
    assert check.sample_ids == [{"id": bad.pk, "customer_id": bad.pk}]
    assert 0 < summary["health_score"] < 100


def test_a_rescoring_publishes_customers_whose_band_moved(alpha, small_thresholds, django_capture_on_commit_callbacks):
    from analytics import registry

    synthetic_history(alpha, customers=300, as_of=AS_OF, days=540, seed=11)
    churn_compute(tenant=alpha, as_of=AS_OF)
    # given two customers whose stored band differs from what the model says
    moved = {}
    for row in CustomerChurn.objects.order_by("customer_id")[:2]:
        fake = "active" if row.band != "active" else "churned"
        moved[row.customer_id] = {"customer_id": row.customer_id, "old": fake, "new": row.band}
        CustomerChurn.objects.filter(pk=row.pk).update(band=fake)
    heard = []

    def handler(**payload):
        heard.append(payload)

    registry.subscribe("churn.band_changed", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            churn_compute(tenant=alpha, as_of=AS_OF)
    finally:
        registry.unsubscribe("churn.band_changed", handler)
    # then exactly those two are reported, old and new band each
    assert heard == [{"changes": [moved[cid] for cid in sorted(moved)]}]

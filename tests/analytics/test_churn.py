"""Churn: the model trained with a time split, the fallbacks, the bands and who moved."""

import datetime

import pytest

from analytics.models import ChurnPredictionLog, CustomerChurn, CustomerClv
from analytics.services import churn_compute, clv_compute
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

"""The churn model a marketer can believe: the risk never falls when only the time since the last
purchase grows, each explanation is the model's own arithmetic, and the held-out scores come with
the model."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from analytics.models import ChurnPredictionLog, CustomerChurn
from analytics.services import churn_compute
from analytics.services.churn import FEATURES, churn_contributions, churn_features, churn_risk
from analytics.selectors import order_history_load
from tests.analytics.conftest import synthetic_history

AS_OF = datetime.date(2025, 6, 30)


@pytest.fixture
def trained(alpha, small_thresholds):
    synthetic_history(alpha, customers=300, as_of=AS_OF, days=540, seed=11)
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    assert log.method == ChurnPredictionLog.Method.MODEL, log.message
    frame = churn_features(history=order_history_load(tenant=alpha, as_of=AS_OF), as_of=AS_OF, window=90)
    return log, frame


def test_risk_never_falls_when_only_the_time_since_the_last_purchase_grows(trained):
    log, frame = trained
    for days_later in (1, 7, 30, 89, 365):
        _check_pairs(log, frame, days_later)


def _check_pairs(log, frame, days_later):
    # given synthetic pairs: every customer as they are, and the same customer whose last purchase
    # is ``days_later`` further back (their usual gap unchanged), on top of a grid of extreme cases
    grid = frame.sample(n=50, random_state=1)
    extremes = [grid.assign(**{column: value})
                for column, values in (("purchase_days", [1, 3, 40]), ("log_spend", [0.0, 15.0]),
                                       ("orders_recent", [0, 25]), ("tenure_days", [0, 2000]))
                for value in values]
    frame = pd.concat([frame, *extremes], ignore_index=True)
    later = frame.copy()
    later["recency_days"] += days_later
    gap = frame["mean_gap_days"].fillna(90.0).clip(lower=1.0)
    frame = frame.assign(recency_gap_ratio=frame["recency_days"] / gap)
    later = later.assign(recency_gap_ratio=later["recency_days"] / gap)

    # then the risk of the later one is never lower
    before, after = churn_risk(log.coefficients, frame), churn_risk(log.coefficients, later)
    assert np.all(after >= before - 1e-12), float(np.min(after - before))
    assert np.any(after > before)


def test_each_explanation_is_the_models_arithmetic(trained):
    log, frame = trained
    risk, contributions = churn_contributions(log.coefficients, frame)
    # the intercept and the contributions add up to the log-odds of the risk shown
    assert np.allclose(log.coefficients["intercept"] + contributions.sum(axis=1), logit(risk))
    stored = {row.customer_id: row for row in CustomerChurn.objects.all()}
    for position, customer_id in enumerate(frame["customer_id"]):
        row = stored[customer_id]
        assert row.probability == pytest.approx(risk[position], abs=1e-6)
        # the three lines are the three largest contributions, each worded by its sign
        largest = np.argsort(-np.abs(contributions[position]), kind="stable")[:3]
        assert [factor["feature"] for factor in row.factors] == [FEATURES[i] for i in largest]
        for factor, index in zip(row.factors, largest, strict=True):
            assert factor["weight"] == pytest.approx(contributions[position, index], abs=5e-4)
            assert factor["effect"] == ("raises" if factor["weight"] > 0 else "lowers" if factor["weight"] < 0
                                        else "neutral")


def test_recency_carries_a_non_negative_weight_even_where_a_free_fit_would_flip_it(alpha, small_thresholds):
    """The constraint holds on the stored model: every column that grows with the time since the
    last purchase has a coefficient of zero or more."""
    synthetic_history(alpha, customers=250, as_of=AS_OF, days=400, seed=3)
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    columns = log.coefficients["columns"]
    assert {c["feature"] for c in columns if c["feature"] in ("recency_days", "recency_gap_ratio")}
    assert all(c["coef"] >= 0 for c in columns if c["feature"] in ("recency_days", "recency_gap_ratio"))
    assert log.calibration and log.auc is not None and log.brier is not None

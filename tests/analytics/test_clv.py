import datetime

import numpy as np
import pandas as pd
import pytest

from analytics import btyd
from analytics.models import ClvCalculationLog, CustomerClv
from analytics.services import clv_compute
from tests.analytics.conftest import synthetic_history

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


@pytest.fixture(scope="module")
def cdnow():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    return load_cdnow_summary_data_with_monetary_value().rename(columns={"monetary_value": "monetary"})


def test_weighted_compressed_fit_reproduces_the_published_cdnow_parameters(cdnow):
    # when: our path (distinct (f, r, T) rows with weights) fits the CDNOW summary
    result = btyd.fit(cdnow, min_customers=10, min_repeat_customers=10, max_corr=0.5)
    # then: Fader, Hardie & Lee (2005): r=0.243 α=4.414 a=0.793 b=2.426, LL=-9582.4;
    # Gamma-Gamma on the same data: p=6.25 q=3.74 v=15.45
    assert result.status == "ok"
    assert result.distinct_rows < len(cdnow)  # compressed
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for key, value in expected.items():
        assert result.model_params[key] == pytest.approx(value, rel=0.01), key
    assert result.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    for key, value in {"p": 6.25, "q": 3.74, "v": 15.45}.items():
        assert result.spend_params[key] == pytest.approx(value, rel=0.01), key


def _transactions_from_db(tenant):
    import zoneinfo

    from customers.models import Order

    tz = zoneinfo.ZoneInfo(tenant.setting("timezone"))
    rows = [(cid, dt.astimezone(tz).date(), float(amount))
            for cid, dt, amount in Order.objects.filter(status="completed").values_list(
                "customer_id", "order_date", "total_amount")]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_fit_and_predictions_agree_with_lifetimes_run_directly(alpha, settings):
    # given: a synthetic store; settings low enough for its size
    settings.ANALYTICS_CLV_MIN_CUSTOMERS = 20
    settings.ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS = 10
    settings.ANALYTICS_CLV_MAX_SPEND_FREQUENCY_CORR = 0.9
    synthetic_history(alpha, customers=150, as_of=AS_OF, days=400, seed=3)
    # when
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    # then: lifetimes on the raw transactions, one row per customer, gives the same answers
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    assert log.status == "ok", log.message
    assert log.time_unit == "weeks"
    summary = summary_data_from_transaction_data(
        _transactions_from_db(alpha), "customer_id", "date", monetary_value_col="amount",
        observation_period_end=pd.Timestamp(AS_OF), freq="D", freq_multiplier=7)
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for key in ("r", "alpha", "a", "b"):
        assert log.model_params[key] == pytest.approx(bgf.params_[key], rel=2e-3), key
    for key in ("p", "q", "v"):
        assert log.spend_params[key] == pytest.approx(ggf.params_[key], rel=2e-3), key
    rows = {row.customer_id: row for row in CustomerClv.objects.all()}
    assert len(rows) == len(summary) == log.customers_used
    p_alive = bgf.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
    clv = ggf.customer_lifetime_value(bgf, summary["frequency"], summary["recency"], summary["T"],
                                      summary["monetary_value"], time=12,
                                      discount_rate=(1.10 ** (1 / 12) - 1), freq="W")
    for customer_id, pa, value in zip(summary.index, p_alive, clv, strict=True):
        row = rows[customer_id]
        assert row.probability_alive == pytest.approx(pa, rel=5e-3, abs=1e-3)
        assert float(row.predicted_value) == pytest.approx(value, rel=5e-3, abs=0.05)
        assert float(row.total_clv) == pytest.approx(float(row.historical_value) + float(row.predicted_value), abs=0.02)
    # one-order customers are kept: frequency 0, no repeat spend, alive with certainty under BG/NBD
    single = [r for r in rows.values() if r.frequency == 0]
    assert single and all(r.monetary_value == 0 and r.probability_alive == pytest.approx(1.0) for r in single)
    tiers = {r.tier for r in rows.values()}
    assert tiers == {"high", "medium", "low"}
    assert max(r.percentile for r in rows.values()) == 100


def test_too_little_data_gives_a_status_and_no_numbers(alpha, customer_with):
    for k in range(5):
        customer_with(alpha, [(AS_OF - D(days=30 + k), 10), (AS_OF - D(days=3), 12)])
    CustomerClv.objects.all().delete()
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    assert log.status == ClvCalculationLog.Status.INSUFFICIENT_DATA
    assert "repeat buyers" in log.message
    assert log.model_params == {} and not CustomerClv.objects.exists()


def test_spend_correlated_with_frequency_is_refused(alpha, customer_with, settings):
    settings.ANALYTICS_CLV_MIN_CUSTOMERS = 10
    settings.ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS = 10
    for k in range(1, 16):
        # the more often they buy, the more they spend each time
        customer_with(alpha, [(AS_OF - D(days=5 * j + 2), 10 * k) for j in range(k + 1)])
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    assert log.status == ClvCalculationLog.Status.CORRELATED
    assert log.spend_frequency_corr > 0.9 and not CustomerClv.objects.exists()


def test_degenerate_data_without_repeat_spend_is_not_fitted(alpha, customer_with, settings):
    settings.ANALYTICS_CLV_MIN_CUSTOMERS = 1
    settings.ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS = 0
    for k in range(12):
        customer_with(alpha, [(AS_OF - D(days=k + 1), 10)])  # nobody ever came back
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    assert log.status in (ClvCalculationLog.Status.NOT_CONVERGED, ClvCalculationLog.Status.INSUFFICIENT_DATA)
    assert not CustomerClv.objects.exists()


def test_log_likelihood_matches_lifetimes_objective_on_unit_weights():
    f, r, T = np.array([0, 2, 5]), np.array([0.0, 10.0, 30.0]), np.array([40.0, 40.0, 40.0])
    params = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.0}
    compressed = btyd.bgnbd_log_likelihood(params, np.array([0, 2, 5, 0]), np.array([0.0, 10, 30, 0]),
                                           np.array([40.0, 40, 40, 40]))
    weighted = btyd.bgnbd_log_likelihood(params, f, r, T, weights=[2, 1, 1])
    assert compressed == pytest.approx(weighted)


def _uniform_dates_store(seed: int) -> pd.DataFrame:
    """A store like the old demo's: 1,200 customers, each with 1 + Exp(0.45) orders on dates drawn
    uniformly over two years, spend uniform between 5,000 and 80,000 (weeks)."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(1200):
        days = sorted(rng.randrange(0, 720) for _ in range(1 + int(rng.expovariate(0.45))))
        spend: dict[int, float] = {}
        for day in days:
            spend[day] = spend.get(day, 0.0) + rng.uniform(5000, 80000)
        first, last, repeat = min(spend), max(spend), len(spend) - 1
        rows.append((repeat, (last - first) / 7, (726 - first) / 7,
                     (sum(spend.values()) - spend[first]) / repeat if repeat else 0.0))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary"])


def test_a_fit_that_loses_precision_is_retried_like_practitioners_do():
    # given data on which the published Gamma-Gamma fit stops with scipy's "precision loss"
    frame = _uniform_dates_store(seed=1)

    result = btyd.fit(frame, min_customers=50, min_repeat_customers=20, max_corr=0.5)

    # then the next attempt (spend measured in units of the typical spend) fits, and both are recorded
    assert result.status == "ok", result.attempts
    spend_attempts = [a for a in result.attempts if a["model"] == "Gamma-Gamma"]
    assert spend_attempts[0]["attempt"] == "published" and "precision loss" in spend_attempts[0]["outcome"]
    assert spend_attempts[-1] == {"model": "Gamma-Gamma", "attempt": "rescaled time unit", "outcome": "ok"}
    assert result.spend_params["q"] > 1 and all(np.isfinite(list(result.spend_params.values())))
    # the retried fit is a real optimum: no attempt of the ladder finds a better likelihood
    repeat = frame[frame["frequency"] > 0]
    for _, scale_by, penalizer, method in btyd.FIT_ATTEMPTS[1:]:
        if penalizer:
            continue  # a penalised fit optimises another objective
        other, other_ll = btyd.fit_gamma_gamma(repeat["frequency"], repeat["monetary"], scale_by=scale_by,
                                               method=method)
        assert other_ll <= result.spend_log_likelihood + 1e-6


def test_the_log_explains_a_retry_and_a_failure_in_plain_words(alpha, small_thresholds, monkeypatch):
    from scipy import optimize

    synthetic_history(alpha, customers=120, as_of=AS_OF, days=400, seed=3)
    real = optimize.minimize
    failures = {"left": 1}

    def stubborn(fun, *args, **kwargs):
        # the optimizer gives up (as BFGS does on awkward data) on the next ``left`` fits
        answer = real(fun, *args, **kwargs)
        if failures["left"] > 0:
            failures["left"] -= 1
            answer.success = False
            answer.message = "Desired error not necessarily achieved due to precision loss."
            answer.x = kwargs["x0"]
        return answer

    monkeypatch.setattr(btyd, "minimize", stubborn)

    # when the published BG/NBD fit fails once
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    # then the next attempt fits, the message says so in words, the library's text stays in diagnostics
    assert log.status == "ok"
    assert "standard fit did not settle" in log.message and "precision loss" not in log.message
    assert log.diagnostics["attempts"][0]["outcome"].endswith("due to precision loss.")

    # when every attempt fails
    failures["left"] = 100
    log = clv_compute(tenant=alpha, as_of=AS_OF)
    assert log.status == ClvCalculationLog.Status.NOT_CONVERGED and not CustomerClv.objects.exists()
    assert [a["attempt"] for a in log.diagnostics["attempts"]] == [a[0] for a in btyd.FIT_ATTEMPTS]
    assert "What to do" in log.message
    for words in ("Desired error", "precision loss", "converge", "BG/NBD", "scipy"):
        assert words not in log.message

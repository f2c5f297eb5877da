"""Buy-till-you-die fitting (BG/NBD + Gamma-Gamma with ``lifetimes``) on compressed data.

Pure numerics, no Django: the CLV service feeds it arrays built by ``analytics.sql`` and stores
what it returns. Customers sharing (frequency, recency, T) contribute identical likelihood terms,
so the BG/NBD is fitted once per distinct triple with the count as weight (and Gamma-Gamma once
per distinct (frequency, monetary) pair); predictions are computed per distinct triple too.
Data that cannot support a trustworthy fit yields a status and no numbers.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import gammaln

DAYS_PER_MONTH = {"days": 30.0, "weeks": 4.345}  # the month lengths lifetimes' CLV uses


class BtydError(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class BtydResult:
    status: str
    message: str = ""
    model_params: dict = field(default_factory=dict)
    spend_params: dict = field(default_factory=dict)
    log_likelihood: float | None = None
    spend_log_likelihood: float | None = None
    customers_used: int = 0
    repeat_customers: int = 0
    distinct_rows: int = 0
    spend_frequency_corr: float | None = None
    timings: dict = field(default_factory=dict)
    bgf: object = None
    ggf: object = None


def compress(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Distinct rows of ``columns`` with a ``weight`` column counting the customers behind each."""
    return frame.groupby(columns, sort=True).size().rename("weight").reset_index()


def bgnbd_log_likelihood(params: dict, frequency, recency, T, weights=None) -> float:
    """Total BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(w * (a1 + a2 + np.logaddexp(a3, a4))))


def gamma_gamma_log_likelihood(params: dict, frequency, monetary, weights=None) -> float:
    """Total Gamma-Gamma log-likelihood of repeat buyers' mean spend (Fader, Hardie & Lee 2005b)."""
    p, q, v = params["p"], params["q"], params["v"]
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
          + (p * x) * np.log(x) - (p * x + q) * np.log(x * m + v))
    return float(np.sum(w * ll))


def _finite_positive(params: dict) -> bool:
    return all(math.isfinite(value) and value > 0 for value in params.values())


def fit_bgnbd(frequency, recency, T, *, penalizer: float = 0.0):
    """Fit BG/NBD on the distinct (frequency, recency, T) rows, weighted. Returns
    (fitter, params, log_likelihood, distinct_rows); raises BtydError(not_converged)."""
    from lifetimes import BetaGeoFitter

    frame = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T})
    rows = compress(frame, ["frequency", "recency", "T"])
    fitter = BetaGeoFitter(penalizer_coef=penalizer)
    try:
        # lifetimes prints scipy's whole result on a failed fit; the status and message say it.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            fitter.fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["weight"])
    except Exception as exc:  # lifetimes raises ConvergenceError, scipy may raise on bad data
        raise BtydError("not_converged", f"BG/NBD did not converge: {exc}") from exc
    params = {name: float(fitter.params_[name]) for name in ("r", "alpha", "a", "b")}
    if not _finite_positive(params):
        raise BtydError("not_converged", f"BG/NBD parameters are not finite and positive: {params}")
    ll = bgnbd_log_likelihood(params, rows["frequency"], rows["recency"], rows["T"], rows["weight"])
    return fitter, params, ll, len(rows)


def fit_gamma_gamma(frequency, monetary, *, penalizer: float = 0.0):
    """Fit Gamma-Gamma on repeat buyers' distinct (frequency, mean spend) rows, weighted."""
    from lifetimes import GammaGammaFitter

    frame = pd.DataFrame({"frequency": frequency, "monetary": monetary})
    rows = compress(frame, ["frequency", "monetary"])
    fitter = GammaGammaFitter(penalizer_coef=penalizer)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            fitter.fit(rows["frequency"], rows["monetary"], weights=rows["weight"])
    except Exception as exc:
        raise BtydError("not_converged", f"Gamma-Gamma did not converge: {exc}") from exc
    params = {name: float(fitter.params_[name]) for name in ("p", "q", "v")}
    if not _finite_positive(params) or params["q"] <= 1:
        # q <= 1 makes the population mean spend p·v/(q−1) undefined.
        raise BtydError("not_converged", f"Gamma-Gamma parameters are unusable: {params}")
    ll = gamma_gamma_log_likelihood(params, rows["frequency"], rows["monetary"], rows["weight"])
    return fitter, params, ll


def fit(
    summary: pd.DataFrame,
    *,
    min_customers: int,
    min_repeat_customers: int,
    max_corr: float,
    penalizer: float = 0.0,
) -> BtydResult:
    """``summary`` has frequency, recency, T (same time unit) and monetary (mean repeat spend).
    Returns a result whose status is ``ok`` only when both models fitted on enough data."""
    result = BtydResult(status="ok", customers_used=len(summary))
    repeat = summary[summary["frequency"] > 0]
    result.repeat_customers = len(repeat)
    if len(summary) < min_customers or len(repeat) < min_repeat_customers:
        result.status = "insufficient_data"
        result.message = (f"{len(summary)} customers with purchases and {len(repeat)} repeat buyers; at least "
                          f"{min_customers} and {min_repeat_customers} are needed for a trustworthy fit.")
        return result
    if repeat["monetary"].nunique() > 1 and repeat["frequency"].nunique() > 1:
        result.spend_frequency_corr = float(np.corrcoef(repeat["frequency"], repeat["monetary"])[0, 1])
        if abs(result.spend_frequency_corr) > max_corr:
            result.status = "spend_frequency_correlated"
            result.message = (f"Spend and purchase frequency are correlated ({result.spend_frequency_corr:.2f}); "
                              "Gamma-Gamma assumes they are independent, so no spend prediction is made.")
            return result
    try:
        started = time.perf_counter()
        result.bgf, result.model_params, result.log_likelihood, result.distinct_rows = fit_bgnbd(
            summary["frequency"], summary["recency"], summary["T"], penalizer=penalizer
        )
        result.timings["bgnbd_fit"] = round(time.perf_counter() - started, 4)
        if not (repeat["monetary"] > 0).all():
            raise BtydError("insufficient_data", "Some repeat buyers have a zero mean spend; Gamma-Gamma needs > 0.")
        started = time.perf_counter()
        result.ggf, result.spend_params, result.spend_log_likelihood = fit_gamma_gamma(
            repeat["frequency"], repeat["monetary"], penalizer=penalizer
        )
        result.timings["gamma_gamma_fit"] = round(time.perf_counter() - started, 4)
    except BtydError as exc:
        result.status, result.message = exc.status, exc.message
    return result


def predict(
    result: BtydResult, summary: pd.DataFrame, *, time_unit: str, horizon_months: int, annual_discount_rate: float
) -> pd.DataFrame:
    """Per customer: probability_alive, expected_purchases over the horizon and predicted_value,
    the discounted sum over months of expected purchases × Gamma-Gamma expected spend (the same
    sum lifetimes' ``customer_lifetime_value`` computes). Computed per distinct (f, r, T)."""
    bgf, ggf = result.bgf, result.ggf
    per_month = DAYS_PER_MONTH[time_unit]
    monthly_rate = (1 + annual_discount_rate) ** (1 / 12) - 1
    rows = compress(summary, ["frequency", "recency", "T"])
    f, r, T = rows["frequency"].to_numpy(float), rows["recency"].to_numpy(float), rows["T"].to_numpy(float)
    rows["probability_alive"] = np.asarray(bgf.conditional_probability_alive(f, r, T), dtype=float)
    rows["expected_purchases"] = np.asarray(
        bgf.conditional_expected_number_of_purchases_up_to_time(per_month * horizon_months, f, r, T), dtype=float
    )
    discounted = np.zeros(len(rows))
    previous = np.zeros(len(rows))
    for month in range(1, horizon_months + 1):
        current = np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(per_month * month, f, r, T),
                             dtype=float)
        discounted += (current - previous) / (1 + monthly_rate) ** month
        previous = current
    rows["discounted_purchases"] = discounted
    out = summary.merge(rows.drop(columns="weight"), on=["frequency", "recency", "T"], how="left")
    spend = np.asarray(ggf.conditional_expected_average_profit(out["frequency"], out["monetary"]), dtype=float)
    out["expected_spend"] = spend
    out["predicted_value"] = out["discounted_purchases"] * spend
    return out

"""Buy-till-you-die fitting (BG/NBD + Gamma-Gamma) on compressed data.

Pure numerics, no Django: the CLV service feeds it arrays built from ``analytics.history`` and
stores what it returns. Customers sharing (frequency, recency, T) contribute identical likelihood
terms, so the BG/NBD is fitted once per distinct triple with the count as weight (and Gamma-Gamma
once per distinct (frequency, monetary) pair). Data that cannot support a trustworthy fit yields
a status and no numbers.

The fits minimise exactly what ``lifetimes`` (0.11) minimises — the weighted mean negative
log-likelihood over log-parameters, time scaled so the oldest customer has T = 1, starting at
0.1, with scipy's BFGS and tol 1e-7 — but with the gradient written out instead of ``autograd``
tracing half a million rows per step. Predictions use lifetimes' formulas; the hypergeometric
part of the expected purchases depends only on (frequency, T), so it is evaluated once per
distinct pair. tests/analytics/test_clv.py checks both against lifetimes run directly.

When that fit does not converge (BFGS's "precision loss" on awkward data), it is retried the way
practitioners do before giving up (``FIT_ATTEMPTS``): time rescaled to the typical customer's
age instead of the oldest one's, a small L2 penalizer (lifetimes' docs suggest 0.001–0.1), then
a derivative-free optimizer. The first attempt is the published one, so a fit that converges
(CDNOW) is exactly what it always was; each attempt is recorded in ``BtydResult.attempts``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

DAYS_PER_MONTH = {"days": 30.0, "weeks": 4.345}  # the month lengths lifetimes' CLV uses
TOLERANCE = 1e-7  # lifetimes' default
#: A BFGS stop for "precision loss" where the gradient of the (mean) objective is this small is the
#: optimum to machine precision, not a failure.
STATIONARY = 1e-5
RETRY_PENALIZER = 0.001
#: (name, time/spend scale, penalizer or None for the caller's, optimizer): in order, until one fits.
FIT_ATTEMPTS = (
    ("published", "oldest", None, "BFGS"),
    ("rescaled time unit", "typical", None, "BFGS"),
    ("small penalizer", "oldest", RETRY_PENALIZER, "BFGS"),
    ("another optimizer", "typical", RETRY_PENALIZER, "Nelder-Mead"),
)


class BtydError(Exception):
    """``status`` is the calculation log's status; ``reason`` says why in more detail
    (not_converged, invalid_data, all_new, zero_spend) for the plain-words explanation."""

    def __init__(self, status: str, message: str, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or status


@dataclass
class BtydResult:
    status: str
    message: str = ""
    #: Why it is not ``ok``, in more detail than the status (see BtydError).
    reason: str = ""
    model_params: dict = field(default_factory=dict)
    spend_params: dict = field(default_factory=dict)
    log_likelihood: float | None = None
    spend_log_likelihood: float | None = None
    customers_used: int = 0
    repeat_customers: int = 0
    distinct_rows: int = 0
    spend_frequency_corr: float | None = None
    timings: dict = field(default_factory=dict)
    #: Every fit attempt: {"model", "attempt", "outcome"} ("ok" or the optimizer's words).
    attempts: list = field(default_factory=list)


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


def _bgnbd_objective(x, t_x, T, w, penalizer: float):
    """Mean negative log-likelihood over log(r, alpha, a, b) and its gradient, as lifetimes'
    ``BetaGeoFitter._negative_log_likelihood`` defines it (t_x and T already scaled), summed per
    row in the same order. Gamma functions are evaluated once per distinct frequency and the
    logarithms of alpha + T and alpha + t_x once per distinct value."""
    total = w.sum()
    values, inverse = np.unique(x, return_inverse=True)  # frequencies take few values
    ages, age_of = np.unique(T, return_inverse=True)
    recencies, recency_of = np.unique(t_x, return_inverse=True)
    buyer = x > 0
    lowest = np.maximum(x, 1) - 1

    def objective(log_params):
        r, alpha, a, b = params = np.exp(log_params)
        log_t, log_tx = np.log(alpha + ages)[age_of], np.log(recencies + alpha)[recency_of]
        rx = r + x
        a12 = (gammaln(r + values) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + values)
               - gammaln(b) - gammaln(a + b + values))[inverse]
        a3 = -rx * log_t
        a4 = np.log(a) - np.log(b + lowest) - rx * log_tx
        # log(e^a3 + [x > 0]·e^a4) by hand: numpy's logaddexp is several times slower.
        top = np.maximum(a3, a4)
        e3, e4 = np.exp(a3 - top), np.exp(a4 - top) * buyer
        both = e3 + e4
        ll = np.dot(w, a12 + np.log(both) + top)
        ws4 = w * (e4 / both)
        ws3 = w - ws4
        grad = np.array([
            np.dot(w, (digamma(r + values) - digamma(r) + np.log(alpha))[inverse]) - np.dot(ws3, log_t)
            - np.dot(ws4, log_tx),
            total * r / alpha - np.dot(ws3 * rx, (1.0 / (alpha + ages))[age_of])
            - np.dot(ws4 * rx, (1.0 / (alpha + recencies))[recency_of]),
            np.dot(w, (digamma(a + b) - digamma(a + b + values))[inverse]) + ws4.sum() / a,
            np.dot(w, (digamma(a + b) + digamma(b + values) - digamma(b) - digamma(a + b + values))[inverse])
            - np.dot(ws4, 1.0 / (b + lowest)),
        ])
        value = -ll / total + penalizer * np.sum(params ** 2)
        return value, (-grad / total + 2 * penalizer * params) * params

    return objective


def _gamma_gamma_objective(x, m, w, penalizer: float):
    """Mean negative log-likelihood over log(p, q, v) and its gradient, as lifetimes'
    ``GammaGammaFitter._negative_log_likelihood`` defines it, summed per row in the same order.
    The gamma functions of p·x + q and p·x are evaluated once per distinct frequency."""
    total = w.sum()
    values, inverse = np.unique(x, return_inverse=True)
    log_m, log_x, xm = np.log(m), np.log(x), x * m

    def objective(log_params):
        p, q, v = params = np.exp(log_params)
        px = p * x
        log_xmv = np.log(xm + v)
        gammas = (gammaln(p * values + q) - gammaln(p * values))[inverse]
        ll = np.dot(w, gammas - gammaln(q) + q * np.log(v) + (px - 1) * log_m + px * log_x - (px + q) * log_xmv)
        psi = digamma(p * values + q)
        grad = np.array([
            np.dot(w, x * ((psi - digamma(p * values))[inverse] + log_m + log_x - log_xmv)),
            np.dot(w, psi[inverse] - digamma(q) + np.log(v) - log_xmv),
            np.dot(w, q / v - (px + q) / (xm + v)),
        ])
        value = -ll / total + penalizer * np.sum(params ** 2)
        return value, (-grad / total + 2 * penalizer * params) * params

    return objective


def _minimize(objective, size: int, model: str, method: str = "BFGS"):
    """Minimise over log-parameters from 0.1 (lifetimes' start). ``method=None`` in lifetimes
    picks BFGS for an unbounded problem with a gradient, so "BFGS" is the published fit."""
    with np.errstate(all="ignore"):
        if method == "Nelder-Mead":
            output = minimize(lambda x: objective(x)[0], method=method, x0=0.1 * np.ones(size),
                              options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
        else:
            output = minimize(objective, jac=True, method=None, tol=TOLERANCE, x0=0.1 * np.ones(size))
    if not output.success:
        stationary = (method != "Nelder-Mead" and np.all(np.isfinite(output.x))
                      and float(np.max(np.abs(objective(output.x)[1]))) < STATIONARY)
        if not stationary:
            raise BtydError("not_converged", f"{model} did not converge: {output.message}")
    return np.exp(output.x)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _check_inputs(frequency, recency=None, T=None, monetary=None) -> None:
    """lifetimes' input checks; a failure means the fit cannot run (status not_converged, as when
    lifetimes raised)."""
    problem = None
    if len(frequency) == 0:
        problem = "There exists a zero length vector in one of frequency, recency or T."
    elif recency is not None and np.any(recency > T):
        problem = "Some values in recency vector are larger than T vector."
    elif recency is not None and np.any(recency[frequency == 0] != 0):
        problem = "There exist non-zero recency values when frequency is zero."
    elif recency is not None and np.any(recency < 0):
        problem = "There exist negative recency (ex: last order set before first order)"
    elif np.any(frequency != np.round(frequency)):
        problem = "There exist non-integer values in the frequency vector."
    elif monetary is not None and np.any(monetary <= 0):
        problem = "There exist non-positive (<= 0) values in the monetary_value vector."
    if problem:
        raise BtydError("not_converged", problem, reason="invalid_data")


def fit_bgnbd(frequency, recency, T, *, penalizer: float = 0.0, scale_by: str = "oldest", method: str = "BFGS"):
    """Fit BG/NBD on the distinct (frequency, recency, T) rows, weighted. Time is scaled so the
    oldest customer has T = 1 (lifetimes), or the median customer (``scale_by="typical"``).
    Returns (params, log_likelihood, distinct_rows); raises BtydError(not_converged)."""
    frame = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T})
    rows = compress(frame, ["frequency", "recency", "T"])
    x = rows["frequency"].to_numpy(float)
    t_x, age, w = rows["recency"].to_numpy(float), rows["T"].to_numpy(float), rows["weight"].to_numpy(float)
    try:
        _check_inputs(x, t_x, age)
    except BtydError as exc:
        raise BtydError("not_converged", f"BG/NBD did not converge: {exc.message}", reason=exc.reason) from None
    scale = 1.0 / age.max() if age.max() > 0 else math.inf
    if not math.isfinite(scale):
        raise BtydError("not_converged", "BG/NBD did not converge: every customer bought for the first time today.",
                        reason="all_new")
    if scale_by == "typical":
        typical = _weighted_median(age, w)
        scale = 1.0 / typical if typical > 0 else scale
    r, alpha, a, b = _minimize(_bgnbd_objective(x, t_x * scale, age * scale, w, penalizer), 4, "BG/NBD", method)
    params = {"r": float(r), "alpha": float(alpha / scale), "a": float(a), "b": float(b)}
    if not _finite_positive(params):
        raise BtydError("not_converged", f"BG/NBD parameters are not finite and positive: {params}")
    ll = bgnbd_log_likelihood(params, x, t_x, age, w)
    return params, ll, len(rows)


def fit_gamma_gamma(frequency, monetary, *, penalizer: float = 0.0, scale_by: str = "oldest",
                    method: str = "BFGS"):
    """Fit Gamma-Gamma on repeat buyers' distinct (frequency, mean spend) rows, weighted. With
    ``scale_by="typical"`` spend is fitted in units of the median spend (v is scaled back)."""
    frame = pd.DataFrame({"frequency": frequency, "monetary": monetary})
    rows = compress(frame, ["frequency", "monetary"])
    x, m, w = (rows[name].to_numpy(float) for name in ("frequency", "monetary", "weight"))
    try:
        _check_inputs(x, monetary=m)
    except BtydError as exc:
        raise BtydError("not_converged", f"Gamma-Gamma did not converge: {exc.message}", reason=exc.reason) from None
    unit = _weighted_median(m, w) if scale_by == "typical" else 1.0
    unit = unit if unit > 0 else 1.0
    p, q, v = _minimize(_gamma_gamma_objective(x, m / unit, w, penalizer), 3, "Gamma-Gamma", method)
    params = {"p": float(p), "q": float(q), "v": float(v * unit)}
    if not _finite_positive(params) or params["q"] <= 1:
        # q <= 1 makes the population mean spend p·v/(q−1) undefined.
        raise BtydError("not_converged", f"Gamma-Gamma parameters are unusable: {params}")
    ll = gamma_gamma_log_likelihood(params, x, m, w)
    return params, ll


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
        result.status = result.reason = "insufficient_data"
        result.message = (f"{len(summary)} customers with purchases and {len(repeat)} repeat buyers; at least "
                          f"{min_customers} and {min_repeat_customers} are needed for a trustworthy fit.")
        return result
    if repeat["monetary"].nunique() > 1 and repeat["frequency"].nunique() > 1:
        result.spend_frequency_corr = float(np.corrcoef(repeat["frequency"], repeat["monetary"])[0, 1])
        if abs(result.spend_frequency_corr) > max_corr:
            result.status = result.reason = "spend_frequency_correlated"
            result.message = (f"Spend and purchase frequency are correlated ({result.spend_frequency_corr:.2f}); "
                              "Gamma-Gamma assumes they are independent, so no spend prediction is made.")
            return result
    try:
        started = time.perf_counter()
        result.model_params, result.log_likelihood, result.distinct_rows = _with_retries(
            result, "BG/NBD", penalizer,
            lambda **kw: fit_bgnbd(summary["frequency"], summary["recency"], summary["T"], **kw))
        result.timings["bgnbd_fit"] = round(time.perf_counter() - started, 4)
        if not (repeat["monetary"] > 0).all():
            raise BtydError("insufficient_data", "Some repeat buyers have a zero mean spend; Gamma-Gamma needs > 0.",
                            reason="zero_spend")
        started = time.perf_counter()
        result.spend_params, result.spend_log_likelihood = _with_retries(
            result, "Gamma-Gamma", penalizer,
            lambda **kw: fit_gamma_gamma(repeat["frequency"], repeat["monetary"], **kw))
        result.timings["gamma_gamma_fit"] = round(time.perf_counter() - started, 4)
    except BtydError as exc:
        result.status, result.message, result.reason = exc.status, exc.message, exc.reason
    return result


def _with_retries(result: BtydResult, model: str, penalizer: float, fit_once):
    """``fit_once(penalizer=, scale_by=, method=)`` through FIT_ATTEMPTS until one converges;
    every attempt is recorded. Data errors (not a convergence problem) are not retried."""
    for name, scale_by, retry_penalizer, method in FIT_ATTEMPTS:
        try:
            fitted = fit_once(penalizer=penalizer if retry_penalizer is None else max(penalizer, retry_penalizer),
                              scale_by=scale_by, method=method)
        except BtydError as exc:
            result.attempts.append({"model": model, "attempt": name, "outcome": exc.message})
            if exc.reason != "not_converged":
                raise  # the data, not the optimizer: another attempt would say the same
            last = exc
            continue
        result.attempts.append({"model": model, "attempt": name, "outcome": "ok"})
        return fitted
    raise last


def probability_alive(params: dict, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) (lifetimes' ``conditional_probability_alive``)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    log_div = (r + frequency) * np.log((alpha + T) / (alpha + recency)) + np.log(a / (b + np.maximum(frequency, 1) - 1))
    return np.atleast_1d(np.where(frequency == 0, 1.0, expit(-log_div)))


def _purchases_numerator(params: dict, t: float, x, T) -> np.ndarray:
    # lifetimes' conditional_expected_number_of_purchases_up_to_time without its denominator,
    # which is the only part that depends on recency.
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    _a, _b, _c = r + x, b + x, a + b + x - 1
    _z = t / (alpha + T + t)
    ln_hyp_term = np.log(hyp2f1(_a, _b, _c, _z))
    ln_hyp_term_alt = np.log(hyp2f1(_c - _a, _c - _b, _c, _z)) + (_c - _a - _b) * np.log(1 - _z)
    ln_hyp_term = np.where(np.isinf(ln_hyp_term), ln_hyp_term_alt, ln_hyp_term)
    first_term = (a + b + x - 1) / (a - 1)
    second_term = 1 - np.exp(ln_hyp_term + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    return first_term * second_term


def _purchases_denominator(params: dict, x, recency, T) -> np.ndarray:
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    return 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + recency)) ** (r + x)


def predict(
    result: BtydResult, summary: pd.DataFrame, *, time_unit: str, horizon_months: int, annual_discount_rate: float
) -> pd.DataFrame:
    """``summary`` plus, per customer: probability_alive, expected_purchases over the horizon and
    predicted_value, the discounted sum over months of expected purchases × Gamma-Gamma expected
    spend (the same sum lifetimes' ``customer_lifetime_value`` computes)."""
    params, spend_params = result.model_params, result.spend_params
    per_month = DAYS_PER_MONTH[time_unit]
    monthly_rate = (1 + annual_discount_rate) ** (1 / 12) - 1
    f, r, T = (summary[name].to_numpy(float) for name in ("frequency", "recency", "T"))
    out = summary.copy()
    with np.errstate(all="ignore"):
        out["probability_alive"] = probability_alive(params, f, r, T)
        pair_of = pd.DataFrame({"f": f, "T": T}).groupby(["f", "T"], sort=False).ngroup().to_numpy()
        first = np.unique(pair_of, return_index=True)[1]
        px, pT = f[first], T[first]
        discounted = np.zeros(len(first))
        previous = np.zeros(len(first))
        current = previous
        for month in range(1, horizon_months + 1):
            current = _purchases_numerator(params, per_month * month, px, pT)
            discounted += (current - previous) / (1 + monthly_rate) ** month
            previous = current
        denominator = _purchases_denominator(params, f, r, T)
        out["expected_purchases"] = current[pair_of] / denominator
        out["discounted_purchases"] = discounted[pair_of] / denominator
    p, q, v = spend_params["p"], spend_params["q"], spend_params["v"]
    individual_weight = p * f / (p * f + q - 1)
    spend = (1 - individual_weight) * (v * p / (q - 1)) + individual_weight * out["monetary"].to_numpy(float)
    out["expected_spend"] = spend
    out["predicted_value"] = out["discounted_purchases"] * spend
    return out

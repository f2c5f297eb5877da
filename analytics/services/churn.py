"""Churn: a per-tenant scikit-learn model trained with a time split, or an honest fallback."""

from __future__ import annotations

import datetime
import json
import time

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType
from scipy.optimize import minimize
from scipy.special import expit

from analytics import conf, registry
from analytics.figures import churn_band_thresholds
from analytics.history import EPOCH, OrderHistory, day_number, round_like_python
from analytics.models import ChurnPredictionLog, ClvCalculationLog, CustomerChurn, CustomerClv
from analytics.selectors import order_history_load
from analytics.sql import (
    churn_bands_sql,
    churn_write_sql,
    clv_probability_alive_sql,
    table_clear,
)

FEATURES = ("recency_days", "tenure_days", "purchase_days", "log_spend", "log_avg_order_value", "orders_recent",
            "recency_gap_ratio")
FEATURE_LABELS = {
    "recency_days": "Days since last purchase",
    "tenure_days": "Days since first purchase",
    "purchase_days": "Days with a purchase",
    "log_spend": "Total spend (log)",
    "log_avg_order_value": "Average order value (log)",
    "orders_recent": "Orders in the last window",
    "recency_gap_ratio": "Days since last purchase ÷ usual gap",
    "probability_alive": "Probability alive (BG/NBD)",
}
#: The model's columns: (feature, transform, constraint). The risk may only rise with the time
#: since the last purchase (+1: coefficient ≥ 0 on a transform that grows with it), so waiting
#: longer never makes a customer look safer; the other features are free. Days enter both as
#: they are and as log1p, which lets the risk rise fast over the first weeks and slower later.
MODEL_COLUMNS = (
    ("recency_days", "identity", 1), ("recency_days", "log1p", 1), ("recency_gap_ratio", "log1p", 1),
    ("tenure_days", "log1p", 0), ("purchase_days", "log1p", 0), ("log_spend", "identity", 0),
    ("log_avg_order_value", "identity", 0), ("orders_recent", "log1p", 0),
)
#: L2 penalty of the logistic regression, as scikit-learn's default (C = 1).
CHURN_C = 1.0
BANDS = [CustomerChurn.Band.ACTIVE, CustomerChurn.Band.AT_RISK, CustomerChurn.Band.CHURNING,
         CustomerChurn.Band.CHURNED]


def churn_band(probability: float, days_since_last_purchase: int) -> str:
    """Churned when the last purchase is a churn window or more ago (as the KPIs count it), else
    by the risk floors in settings.ANALYTICS_CHURN_BANDS: churning, at risk, active."""
    limits = churn_band_thresholds()
    if days_since_last_purchase >= limits["window_days"]:
        return CustomerChurn.Band.CHURNED
    if probability >= limits["churning"]:
        return CustomerChurn.Band.CHURNING
    if probability >= limits["at_risk"]:
        return CustomerChurn.Band.AT_RISK
    return CustomerChurn.Band.ACTIVE


def churn_features(*, history: OrderHistory, as_of: datetime.date, window: int) -> pd.DataFrame:
    """Model features of every customer with a purchase by ``as_of``, as known that day, by
    customer id. ``history`` may reach further; only purchases by ``as_of`` count."""
    known = history.until(day_number(as_of))
    facts = known.facts()
    frame = pd.DataFrame({
        "customer_id": facts.customer_id,
        "recency_days": (day_number(as_of) - facts.last_day).astype(float),
        "tenure_days": (day_number(as_of) - facts.first_day).astype(float),
        "orders": facts.orders.astype(float),
        "purchase_days": facts.purchase_days.astype(float),
        "spend": facts.spend / 100.0,
        "avg_order_value": facts.spend / (100.0 * np.maximum(facts.orders, 1)),
        "orders_recent": known.orders_after(day_number(as_of) - window).astype(float),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["mean_gap_days"] = np.where(facts.purchase_days > 1, (facts.last_day - facts.first_day)
                                          / (facts.purchase_days - 1.0), np.nan)
    frame["log_spend"] = np.log1p(frame["spend"].clip(lower=0))
    frame["log_avg_order_value"] = np.log1p(frame["avg_order_value"].clip(lower=0))
    # One-time buyers have no gap of their own: compare their recency with the churn window.
    gap = frame["mean_gap_days"].fillna(float(window)).clip(lower=1.0)
    frame["recency_gap_ratio"] = frame["recency_days"] / gap
    return frame


def _churn_days(*, as_of: datetime.date, current: pd.DataFrame, window: int) -> np.ndarray:
    """Per customer, the day (number) they would meet the churn definition — no purchase for the
    window, or twice their usual gap if that is longer — if they do not buy again."""
    gap = current["mean_gap_days"].fillna(0.0).to_numpy(float)
    recency = current["recency_days"].to_numpy(int)
    return day_number(as_of) - recency + np.maximum(window, 2 * gap).astype(int)


def _calibration(y_true, y_prob, bins: int = 5) -> list[dict]:
    order = np.argsort(y_prob)
    out = []
    for index, chunk in enumerate(np.array_split(order, bins)):
        if len(chunk):
            out.append({"bin": index + 1, "predicted": round(float(np.mean(y_prob[chunk])), 4),
                        "observed": round(float(np.mean(y_true[chunk])), 4), "n": int(len(chunk))})
    return out


def _design(frame: pd.DataFrame) -> np.ndarray:
    """The model's columns (MODEL_COLUMNS) of ``frame``'s features."""
    columns = []
    for feature, transform, _ in MODEL_COLUMNS:
        values = frame[feature].to_numpy(float)
        columns.append(np.log1p(np.maximum(values, 0)) if transform == "log1p" else values)
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


def _fit_logistic(x: np.ndarray, y: np.ndarray, *, nonnegative: list[bool], c: float = CHURN_C) -> dict:
    """L2-penalised logistic regression on standardized columns, as scikit-learn's
    ``LogisticRegression(C=c)`` minimises it, but with the coefficients of the ``nonnegative``
    columns kept ≥ 0 (L-BFGS-B bounds): scikit-learn cannot constrain signs, and a free fit may
    give recency a negative weight where it is collinear with the other features."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (x - mean) / scale

    def loss(w):
        t = w[0] + z @ w[1:]
        residual = expit(t) - y
        value = np.sum(np.logaddexp(0, t) - y * t) + np.dot(w[1:], w[1:]) / (2 * c)
        return value, np.r_[residual.sum(), z.T @ residual + w[1:] / c]

    bounds = [(None, None)] + [(0.0, None) if positive else (None, None) for positive in nonnegative]
    result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 1000})
    return {"intercept": float(result.x[0]),
            "columns": [{"feature": feature, "transform": transform, "mean": float(m), "scale": float(s),
                         "coef": float(w)}
                        for (feature, transform, _), m, s, w in zip(MODEL_COLUMNS, mean, scale, result.x[1:],
                                                                    strict=True)]}


def churn_contributions(model: dict, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(risk per customer, contribution of each feature of FEATURES to its log-odds, relative to
    the average customer the model was trained on: > 0 raises the risk, < 0 lowers it). The
    contributions and the intercept add up to the log-odds, so the explanation is the model."""
    x = _design(frame)
    columns = model["columns"]
    z = (x - np.array([c["mean"] for c in columns])) / np.array([c["scale"] for c in columns])
    parts = z * np.array([c["coef"] for c in columns])
    contributions = np.zeros((len(frame), len(FEATURES)))
    for index, column in enumerate(columns):
        contributions[:, FEATURES.index(column["feature"])] += parts[:, index]
    return expit(model["intercept"] + parts.sum(axis=1)), contributions


def churn_risk(model: dict, frame: pd.DataFrame) -> np.ndarray:
    """The model's risk (probability of no purchase in the next window) for ``frame``'s features."""
    return churn_contributions(model, frame)[0]


def _train(train: pd.DataFrame, labels: np.ndarray):
    """The monotone logistic model on 75% of the customers known at the cutoff, evaluated on the
    other 25% (held out: AUC, Brier score and a calibration table)."""
    # scikit-learn is imported here, on the first training, not with the module: it takes seconds to
    # import and every web process and command imports this module (no cycle is hidden here).
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    train_rows, test_rows = train_test_split(np.arange(len(train)), test_size=0.25, random_state=0, stratify=labels)
    model = _fit_logistic(_design(train.iloc[train_rows]), labels[train_rows].astype(float),
                          nonnegative=[constraint > 0 for _, _, constraint in MODEL_COLUMNS])
    prob = churn_risk(model, train.iloc[test_rows])
    y_test = labels[test_rows]
    metrics = {
        "auc": float(roc_auc_score(y_test, prob)),
        "brier": float(brier_score_loss(y_test, prob)),
        "calibration": _calibration(y_test, prob),
        "train": len(train_rows),
        "test": len(test_rows),
    }
    return model, metrics


def _write_model_scores(*, model: dict, current: pd.DataFrame, log, as_of: datetime.date, window: int):
    """Score every current customer and write the rows. Factors are the three features that move
    the customer's log-odds the most away from the average customer's, with their contribution."""
    probabilities, contributions = churn_contributions(model, current)
    x = current[list(FEATURES)].to_numpy(float)
    top = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :3]
    rows = np.arange(len(x))
    factors = [(top[:, rank], x[rows, top[:, rank]], contributions[rows, top[:, rank]], 3)
               for rank in range(top.shape[1])]
    return _write_scores(log=log, as_of=as_of, current=current, window=window, probabilities=probabilities,
                         factors=factors)


_TEXT = StringDType()
# JSON without blanks: jsonb stores the same value and parses fewer bytes.
_JSON_PREFIX = np.array([f'{{"feature":{json.dumps(name)},"label":{json.dumps(label, ensure_ascii=False)},"value":'
                         for name, label in FEATURE_LABELS.items()], dtype=_TEXT)
_FEATURE_INDEX = {name: index for index, name in enumerate(FEATURE_LABELS)}
_EFFECT = np.array([',"effect":"lowers","weight":', ',"effect":"neutral","weight":', ',"effect":"raises","weight":'],
                   dtype=_TEXT)


def _factor_json(feature: np.ndarray, value: np.ndarray, weight: np.ndarray, digits: int) -> np.ndarray:
    """One factor per customer as a JSON object: feature, label, value (rounded to ``digits``),
    weight (its contribution to the risk's log-odds, rounded to 3) and effect, the sign of the
    weight as written ("raises", "lowers", or "neutral" when it rounds to 0), so the words
    always say what the number says."""
    text = _JSON_PREFIX[feature] + round_like_python(value, digits).astype(_TEXT)
    rounded = round_like_python(weight, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    return text + _EFFECT[np.sign(rounded).astype(int) + 1] + rounded.astype(_TEXT) + "}"


def _write_scores(*, log, as_of, current, window, probabilities, factors: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Replace the churn rows by one per customer of ``current``: probability (rounded to 6), its
    band, days since the last purchase, predicted churn date and the factors as a JSON list
    (``factors`` = [(feature index, value, weight, digits)], arrays over customers). Rows are
    formatted a chunk at a time while PostgreSQL parses the previous one. Returns the customer ids
    and their bands (indexes into ``BANDS``, as ``churn_band`` decides)."""
    limits = churn_band_thresholds()
    recency = current["recency_days"].to_numpy()
    band = np.select([recency >= limits["window_days"], probabilities >= limits["churning"],
                      probabilities >= limits["at_risk"]], [3, 2, 1], default=0)
    churn_days = _churn_days(as_of=as_of, current=current, window=window)
    dates = np.datetime64(EPOCH, "D") + churn_days.astype("timedelta64[D]")
    ids, days = current["customer_id"].to_numpy(), current["recency_days"].to_numpy(int)
    names = np.array([str(name) for name in BANDS], dtype=_TEXT)
    fixed = f"\t{log.pk}\t{as_of.isoformat()}\t"

    def chunks(size: int = 50_000):
        for start in range(0, len(ids), size):
            part = slice(start, start + size)
            line = (ids[part].astype(_TEXT) + fixed + round_like_python(probabilities[part], 6).astype(_TEXT) + "\t"
                    + names[band[part]] + f"\t{log.method}\t" + days[part].astype(_TEXT) + "\t"
                    + dates[part].astype(_TEXT) + "\t[")
            for index, (feature, value, weight, digits) in enumerate(factors):
                line = (line + ("," if index else "")
                        + _factor_json(feature[part], value[part], weight[part], digits))
            yield len(line), "".join((line + "]\n").tolist())

    churn_write_sql(chunks=chunks(), rows=len(ids))
    return ids, band


def churn_compute(*, tenant, as_of: datetime.date, job=None, history: OrderHistory | None = None) -> ChurnPredictionLog:
    """Train on features at ``as_of − window`` labelled by whether the customer bought in the
    following window, evaluate on held-out customers, then score everyone as of ``as_of``.
    Too little history: 1 − P(alive) from this run's CLV fit, or no scores if there is none.
    ``history`` is the run's order history (read here when not given)."""
    started = time.perf_counter()
    window = int(conf.get("ANALYTICS_CHURN_WINDOW_DAYS"))
    cutoff = as_of - datetime.timedelta(days=window)
    if history is None:
        history = order_history_load(tenant=tenant, as_of=as_of)
    history = history.until(day_number(as_of))
    train = churn_features(history=history, as_of=cutoff, window=window)
    current = churn_features(history=history, as_of=as_of, window=window)
    labels = _churn_labels(train=train, current=current, window=window)
    log = ChurnPredictionLog(job=job, as_of=as_of, cutoff=cutoff, window_days=window,
                             churn_rate=round(int(labels.sum()) / len(labels), 4) if len(labels) else None)
    timings = {"features": round(time.perf_counter() - started, 4)}
    # Only when someone listens (webhooks): remember the bands to report who moved.
    previous = churn_bands_sql(bands=BANDS) if registry.bus.has_subscribers("churn.band_changed") else None
    if _enough_to_train(train, labels):
        scored = _score_with_model(log=log, train=train, labels=labels, current=current, timings=timings)
    else:
        scored = _score_without_model(log=log, train=train, labels=labels, current=current)
    if previous is not None:
        _publish_band_changes(previous, scored)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.scored_customers = len(scored[0])
    log.timings = timings
    log.save(update_fields=["scored_customers", "timings", "updated_at"])
    return log


def _churn_labels(*, train: pd.DataFrame, current: pd.DataFrame, window: int) -> np.ndarray:
    """1 for each customer known at the cutoff who churned: no purchase in (cutoff, as_of], so as
    of as_of their last purchase is a window or more ago (everyone known at the cutoff is a
    current customer too)."""
    position = np.searchsorted(current["customer_id"].to_numpy(), train["customer_id"].to_numpy())
    return (current["recency_days"].to_numpy()[position] >= window).astype(int)


def _enough_to_train(train: pd.DataFrame, labels: np.ndarray) -> bool:
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    return (len(train) >= int(conf.get("ANALYTICS_CHURN_MIN_TRAIN_CUSTOMERS"))
            and min(positives, negatives) >= int(conf.get("ANALYTICS_CHURN_MIN_CLASS_SIZE")))


def _score_with_model(*, log: ChurnPredictionLog, train, labels, current, timings: dict):
    """Train and evaluate the model (recorded on ``log``), then score every current customer."""
    step = time.perf_counter()
    model, metrics = _train(train, labels)
    timings["train"] = round(time.perf_counter() - step, 4)
    log.method = ChurnPredictionLog.Method.MODEL
    log.message = (f"Learned from what {metrics['train']} customers did after {log.cutoff} (churn = no purchase in "
                   f"the next {log.window_days} days), checked on {metrics['test']} other customers it had not seen.")
    log.train_customers, log.test_customers = metrics["train"], metrics["test"]
    log.auc, log.brier, log.calibration = metrics["auc"], metrics["brier"], metrics["calibration"]
    log.coefficients = model
    log.save()
    return _write_model_scores(model=model, current=current, log=log, as_of=log.as_of, window=log.window_days)


def _score_without_model(*, log: ChurnPredictionLog, train, labels, current):
    """Too little history to train: 1 − probability alive from this run's CLV fit when there is
    one (its factor is that probability), else no scores at all. ``log`` says which and why."""
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    reason = (f"History too short to train: {len(train)} customers known at {log.cutoff} "
              f"({positives} churned, {negatives} stayed).")
    as_of = log.as_of
    clv_ok = ClvCalculationLog.objects.filter(as_of=as_of, status=ClvCalculationLog.Status.OK).exists()
    if not (clv_ok and CustomerClv.objects.filter(as_of=as_of).exists()):
        log.method = ChurnPredictionLog.Method.NONE
        log.message = f"{reason} No CLV fit to fall back on either, so no churn scores."
        log.save()
        table_clear(model=CustomerChurn)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int)
    log.method = ChurnPredictionLog.Method.FALLBACK
    log.message = f"{reason} Using 1 − probability alive from the BG/NBD fit instead."
    log.save()
    ids, alive = clv_probability_alive_sql(as_of=as_of)
    known = current[current["customer_id"].isin(ids)]
    alive = alive[np.searchsorted(ids, known["customer_id"].to_numpy())]
    feature = np.full(len(known), _FEATURE_INDEX["probability_alive"])
    # Its effect is relative to the average customer too: less likely alive raises the risk.
    weight = alive.mean() - alive if len(alive) else alive
    return _write_scores(log=log, as_of=as_of, current=known, window=log.window_days, probabilities=1.0 - alive,
                         factors=[(feature, alive, weight, 4)])


def _publish_band_changes(previous: tuple[np.ndarray, np.ndarray], scored: tuple[np.ndarray, np.ndarray]) -> None:
    """``churn.band_changed`` for customers scored before and now in another band, by customer."""
    common, before, after = np.intersect1d(previous[0], scored[0], assume_unique=True, return_indices=True)
    moved = previous[1][before] != scored[1][after]
    changes = [{"customer_id": int(customer_id), "old": str(BANDS[old]) if old >= 0 else "", "new": str(BANDS[new])}
               for customer_id, old, new in zip(common[moved], previous[1][before][moved], scored[1][after][moved],
                                                strict=True)]
    registry.publish_on_commit([("churn.band_changed", {"changes": chunk}) for chunk in registry.chunks(changes)])


def churn_step_summary(log: ChurnPredictionLog) -> dict:
    return {"method": log.method, "message": log.message, "auc": log.auc, "brier": log.brier,
            "train_customers": log.train_customers, "test_customers": log.test_customers,
            "bands": churn_band_thresholds(), "rows": log.scored_customers}

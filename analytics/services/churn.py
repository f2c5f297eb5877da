"""Churn: a per-tenant scikit-learn model trained with a time split, or an honest fallback."""

from __future__ import annotations

import datetime
import json
import time
import warnings

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from analytics import conf, registry
from analytics.history import EPOCH, OrderHistory, day_number, round_like_python
from analytics.models import ChurnPredictionLog, ClvCalculationLog, CustomerChurn, CustomerClv
from analytics.services.history import order_history_load
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
BANDS = [CustomerChurn.Band.ACTIVE, CustomerChurn.Band.AT_RISK, CustomerChurn.Band.CHURNING,
         CustomerChurn.Band.CHURNED]


def churn_band(probability: float) -> str:
    """Bands by the floors in settings.ANALYTICS_CHURN_BANDS."""
    bands = conf.get("ANALYTICS_CHURN_BANDS")
    if probability >= bands["churned"]:
        return CustomerChurn.Band.CHURNED
    if probability >= bands["churning"]:
        return CustomerChurn.Band.CHURNING
    if probability >= bands["at_risk"]:
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


def _train(train: pd.DataFrame, labels: np.ndarray):
    """Logistic regression on standardized features: calibrated probabilities and coefficients
    that explain each score. Evaluated on held-out customers."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = train[list(FEATURES)].to_numpy(float)
    x_train, x_test, y_train, y_test = train_test_split(x, labels, test_size=0.25, random_state=0, stratify=labels)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
    prob = model.predict_proba(x_test)[:, 1]
    metrics = {
        "auc": float(roc_auc_score(y_test, prob)),
        "brier": float(brier_score_loss(y_test, prob)),
        "calibration": _calibration(y_test, prob),
        "train": len(x_train),
        "test": len(x_test),
    }
    return model, metrics


def _write_model_scores(*, model, current: pd.DataFrame, log, as_of: datetime.date, window: int):
    """Score every current customer and write the rows. Factors are each feature's contribution
    to the log-odds (standardized value × coefficient), the three strongest first."""
    x = current[list(FEATURES)].to_numpy(float)
    probabilities = model.predict_proba(x)[:, 1] if len(x) else np.zeros(0)
    scaler, logistic = model.steps[0][1], model.steps[1][1]
    contributions = (x - scaler.mean_) / np.where(scaler.scale_ == 0, 1, scaler.scale_) * logistic.coef_[0]
    top = np.argsort(-np.abs(contributions), axis=1)[:, :3]
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
_EFFECT = np.array([',"effect":"lowers","weight":', ',"effect":"raises","weight":'], dtype=_TEXT)


def _factor_json(feature: np.ndarray, value: np.ndarray, weight: np.ndarray | None, digits: int) -> np.ndarray:
    """One factor per customer as the JSON object ``json.dumps`` wrote before: feature, label,
    value (rounded to ``digits``), effect (the sign of the weight) and weight (rounded to 3, or
    null without one)."""
    text = _JSON_PREFIX[feature] + round_like_python(value, digits).astype(_TEXT)
    if weight is None:
        return text + ',"effect":"lowers","weight":null}'
    return text + _EFFECT[(weight > 0).astype(int)] + round_like_python(weight, 3).astype(_TEXT) + "}"


def _write_scores(*, log, as_of, current, window, probabilities, factors: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Replace the churn rows by one per customer of ``current``: probability (rounded to 6), its
    band, days since the last purchase, predicted churn date and the factors as a JSON list
    (``factors`` = [(feature index, value, weight or None, digits)], arrays over customers). Rows
    are formatted a chunk at a time while PostgreSQL parses the previous one. Returns the
    customer ids and their bands (indexes into ``BANDS``)."""
    bands = conf.get("ANALYTICS_CHURN_BANDS")
    band = np.select([probabilities >= bands["churned"], probabilities >= bands["churning"],
                      probabilities >= bands["at_risk"]], [3, 2, 1], default=0)
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
                        + _factor_json(feature[part], value[part], None if weight is None else weight[part], digits))
            yield len(line), "".join((line + "]\n").tolist())

    churn_write_sql(chunks=chunks())
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
    # Churned = no purchase in (cutoff, as_of]: as of as_of, the last purchase is a window or more ago.
    # Everyone known at the cutoff is a current customer too.
    position = np.searchsorted(current["customer_id"].to_numpy(), train["customer_id"].to_numpy())
    labels = (current["recency_days"].to_numpy()[position] >= window).astype(int)
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    log = ChurnPredictionLog(job=job, as_of=as_of, cutoff=cutoff, window_days=window,
                             churn_rate=round(positives / len(labels), 4) if len(labels) else None)
    timings = {"features": round(time.perf_counter() - started, 4)}

    enough = (len(train) >= int(conf.get("ANALYTICS_CHURN_MIN_TRAIN_CUSTOMERS"))
              and min(positives, negatives) >= int(conf.get("ANALYTICS_CHURN_MIN_CLASS_SIZE")))
    # Only when someone listens (webhooks): remember the bands to report who moved.
    previous = churn_bands_sql(bands=BANDS) if registry.bus.has_subscribers("churn.band_changed") else None
    scored = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int))
    if enough:
        step = time.perf_counter()
        model, metrics = _train(train, labels)
        timings["train"] = round(time.perf_counter() - step, 4)
        log.method = ChurnPredictionLog.Method.MODEL
        log.message = (f"Trained on {metrics['train']} customers known at {cutoff} (churn = no purchase in the "
                       f"next {window} days), evaluated on {metrics['test']} held-out customers.")
        log.train_customers, log.test_customers = metrics["train"], metrics["test"]
        log.auc, log.brier, log.calibration = metrics["auc"], metrics["brier"], metrics["calibration"]
        logistic = model.steps[1][1]
        log.coefficients = {name: round(float(c), 4) for name, c in zip(FEATURES, logistic.coef_[0], strict=True)}
        log.save()
        scored = _write_model_scores(model=model, current=current, log=log, as_of=as_of, window=window)
    else:
        reason = (f"History too short to train: {len(train)} customers known at {cutoff} "
                  f"({positives} churned, {negatives} stayed).")
        clv_ok = ClvCalculationLog.objects.filter(as_of=as_of, status=ClvCalculationLog.Status.OK).exists()
        if clv_ok and CustomerClv.objects.filter(as_of=as_of).exists():
            log.method = ChurnPredictionLog.Method.FALLBACK
            log.message = f"{reason} Using 1 − probability alive from the BG/NBD fit instead."
            log.save()
            ids, alive = clv_probability_alive_sql(as_of=as_of)
            known = current[current["customer_id"].isin(ids)]
            alive = alive[np.searchsorted(ids, known["customer_id"].to_numpy())]
            feature = np.full(len(known), _FEATURE_INDEX["probability_alive"])
            scored = _write_scores(log=log, as_of=as_of, current=known, window=window, probabilities=1.0 - alive,
                                   factors=[(feature, alive, None, 4)])
        else:
            log.method = ChurnPredictionLog.Method.NONE
            log.message = f"{reason} No CLV fit to fall back on either, so no churn scores."
            log.save()
            table_clear(model=CustomerChurn)
    if previous is not None:
        _publish_band_changes(previous, scored)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.scored_customers = len(scored[0])
    log.timings = timings
    log.save(update_fields=["scored_customers", "timings", "updated_at"])
    return log


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
            "rows": log.scored_customers}

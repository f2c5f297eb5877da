"""Churn: a per-tenant scikit-learn model trained with a time split, or an honest fallback."""

from __future__ import annotations

import datetime
import json
import math
import time
import warnings

import numpy as np
import pandas as pd

from analytics import conf, registry
from analytics.models import ChurnPredictionLog, ClvCalculationLog, CustomerChurn, CustomerClv
from analytics.sql import buyers_between_sql, churn_features_sql, copy_rows

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
BATCH = 5000


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


def churn_features(*, tenant, as_of: datetime.date, window: int) -> pd.DataFrame:
    """Model features of every customer with a purchase by ``as_of``, as known that day."""
    rows = churn_features_sql(as_of=as_of, tz=tenant.setting("timezone"), recent_days=window)
    frame = pd.DataFrame(rows, columns=["customer_id", "recency_days", "tenure_days", "orders", "purchase_days",
                                        "spend", "avg_order_value", "orders_recent", "mean_gap_days"])
    frame = frame.astype({"recency_days": float, "tenure_days": float, "orders": float, "purchase_days": float,
                          "spend": float, "avg_order_value": float, "orders_recent": float})
    frame["mean_gap_days"] = pd.to_numeric(frame["mean_gap_days"], errors="coerce").astype(float)
    frame["log_spend"] = np.log1p(frame["spend"].clip(lower=0))
    frame["log_avg_order_value"] = np.log1p(frame["avg_order_value"].clip(lower=0))
    # One-time buyers have no gap of their own: compare their recency with the churn window.
    gap = frame["mean_gap_days"].fillna(float(window)).clip(lower=1.0)
    frame["recency_gap_ratio"] = frame["recency_days"] / gap
    return frame


def _predicted_churn_date(*, as_of: datetime.date, recency_days: float, mean_gap, window: int) -> datetime.date:
    """The day the customer would meet the churn definition (no purchase for the window, or twice
    their usual gap if that is longer) if they do not buy again."""
    gap = 0.0 if mean_gap is None or (isinstance(mean_gap, float) and math.isnan(mean_gap)) else float(mean_gap)
    last_purchase = as_of - datetime.timedelta(days=int(recency_days))
    return last_purchase + datetime.timedelta(days=int(max(window, 2 * gap)))


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


def _write_model_scores(*, model, current: pd.DataFrame, log, as_of: datetime.date, window: int) -> int:
    """Score every current customer and COPY the rows. Factors are each feature's contribution to
    the log-odds (standardized value × coefficient), the three strongest first; vectorized."""
    if not len(current):
        return 0
    x = current[list(FEATURES)].to_numpy(float)
    probabilities = model.predict_proba(x)[:, 1]
    scaler, logistic = model.steps[0][1], model.steps[1][1]
    contributions = (x - scaler.mean_) / np.where(scaler.scale_ == 0, 1, scaler.scale_) * logistic.coef_[0]
    top = np.argsort(-np.abs(contributions), axis=1)[:, :3]
    bands = conf.get("ANALYTICS_CHURN_BANDS")
    band = np.select([probabilities >= bands["churned"], probabilities >= bands["churning"],
                      probabilities >= bands["at_risk"]], ["churned", "churning", "at_risk"], default="active")
    gap = current["mean_gap_days"].fillna(0.0).to_numpy(float)
    recency = current["recency_days"].to_numpy(int)
    horizon = np.maximum(window, 2 * gap).astype(int)
    churn_dates = [as_of + datetime.timedelta(days=int(h - r)) for h, r in zip(horizon, recency, strict=True)]

    def factors(i: int) -> str:
        return json.dumps([
            {"feature": FEATURES[j], "label": FEATURE_LABELS[FEATURES[j]], "value": round(float(x[i, j]), 3),
             "effect": "raises" if contributions[i, j] > 0 else "lowers", "weight": round(float(contributions[i, j]), 3)}
            for j in top[i]
        ])

    rows = (
        (int(cid), log.pk, as_of, round(float(probabilities[i]), 6), str(band[i]), log.method, int(recency[i]),
         churn_dates[i], factors(i))
        for i, cid in enumerate(current["customer_id"].tolist())
    )
    return copy_rows(model=CustomerChurn, rows=rows, columns=[
        "customer_id", "log_id", "as_of", "probability", "band", "method", "days_since_last_purchase",
        "predicted_churn_date", "factors"])


def churn_compute(*, tenant, as_of: datetime.date, job=None) -> ChurnPredictionLog:
    """Train on features at ``as_of − window`` labelled by whether the customer bought in the
    following window, evaluate on held-out customers, then score everyone as of ``as_of``.
    Too little history: 1 − P(alive) from this run's CLV fit, or no scores if there is none."""
    started = time.perf_counter()
    window = int(conf.get("ANALYTICS_CHURN_WINDOW_DAYS"))
    cutoff = as_of - datetime.timedelta(days=window)
    train = churn_features(tenant=tenant, as_of=cutoff, window=window)
    buyers = buyers_between_sql(start=cutoff, end=as_of, tz=tenant.setting("timezone"))
    labels = (~train["customer_id"].isin(buyers)).to_numpy(int)
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    log = ChurnPredictionLog(job=job, as_of=as_of, cutoff=cutoff, window_days=window,
                             churn_rate=round(positives / len(labels), 4) if len(labels) else None)
    timings = {"features": round(time.perf_counter() - started, 4)}

    enough = (len(train) >= int(conf.get("ANALYTICS_CHURN_MIN_TRAIN_CUSTOMERS"))
              and min(positives, negatives) >= int(conf.get("ANALYTICS_CHURN_MIN_CLASS_SIZE")))
    # Only when someone listens (webhooks): remember the bands to report who moved.
    previous = (dict(CustomerChurn.objects.values_list("customer_id", "band"))
                if registry.bus.has_subscribers("churn.band_changed") else None)
    CustomerChurn.objects.all().delete()
    rows: list[CustomerChurn] = []
    written = 0
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
        current = churn_features(tenant=tenant, as_of=as_of, window=window)
        written = _write_model_scores(model=model, current=current, log=log, as_of=as_of, window=window)
    else:
        reason = (f"History too short to train: {len(train)} customers known at {cutoff} "
                  f"({positives} churned, {negatives} stayed).")
        clv_ok = ClvCalculationLog.objects.filter(as_of=as_of, status=ClvCalculationLog.Status.OK).exists()
        clv_rows = CustomerClv.objects.filter(as_of=as_of) if clv_ok else CustomerClv.objects.none()
        if clv_ok and clv_rows.exists():
            log.method = ChurnPredictionLog.Method.FALLBACK
            log.message = f"{reason} Using 1 − probability alive from the BG/NBD fit instead."
            log.save()
            current = churn_features(tenant=tenant, as_of=as_of, window=window).set_index("customer_id")
            for clv in clv_rows.only("customer_id", "probability_alive"):
                if clv.customer_id not in current.index:
                    continue
                feats = current.loc[clv.customer_id]
                p = 1.0 - float(clv.probability_alive)
                rows.append(CustomerChurn(
                    customer_id=clv.customer_id, log=log, as_of=as_of, probability=round(p, 6), band=churn_band(p),
                    method=log.method, days_since_last_purchase=int(feats["recency_days"]),
                    predicted_churn_date=_predicted_churn_date(as_of=as_of, recency_days=feats["recency_days"],
                                                               mean_gap=feats["mean_gap_days"], window=window),
                    factors=[{"feature": "probability_alive", "label": FEATURE_LABELS["probability_alive"],
                              "value": round(float(clv.probability_alive), 4), "effect": "lowers", "weight": None}],
                ))
        else:
            log.method = ChurnPredictionLog.Method.NONE
            log.message = f"{reason} No CLV fit to fall back on either, so no churn scores."
            log.save()
    if log.method != ChurnPredictionLog.Method.MODEL:
        CustomerChurn.objects.bulk_create(rows, batch_size=BATCH)
        written = len(rows)
    if previous is not None:
        _publish_band_changes(previous)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.scored_customers = written
    log.timings = timings
    log.save(update_fields=["scored_customers", "timings", "updated_at"])
    return log


def _publish_band_changes(previous: dict[int, str]) -> None:
    """``churn.band_changed`` for customers scored before and now in another band."""
    changes = [
        {"customer_id": customer_id, "old": previous[customer_id], "new": band}
        for customer_id, band in CustomerChurn.objects.filter(customer_id__in=list(previous)).values_list(
            "customer_id", "band").order_by("customer_id")
        if previous[customer_id] != band
    ]
    registry.publish_on_commit([("churn.band_changed", {"changes": chunk}) for chunk in registry.chunks(changes)])


def churn_step_summary(log: ChurnPredictionLog) -> dict:
    return {"method": log.method, "message": log.message, "auc": log.auc, "brier": log.brier,
            "train_customers": log.train_customers, "test_customers": log.test_customers,
            "rows": log.scored_customers}

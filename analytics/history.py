"""Customers' counted purchases as arrays, and every per-customer and per-day figure a recompute
derives from them.

Pure numerics, no Django (like ``analytics.btyd``): ``analytics.sql.counted_orders_sql`` reads the
orders once per run and the steps (RFM, CLV, churn, cohorts, KPIs) all compute from one
``OrderHistory`` instead of scanning the orders five times. Money stays in integer cents, so sums
are exact like PostgreSQL's numeric; days are counted from 2000-01-01 (PostgreSQL's date epoch).
Each function states the SQL it replaces so the semantics can be checked side by side.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

EPOCH = datetime.date(2000, 1, 1)


def day_number(day: datetime.date) -> int:
    return (day - EPOCH).days


def day_date(number) -> datetime.date:
    return EPOCH + datetime.timedelta(days=int(number))


def months(days: np.ndarray) -> np.ndarray:
    """Calendar month of each day as a running count (year * 12 + month - 1)."""
    month = (np.datetime64(EPOCH, "D") + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    return month + 1970 * 12


def round_like_python(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(float(v), digits)`` for every value: numpy's ``round`` scales first and can land on
    the other side of a tie (or lose digits of huge values), so those few are rounded by Python."""
    values = np.asarray(values, dtype=float)
    rounded = np.round(values, digits)
    scaled = np.abs(values) * 10.0 ** digits
    with np.errstate(invalid="ignore"):
        doubtful = (np.abs(scaled - np.floor(scaled) - 0.5) < np.maximum(1e-6, scaled * 1e-13)) | (scaled >= 2.0 ** 48)
    for index in np.flatnonzero(doubtful):
        rounded[index] = round(float(values[index]), digits)
    return rounded


def rank_min(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """SQL ``RANK() OVER (ORDER BY value)``: 1 + how many values come strictly before (ties share)."""
    values = np.asarray(values)
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    low, high = values.min(), values.max()
    if values.dtype.kind in "iu" and high - low <= 4 * len(values):
        # Integers in a narrow range (days, order counts): count instead of sorting.
        counts = np.bincount(values - low)
        before = np.cumsum(counts) - counts
        if descending:
            before = len(values) - before - counts
        return before[values - low] + 1
    ordered = np.sort(values)
    if descending:
        return len(values) - np.searchsorted(ordered, values, side="right") + 1
    return np.searchsorted(ordered, values, side="left") + 1


def quintile(values: np.ndarray, descending: bool = False) -> np.ndarray:
    """``LEAST(5, 1 + FLOOR(5.0 * (RANK() - 1) / COUNT(*)))``: scores 1–5, equal values share one."""
    if not len(values):
        return np.zeros(0, dtype=np.int16)
    ranks = rank_min(values, descending).astype(np.int64)
    return np.minimum(5, 1 + (5 * (ranks - 1)) // len(values)).astype(np.int16)


def _group_starts(keys: np.ndarray) -> np.ndarray:
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


@dataclass(frozen=True)
class CustomerFacts:
    """One row per customer with a counted purchase, ascending ``customer_id``."""

    customer_id: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    purchase_days: np.ndarray  # distinct local days with a purchase
    orders: np.ndarray
    spend: np.ndarray  # cents
    first_day_spend: np.ndarray  # cents spent on the first purchase day

    def __len__(self) -> int:
        return len(self.customer_id)


class OrderHistory:
    """Counted purchases per customer and local day, sorted by (customer, day): ``cents`` and
    ``orders`` are that day's total and number of orders."""

    def __init__(self, customer_id: np.ndarray, day: np.ndarray, cents: np.ndarray, orders: np.ndarray):
        self.customer_id, self.day, self.cents, self.orders = customer_id, day, cents, orders
        self._starts = _group_starts(customer_id)
        self._facts: CustomerFacts | None = None

    @classmethod
    def from_orders(cls, customer_id, day, cents, *, until: int | None = None) -> OrderHistory:
        """Group single orders (any order) per customer and day, keeping days <= ``until``."""
        customer_id = np.asarray(customer_id, dtype=np.int64)
        day, cents = np.asarray(day, dtype=np.int64), np.asarray(cents, dtype=np.int64)
        if until is not None:
            keep = day <= until
            customer_id, day, cents = customer_id[keep], day[keep], cents[keep]
        if not len(customer_id):
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty)
        if float(np.abs(cents).sum(dtype=float)) >= 2.0 ** 62:
            # Every sum below stays under this total, so 64-bit integer cents are exact.
            raise OverflowError("Counted orders total more than 4.6e16 cents; 64-bit sums would not be exact.")
        low, span = int(day.min()), int(day.max() - day.min()) + 1
        if int(customer_id.max()) < 2 ** 62 // span and int(customer_id.min()) >= 0:
            order = np.argsort(customer_id * span + (day - low))
        else:
            order = np.lexsort((day, customer_id))
        customer_id, day, cents = customer_id[order], day[order], cents[order]
        starts = np.flatnonzero(np.r_[True, (customer_id[1:] != customer_id[:-1]) | (day[1:] != day[:-1])])
        counts = np.diff(np.r_[starts, len(day)])
        return cls(customer_id[starts], day[starts], np.add.reduceat(cents, starts), counts.astype(np.int64))

    def __len__(self) -> int:
        return len(self.customer_id)

    def until(self, day: int) -> OrderHistory:
        """The history as known at the end of ``day``."""
        keep = self.day <= day
        if keep.all():
            return self
        return OrderHistory(self.customer_id[keep], self.day[keep], self.cents[keep], self.orders[keep])

    def facts(self) -> CustomerFacts:
        """Per customer: first/last purchase day, purchase days, orders, spend, first day's spend."""
        if self._facts is None:
            self._facts = self._compute_facts()
        return self._facts

    def _compute_facts(self) -> CustomerFacts:
        starts = self._starts
        ends = np.r_[starts[1:], len(self.day)][:len(starts)] - 1
        return CustomerFacts(
            customer_id=self.customer_id[starts],
            first_day=self.day[starts],
            last_day=self.day[ends],
            purchase_days=np.diff(np.r_[starts, len(self.day)])[:len(starts)],
            orders=self._per_customer(self.orders),
            spend=self._per_customer(self.cents),
            first_day_spend=self.cents[starts],
        )

    def orders_after(self, day: int) -> np.ndarray:
        """Per customer (as in ``facts``): orders on days after ``day``."""
        return self._per_customer(np.where(self.day > day, self.orders, 0))

    def _per_customer(self, values: np.ndarray) -> np.ndarray:
        if not len(values):
            return np.zeros(0, dtype=np.int64)
        return np.add.reduceat(values, self._starts)

    def cohorts(self) -> dict[str, np.ndarray]:
        """Month of first purchase × whole months since, as ``cohorts_compute`` defines them:
        cohort_size (customers acquired that month), customers (distinct buyers in the cell) and
        revenue (cents), one entry per cell with a purchase, sorted by (cohort, months_since)."""
        if not len(self):
            empty = np.zeros(0, dtype=np.int64)
            return {"cohort": empty, "months_since": empty, "cohort_size": empty, "customers": empty, "revenue": empty}
        month = months(self.day)
        per_customer = np.diff(np.r_[self._starts, len(self.day)])
        cohort = np.repeat(month[self._starts], per_customer)
        since = month - cohort
        # Rows are sorted by (customer, day), so a (customer, month) repeats only on adjacent rows.
        first_in_month = np.r_[True, (self.customer_id[1:] != self.customer_id[:-1]) | (month[1:] != month[:-1])]
        # Cohorts and months-since both span the history's months: a dense grid of cells.
        low, width = int(month.min()), int(month.max() - month.min()) + 1
        cell = (cohort - low) * width + since
        size = width * width
        buyers = np.bincount(cell, weights=first_in_month, minlength=size).astype(np.int64)
        present = np.flatnonzero(np.bincount(cell, minlength=size))
        sizes = np.bincount(month[self._starts] - low, minlength=width)
        return {
            "cohort": present // width + low,
            "months_since": present % width,
            "cohort_size": sizes[present // width],
            "customers": buyers[present],
            "revenue": _exact_sums(cell, self.cents, size)[present],
        }

    def daily_kpis(self, *, end: int, windows=(30, 90, 365)) -> dict[str, np.ndarray]:
        """Daily KPIs from the first purchase day to ``end`` as ``kpis_compute`` defines them.
        Active-N customers: each purchase day opens an interval until N days later or the next
        purchase day, whichever is first, so a customer is counted once on any day."""
        if not len(self):
            return {"day": np.zeros(0, dtype=np.int64)}
        first = int(self.day.min())
        size = end - first + 1
        index = self.day - first
        starts = self._starts
        rank = np.arange(len(self.day)) - np.repeat(starts, np.diff(np.r_[starts, len(self.day)]))
        new_customer = rank == 0
        next_day = np.r_[self.day[1:], 0]
        has_next = np.r_[self.customer_id[1:] == self.customer_id[:-1], False]
        out = {
            "day": np.arange(first, end + 1),
            "revenue": _exact_sums(index, self.cents, size),
            "orders": np.bincount(index, weights=self.orders, minlength=size).astype(np.int64),
            "new_customers": np.bincount(index, weights=new_customer, minlength=size).astype(np.int64),
            "returning_customers": np.bincount(index, weights=~new_customer, minlength=size).astype(np.int64),
        }
        out["total_customers"] = np.cumsum(out["new_customers"])
        repeaters = np.cumsum(np.bincount(index, weights=rank == 1, minlength=size)).astype(np.int64)
        opened = np.bincount(index, minlength=size)
        for window in windows:
            closes = np.where(has_next, np.minimum(self.day + window, next_day), self.day + window) - first
            closed = np.bincount(closes[closes < size], minlength=size)
            out[f"active_{window}"] = np.cumsum(opened - closed).astype(np.int64)
        totals = out["total_customers"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["repeat_purchase_rate"] = np.where(totals > 0, repeaters / totals, 0.0)
            out["churn_rate"] = np.where(totals > 0, 1 - out["active_90"] / totals, 0.0)
        out["average_order_value"] = _mean_cents_rounded(out["revenue"], out["orders"])
        return out


def _exact_sums(index: np.ndarray, cents: np.ndarray, size: int) -> np.ndarray:
    """Sum of integer cents per index, exactly (``np.bincount`` would sum in floating point)."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, index, cents)
    return out


def _mean_cents_rounded(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``ROUND(total / count, 2)`` in cents (half away from zero, as numeric rounds); 0 without count."""
    safe = np.maximum(count, 1)
    magnitude = (2 * np.abs(total) + safe) // (2 * safe)
    return np.where(count > 0, np.sign(total) * magnitude, 0)

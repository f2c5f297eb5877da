"""The array path of the recompute: one read of the orders, numpy aggregates that must say exactly
what the SQL they replaced said, and bulk rewrites that leave the tables as they were."""

import datetime
import json
import zoneinfo
from collections import defaultdict

import numpy as np
import pytest

from analytics import btyd, sql
from analytics.history import OrderHistory, day_date, day_number, months, quintile, rank_min, round_like_python
from analytics.models import CustomerChurn
from analytics.services import analytics_run, churn_compute, rfm_compute
from analytics.selectors import order_history_load
from tests.analytics.conftest import synthetic_history

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


def _at(tenant, day, hour, minute=0):
    zone = zoneinfo.ZoneInfo(tenant.setting("timezone"))
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def test_orders_are_read_once_with_local_dates_counted_statuses_and_no_merged_customers(alpha, customer_with):
    from customers.models import Customer, Order

    # given: orders just after local midnight and just before it (other UTC dates), an uncounted
    # order, a merged customer and an order after the as-of date
    late = customer_with(alpha, [(AS_OF - D(days=3), 10), (AS_OF - D(days=1), 7, "cancelled")])
    Order.objects.filter(customer=late, status="completed").update(order_date=_at(alpha, AS_OF - D(days=3), 23, 30))
    early = customer_with(alpha, [(AS_OF - D(days=2), 20.55), (AS_OF + D(days=1), 99)])
    Order.objects.filter(customer=early, total_amount=20.55).update(order_date=_at(alpha, AS_OF - D(days=2), 0, 30))
    merged = customer_with(alpha, [(AS_OF - D(days=5), 30)])
    Customer.objects.filter(pk=merged.pk).update(status="merged")
    # when
    history = order_history_load(tenant=alpha, as_of=AS_OF)
    # then
    facts = history.facts()
    rows = {int(c): (day_date(d), int(cents)) for c, d, cents in zip(facts.customer_id, facts.last_day, facts.spend,
                                                                        strict=True)}
    assert rows == {late.pk: (AS_OF - D(days=3), 1000), early.pk: (AS_OF - D(days=2), 2055)}


def test_reading_the_orders_in_slices_gives_the_same_arrays(alpha, monkeypatch):
    synthetic_history(alpha, customers=40, as_of=AS_OF, days=200, seed=2)
    whole = sql.counted_orders_sql(tz=alpha.setting("timezone"))
    monkeypatch.setattr(sql, "ORDERS_PER_ARRAY", 3)
    sliced = sql.counted_orders_sql(tz=alpha.setting("timezone"))
    order_a, order_b = np.lexsort(whole[::-1]), np.lexsort(sliced[::-1])
    assert len(whole[0]) > 100
    for a, b in zip(whole, sliced, strict=True):
        assert np.array_equal(a[order_a], b[order_b])


def test_a_run_reads_the_orders_once(alpha, actor, customer_with, monkeypatch):
    from analytics import selectors

    for k in range(4):
        customer_with(alpha, [(AS_OF - D(days=10 * k + 1), 10 * k + 5)])
    calls = []
    real = selectors.counted_orders_sql
    monkeypatch.setattr(selectors, "counted_orders_sql", lambda **kw: calls.append(kw) or real(**kw))
    job = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF)
    assert job.status == "succeeded", job.error
    assert len(calls) == 1


def _sql_rank(values, descending=False):
    # RANK() OVER (ORDER BY value): 1 + the number of values strictly before.
    return np.array([1 + sum((w > v) if descending else (w < v) for w in values) for v in values])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("spread", [10, 10 ** 9])  # counting path and sorting path
def test_ranks_and_quintiles_follow_the_sql_definition(descending, spread):
    values = np.random.default_rng(spread).integers(0, spread, 300)
    values[:40] = values[0]  # a big tie
    expected = _sql_rank(values, descending)
    assert np.array_equal(rank_min(values, descending), expected)
    assert np.array_equal(quintile(values, descending), np.minimum(5, 1 + np.floor(5.0 * (expected - 1) / 300)))


def test_rounding_matches_pythons_round_on_ties_and_ordinary_values():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.normal(size=2000) * 100, [0.0005, 2.675, 1.0005, -2.5e-4, 0.1235, 1e15 + 0.5],
                             np.arange(-5000, 5000) / 2000.0])
    for digits in (3, 4, 6):
        assert [float(v) for v in round_like_python(values, digits)] == [round(float(v), digits) for v in values]


def _reference(orders, as_of):
    """The SQL definitions, per order, in plain Python: cohort cells and daily KPIs."""
    days = defaultdict(set)
    for customer, day, _cents in orders:
        days[customer].add(day)
    first = {c: min(d) for c, d in days.items()}
    cells = defaultdict(lambda: [set(), 0])
    for customer, day, cents in orders:
        cohort, month = months(np.array([first[customer]]))[0], months(np.array([day]))[0]
        cells[(cohort, month - cohort)][0].add(customer)
        cells[(cohort, month - cohort)][1] += cents
    sizes = defaultdict(int)
    for day in first.values():
        sizes[months(np.array([day]))[0]] += 1
    cohorts = {key: (sizes[key[0]], len(buyers), revenue) for key, (buyers, revenue) in cells.items()}
    kpis = {}
    for day in range(min(first.values()), as_of + 1):
        todays = [o for o in orders if o[1] == day]
        revenue = sum(o[2] for o in todays)
        active = {w: sum(1 for d in days.values() if any(day - w < x <= day for x in d)) for w in (30, 90, 365)}
        total = sum(1 for f in first.values() if f <= day)
        repeaters = sum(1 for d in days.values() if len([x for x in d if x <= day]) > 1)
        kpis[day] = (revenue, len(todays), sum(1 for f in first.values() if f == day),
                     sum(1 for c, d in days.items() if day in d and first[c] < day),
                     active[30], active[90], active[365], total, repeaters / total if total else 0.0)
    return cohorts, kpis


def test_cohorts_and_daily_kpis_match_their_definitions_per_order():
    rng = np.random.default_rng(9)
    end = day_number(AS_OF)
    orders = [(int(c), int(end - d), int(a)) for c, d, a in
              zip(rng.integers(1, 30, 400), rng.integers(0, 500, 400), rng.integers(1, 10 ** 6, 400), strict=True)]
    orders += [(7, end - 3, 500), (7, end - 3, 250)]  # two orders on one day
    history = OrderHistory.from_orders(*map(np.array, zip(*orders, strict=True)))
    cohorts, kpis = _reference(orders, end)
    cells = history.cohorts()
    columns = ("cohort", "months_since", "cohort_size", "customers", "revenue")
    got = {(int(c), int(m)): (int(s), int(b), int(r))
           for c, m, s, b, r in zip(*(cells[name] for name in columns), strict=True)}
    assert got == cohorts
    daily = history.daily_kpis(end=end)
    for index, day in enumerate(daily["day"]):
        revenue, count, new, returning, a30, a90, a365, total, repeat = kpis[int(day)]
        assert (daily["revenue"][index], daily["orders"][index], daily["new_customers"][index],
                daily["returning_customers"][index], daily["active_30"][index], daily["active_90"][index],
                daily["active_365"][index], daily["total_customers"][index]) == (
            revenue, count, new, returning, a30, a90, a365, total), day
        assert daily["repeat_purchase_rate"][index] == pytest.approx(repeat)
        assert daily["churn_rate"][index] == pytest.approx(1 - a90 / total)
        aov = 0 if not count else int(np.floor(revenue / count + 0.5))
        assert daily["average_order_value"][index] == aov
    assert len(daily["day"]) == len(kpis)


def _indexes(table):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = %s ORDER BY 1", [table])
        return cursor.fetchall()


def test_rewriting_the_result_tables_leaves_their_indexes_as_they_were(alpha, actor, small_thresholds):
    tables = ["analytics_customerrfm", "analytics_customerclv", "analytics_customerchurn", "analytics_rfmsnapshot"]
    before = {table: _indexes(table) for table in tables}
    synthetic_history(alpha, customers=150, as_of=AS_OF, days=400, seed=3)
    job = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF)
    assert job.status == "succeeded" and job.summary["clv"]["status"] == "ok", job.error or job.summary
    assert {table: _indexes(table) for table in tables} == before
    assert all(before.values())



def test_a_large_rewrite_drops_the_plain_indexes_and_builds_them_once_after_loading(alpha, actor, small_thresholds,
                                                                                   monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.services.bulk import indexes

    # given loads counted as large (customers' rule, indexes_deferred, decides for analytics too)
    monkeypatch.setattr(indexes, "DEFER_MIN_ROWS", 1)
    tables = ["analytics_customerrfm", "analytics_customerclv", "analytics_customerchurn"]
    before = {table: _indexes(table) for table in tables}
    synthetic_history(alpha, customers=150, as_of=AS_OF, days=400, seed=3)
    # when a run rewrites the result tables
    with CaptureQueriesContext(connection) as queries:
        job = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF)
    # then each plain index was dropped before the load and is there again, as it was
    assert job.status == "succeeded" and job.summary["clv"]["status"] == "ok", job.error or job.summary
    dropped = " ".join(q["sql"] for q in queries.captured_queries if q["sql"].startswith("DROP INDEX"))
    assert all(name in dropped for name in ("rfm_current_segment_idx", "clv_tier_idx", "churn_band_idx"))
    assert {table: _indexes(table) for table in tables} == before


def test_churn_factors_are_the_json_the_api_always_showed(alpha, small_thresholds):
    from analytics.services.churn import FEATURE_LABELS, churn_features

    synthetic_history(alpha, customers=300, as_of=AS_OF, days=540, seed=11)
    log = churn_compute(tenant=alpha, as_of=AS_OF)
    assert log.method == "model"
    features = churn_features(history=order_history_load(tenant=alpha, as_of=AS_OF), as_of=AS_OF, window=90)
    features = features.set_index("customer_id")
    for row in CustomerChurn.objects.all():
        assert row.probability == round(row.probability, 6)
        for factor in row.factors:
            assert set(factor) == {"feature", "label", "value", "effect", "weight"}
            assert factor["label"] == FEATURE_LABELS[factor["feature"]]
            # integral values keep their ".0", as json.dumps wrote them
            assert isinstance(factor["value"], float) and isinstance(factor["weight"], float)
            assert factor["value"] == round(float(features.loc[row.customer_id, factor["feature"]]), 3)
            assert factor["effect"] == ("raises" if factor["weight"] > 0 else "lowers") or factor["weight"] == 0
    assert json.dumps(CustomerChurn.objects.first().factors)


def test_rfm_from_a_shared_history_equals_rfm_reading_its_own(alpha, customer_with):
    for k in range(1, 12):
        customer_with(alpha, [(AS_OF - D(days=7 * k + j), 10 * k + j) for j in range(k % 4 + 1)])
    own = rfm_compute(tenant=alpha, as_of=AS_OF)
    shared = rfm_compute(tenant=alpha, as_of=AS_OF, history=order_history_load(tenant=alpha, as_of=AS_OF))
    assert own == shared


@pytest.mark.parametrize("model", ["bgnbd", "gamma_gamma"])
def test_written_out_gradients_match_finite_differences(model):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 12, 500).astype(float)
    age = rng.uniform(1, 50, 500)
    t_x = np.where(x > 0, age * rng.uniform(0, 1, 500), 0.0)
    w = rng.integers(1, 4, 500).astype(float)
    if model == "bgnbd":
        objective = btyd._bgnbd_objective(x, t_x / age.max(), age / age.max(), w, 0.1)
        point = np.log([0.5, 0.3, 0.8, 2.0])
    else:
        buyers = x > 0
        objective = btyd._gamma_gamma_objective(x[buyers], rng.uniform(5, 80, buyers.sum()), w[buyers], 0.1)
        point = np.log([3.0, 4.0, 20.0])
    _value, gradient = objective(point)
    for k in range(len(point)):
        step = np.zeros(len(point))
        step[k] = 1e-6
        numeric = (objective(point + step)[0] - objective(point - step)[0]) / 2e-6
        assert gradient[k] == pytest.approx(numeric, rel=1e-5, abs=1e-7)

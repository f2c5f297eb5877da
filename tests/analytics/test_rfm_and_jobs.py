import datetime
import io
import json

import pytest
from django.core.management import call_command

from analytics.models import CustomerRfm, ProcessingJob, RfmSegmentDefinition, RfmSnapshot
from analytics.services import analytics_run, analytics_run_start, rfm_compute, rfm_definition_update
from cdp.exceptions import Conflict, PermissionDenied

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


def expected_segment(r: int, f: int) -> str:
    """The default map, written independently of the definitions table."""
    if r == 5 and f >= 4:
        return "champions"
    if r in (3, 4) and f >= 4:
        return "loyal"
    if r in (4, 5) and f in (2, 3):
        return "potential_loyalist"
    if r == 5 and f == 1:
        return "new"
    if r == 4 and f == 1:
        return "promising"
    if r == 3 and f == 3:
        return "need_attention"
    if r == 3 and f <= 2:
        return "about_to_sleep"
    if r <= 2 and f == 5:
        return "cant_lose"
    if r <= 2 and f in (3, 4):
        return "at_risk"
    if r == 1 and f <= 2:
        return "lost"
    return "hibernating"


def test_default_definitions_are_seeded_and_cover_the_grid(alpha):
    codes = set(RfmSegmentDefinition.objects.values_list("code", flat=True))
    assert {"champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
            "at_risk", "cant_lose", "hibernating", "lost"} <= codes


def test_quintile_ties_share_a_score_and_segments_follow_the_map(alpha, customer_with):
    # given: six one-order customers with the same amount and date, and others spread out
    same = [customer_with(alpha, [(AS_OF - D(days=10), 50)]) for _ in range(6)]
    for k in range(2, 8):
        customer_with(alpha, [(AS_OF - D(days=5 * k + 1 + j), 20 * k + 7) for j in range(k)])
    # when
    summary = rfm_compute(tenant=alpha, as_of=AS_OF)
    # then
    assert summary["customers"] == 12
    rows = {r.customer_id: r for r in CustomerRfm.objects.all()}
    scores = {(rows[c.pk].r_score, rows[c.pk].f_score, rows[c.pk].m_score) for c in same}
    assert len(scores) == 1, "equal values must get equal scores"
    assert rows[same[0].pk].f_score == 1  # half the customers have frequency 1: the lowest quintile
    for a in rows.values():
        for b in rows.values():
            if a.frequency < b.frequency:
                assert a.f_score <= b.f_score
            if a.monetary == b.monetary:
                assert a.m_score == b.m_score
            if a.recency_days == b.recency_days:
                assert a.r_score == b.r_score
            if a.recency_days < b.recency_days:
                assert a.r_score >= b.r_score
    for row in rows.values():
        assert 1 <= min(row.r_score, row.f_score, row.m_score) and max(row.r_score, row.f_score, row.m_score) <= 5
        assert row.rfm_score == f"{row.r_score}{row.f_score}{row.m_score}"
        assert row.segment == expected_segment(row.r_score, row.f_score)


def test_five_distinct_values_twice_each_get_scores_one_to_five(alpha, customer_with):
    for k in range(5):
        for _ in range(2):
            customer_with(alpha, [(AS_OF - D(days=100 - k), 10 * (k + 1))])
    rfm_compute(tenant=alpha, as_of=AS_OF)
    assert sorted(CustomerRfm.objects.values_list("m_score", flat=True)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert sorted(CustomerRfm.objects.values_list("r_score", flat=True)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_cancelled_orders_and_customers_after_the_as_of_date_are_ignored(alpha, customer_with):
    one = customer_with(alpha, [(AS_OF - D(days=3), 100), (AS_OF - D(days=2), 900, "cancelled"),
                                (AS_OF - D(days=1), 50, "pending")])
    only_cancelled = customer_with(alpha, [(AS_OF - D(days=3), 100, "refunded")])
    later = customer_with(alpha, [(AS_OF + D(days=3), 100)])
    rfm_compute(tenant=alpha, as_of=AS_OF)
    row = CustomerRfm.objects.get(customer=one)
    assert (row.frequency, row.monetary, row.recency_days) == (1, 100, 3)
    assert not CustomerRfm.objects.filter(customer__in=[only_cancelled, later]).exists()


def test_editing_a_definition_changes_the_next_run(alpha, customer_with, actor):
    customer = customer_with(alpha, [(AS_OF - D(days=1), 10)])
    for k in range(4):
        customer_with(alpha, [(AS_OF - D(days=10 + k), 10)])
    rfm_compute(tenant=alpha, as_of=AS_OF)
    assert CustomerRfm.objects.get(customer=customer).segment == "new"  # R5 F1 (all frequencies tie at 1)
    new = RfmSegmentDefinition.objects.get(code="new")
    rfm_definition_update(definition_id=new.pk, data={"is_active": False}, actor=actor, tenant=alpha)
    rfm_compute(tenant=alpha, as_of=AS_OF)
    assert CustomerRfm.objects.get(customer=customer).segment == ""  # nothing else covers R5 F1


def test_history_keeps_snapshots_and_an_older_backfill_does_not_replace_current(alpha, customer_with, actor):
    customer = customer_with(alpha, [(AS_OF - D(days=40), 10), (AS_OF - D(days=1), 10)])
    rfm_compute(tenant=alpha, as_of=AS_OF)
    rfm_compute(tenant=alpha, as_of=AS_OF - D(days=30))
    assert RfmSnapshot.objects.filter(customer=customer).count() == 2
    assert CustomerRfm.objects.get(customer=customer).as_of == AS_OF


def test_run_is_recorded_and_idempotent(alpha, customer_with, actor):
    for k in range(4):
        customer_with(alpha, [(AS_OF - D(days=10 * k + 1), 10 * k + 5)])
    first = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF)
    snapshot = sorted(CustomerRfm.objects.values_list("customer_id", "rfm_score", "segment"))
    second = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF)
    assert first.status == second.status == ProcessingJob.Status.SUCCEEDED, second.error
    assert sorted(CustomerRfm.objects.values_list("customer_id", "rfm_score", "segment")) == snapshot
    assert RfmSnapshot.objects.filter(as_of=AS_OF).count() == 4
    assert first.row_counts == second.row_counts
    assert set(second.step_timings) == {"rfm", "clv", "churn", "cohorts", "kpis", "segments", "data_quality"}
    assert second.summary["clv"]["status"] == "insufficient_data"
    assert second.summary["clv"]["model"] == {"r": None, "alpha": None, "a": None, "b": None}


def test_one_run_per_tenant_at_a_time(alpha, actor):
    queued = analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF)
    with pytest.raises(Conflict) as exc:
        analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF)
    assert exc.value.code == "run_in_progress"
    ProcessingJob.objects.filter(pk=queued.pk).update(status="running")
    with pytest.raises(Conflict):
        analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF)
    ProcessingJob.objects.filter(pk=queued.pk).update(status="succeeded")
    assert analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF).status == "queued"


def test_switched_off_feature_is_refused_when_asked_and_skipped_otherwise(alpha, actor):
    alpha.settings = {**alpha.settings, "features": {"rfm_analysis": True, "clv_prediction": False,
                                                     "churn_detection": True}}
    with pytest.raises(PermissionDenied) as exc:
        analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF, only=["clv"])
    assert exc.value.code == "feature_disabled"
    job = analytics_run_start(tenant=alpha, actor=actor, as_of=AS_OF)
    assert "clv" not in job.steps and job.summary["skipped"] == {"clv": "feature_disabled"}


def test_command_prints_progress_and_a_json_summary_last(world, customer_with):
    from django_tenants.utils import tenant_context

    with tenant_context(world.alpha):
        customer_with(world.alpha, [(AS_OF - D(days=2), 10)])
    out, err = io.StringIO(), io.StringIO()
    call_command("run_analytics", "--tenant", "alpha", "--as-of", AS_OF.isoformat(), "--only", "rfm,kpis",
                 stdout=out, stderr=err)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["rfm"]["customers"] == 1
    assert summary["as_of"] == AS_OF.isoformat()


def test_command_fails_with_one_line_for_unknown_tenant_or_step(world):
    from django.core.management.base import CommandError

    # the kit's one message for an unknown tenant, and a refusal's one line (cdp.commands)
    with pytest.raises(CommandError, match="Unknown tenant 'nope'"):
        call_command("run_analytics", "--tenant", "nope")
    with pytest.raises(CommandError, match="Unknown step"):
        call_command("run_analytics", "--tenant", "alpha", "--only", "magic")

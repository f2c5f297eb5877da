"""Analytics runs: recorded and idempotent, one per tenant at a time, the plan's switches, the nightly
run, the command."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from analytics.models import CustomerRfm, ProcessingJob, RfmSnapshot
from analytics.services import analytics_run, analytics_run_start
from cdp.exceptions import Conflict, PermissionDenied

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


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


def test_nightly_task_runs_only_at_the_tenants_local_hour(world, monkeypatch):
    from analytics import tasks

    with tenant_context(world.alpha):
        monkeypatch.setattr(tasks, "NIGHTLY_LOCAL_HOUR", 99)
        assert tasks.analytics_nightly_task() is None
        import zoneinfo

        from django.utils import timezone
        hour = timezone.now().astimezone(zoneinfo.ZoneInfo(world.alpha.setting("timezone"))).hour
        monkeypatch.setattr(tasks, "NIGHTLY_LOCAL_HOUR", hour)
        job_id = tasks.analytics_nightly_task()
        assert ProcessingJob.objects.get(pk=job_id).status == "succeeded"


def test_beat_entry_dispatches_the_nightly_task():
    from cdp.schedules import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["analytics-nightly-per-tenant"]
    assert entry["task"] == "tenants.tasks.tenants_dispatch_task"
    assert entry["kwargs"]["task_name"] == "analytics.tasks.analytics_nightly_task" and entry["options"]["expires"]

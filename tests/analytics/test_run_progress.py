"""An analytics run's page follows it live: a status endpoint with the steps done, a progress bar,
and a page that refreshes itself without JavaScript."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from analytics.models import ProcessingJob
from tests.analytics.factories import ProcessingJobFactory


def test_a_running_run_reports_its_steps_as_they_finish(world, alpha_client):
    with tenant_context(world.alpha):
        job = ProcessingJobFactory(status=ProcessingJob.Status.RUNNING, steps=["metrics", "rfm", "clv", "churn"],
                                   step_timings={"metrics": 1.5, "rfm": 0.25}, row_counts={"metrics": 90, "rfm": 1200})
    viewer = alpha_client(world.user("alpha_viewer"))
    status = viewer.get(f"/analytics/runs/{job.pk}/status/").json()
    assert (status["active"], status["done"], status["total"], status["percent"]) == (True, 2, 4, 50)
    assert [s["done"] for s in status["steps"]] == [True, True, False, False] and status["steps"][1]["rows"] == 1200
    page = viewer.get(f"/analytics/runs/{job.pk}/").content.decode()
    assert 'data-progress-url="/analytics/runs/%s/status/"' % job.pk in page and 'data-active="1"' in page
    assert '<progress max="4" value="2"' in page and 'http-equiv="refresh"' in page and "2 of 4 steps" in page


def test_a_finished_run_stops_following(world, alpha_client):
    with tenant_context(world.alpha):
        job = ProcessingJobFactory(steps=["rfm"], step_timings={"rfm": 2}, row_counts={"rfm": 3})
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.get(f"/analytics/runs/{job.pk}/status/").json()["active"] is False
    page = viewer.get(f"/analytics/runs/{job.pk}/").content.decode()
    assert 'data-active=""' in page and 'http-equiv="refresh"' not in page


def test_a_runs_status_is_for_members_of_its_tenant(world, alpha_client, beta_client):
    with tenant_context(world.alpha):
        job = ProcessingJobFactory()
    assert alpha_client(world.user("beta_owner")).get(f"/analytics/runs/{job.pk}/status/").status_code == 403
    assert beta_client(world.user("beta_owner")).get(f"/analytics/runs/{job.pk}/status/").status_code == 404
    assert alpha_client().get(f"/analytics/runs/{job.pk}/status/").status_code == 302

"""An analytics run's page follows the run live in Chromium, in Spanish and in Portuguese: the
steps tick and the bar fills as the run records them, without reloading; the finished state shows
when it ends. The run's rows are committed from a thread (the live server reads committed data)."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.browser.test_billing_portal import _committed
from tests.browser.test_portal import sign_in
from tests.browser.test_segment_builder import _in_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WORDS = {"es": {"running": "En curso", "done": "Completada", "count": "1 de 2 pasos"},
         "pt-br": {"running": "Em execução", "done": "Concluída", "count": "1 de 2 etapas"}}


@pytest.fixture
def running_job(_world):
    from analytics.models import ProcessingJob

    state = {}

    def create():
        with tenant_context(_world.alpha):
            state["id"] = ProcessingJob.objects.create(as_of="2025-06-30", steps=["metrics", "rfm"],
                                                       status=ProcessingJob.Status.RUNNING,
                                                       requested_by="browser test").pk

    def update(**fields):
        def run():
            with tenant_context(_world.alpha):
                ProcessingJob.objects.filter(pk=state["id"]).update(**fields)
        _committed(run)

    def delete():
        with tenant_context(_world.alpha):
            ProcessingJob.objects.filter(pk=state["id"]).delete()

    _committed(create)
    state["update"] = update
    yield state
    _committed(delete)


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_the_run_page_follows_the_run_live(page, live_url, running_job, language):
    from analytics.models import ProcessingJob

    words = WORDS[language]
    base = live_url("alpha.localhost")
    sign_in(page, base, "analyst@alpha.test")
    page.wait_for_url(f"{base}/")
    _in_language(page, base, language)
    page.goto(f"{base}/analytics/runs/{running_job['id']}/")
    assert page.locator("[data-status]").inner_text() == words["running"]
    assert page.locator("progress[data-bar]").evaluate("bar => bar.value") == 0

    page.evaluate("window.__same_page = true")  # gone if the page reloads
    running_job["update"](step_timings={"metrics": 0.5}, row_counts={"metrics": 10})
    page.wait_for_function("document.querySelector('[data-bar]').value === 1")
    assert page.locator("[data-count]").inner_text() == words["count"]
    assert page.locator('[data-step="metrics"] td').first.inner_text().startswith("✓")
    assert page.evaluate("window.__same_page") is True  # updated in place

    running_job["update"](step_timings={"metrics": 0.5, "rfm": 0.2}, row_counts={"metrics": 10, "rfm": 3},
                          status=ProcessingJob.Status.SUCCEEDED)
    page.wait_for_function("document.querySelector('[data-status]').textContent === %r && !window.__same_page"
                           % words["done"])
    assert page.locator("[data-working]").count() == 0
    page.screenshot(path=f"/tmp/cdp-run-{language}.png", full_page=True)

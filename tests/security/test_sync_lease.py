"""One sync of an integration at a time, however long it runs (review S4).

The claim is a lease the running sync renews as it works; a second claim is refused while it is
alive; a worker that dies stops renewing, its lease runs out, and the next sync takes over from
the cursor of the last committed page. A sync that lost its lease commits nothing more. Time is
controlled: ``django.utils.timezone.now`` is moved by hand, no test sleeps through a lease."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cdp.exceptions import Conflict
from integrations.models import Integration, SyncLog
from tests.integrations import fakes
from tests.integrations import conftest as integration_fixtures
from tests.integrations.conftest import make_vtex_integration

# The integration suite's fixtures (fakes, fast HTTP settings, fresh Redis slots), used here too.
_fast_http = integration_fixtures._fast_http
_fresh_outbound_slots = integration_fixtures._fresh_outbound_slots
_no_outbound_in_requests = integration_fixtures._no_outbound_in_requests
_no_plan_quota = integration_fixtures._no_plan_quota
in_alpha = integration_fixtures.in_alpha
vtex = integration_fixtures.vtex

LEASE = 1800


class Clock:
    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch, settings):
    settings.INTEGRATIONS_SYNC_LEASE_SECONDS = LEASE
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def empty_page(n: int):
    from integrations.connectors.base import Page

    return Page(items=[], cursor={"since": f"2026-01-01T00:{n:02d}:00Z"})


def vtex_connector(integration, vtex):
    from integrations.connectors import connector_for

    return connector_for(integration, credentials={"app_key": vtex.app_key, "app_token": vtex.app_token})


def test_a_sync_running_for_hours_keeps_its_claim(in_alpha, vtex, actor, clock):
    from integrations.services.sync import sync_claim, sync_page_commit

    integration = make_vtex_integration(vtex, actor)
    log = sync_claim(integration_id=integration.pk, trigger="schedule")
    connector = vtex_connector(integration, vtex)

    # a sync that commits a page every 10 minutes, for 4 hours (past the old 3-hour staleness)
    for n in range(24):
        clock.advance(minutes=10)
        sync_page_commit(connector=connector, log=log, page=empty_page(n), actor=actor)
        # a redelivered task, the schedule or a manual request cannot claim it meanwhile
        with pytest.raises(Conflict) as refused:
            sync_claim(integration_id=integration.pk, trigger="schedule")
        assert refused.value.code == "sync_running"

    log.refresh_from_db()
    assert log.status == "in_progress" and log.pages == 24


def test_a_dead_workers_lease_runs_out_and_the_next_sync_resumes_from_its_cursor(in_alpha, vtex, actor, clock):
    from integrations.services import integration_sync
    from integrations.services.sync import sync_claim, sync_page_commit

    # given 12 orders (3 pages of 5) and a sync whose worker died after committing page 1
    for n in range(12):
        vtex.add(fakes.vtex_detail(n, created=clock.now - datetime.timedelta(days=10 - n * 0.01)))
    integration = make_vtex_integration(vtex, actor)
    dead = sync_claim(integration_id=integration.pk, trigger="schedule")
    connector = vtex_connector(integration, vtex)
    sync_page_commit(connector=connector, log=dead, page=next(connector.pages({})), actor=actor)

    # while its lease is alive, nobody takes over
    clock.advance(seconds=LEASE - 1)
    with pytest.raises(Conflict):
        integration_sync(integration_id=integration.pk)

    # once it ran out, the next sync takes over and resumes at page 2
    clock.advance(seconds=2)
    vtex.requests.clear()
    resumed = integration_sync(integration_id=integration.pk)

    assert resumed.status == "success" and resumed.records_created == 7
    assert vtex.hits("/api/oms/pvt/orders", "GET")[0].query["page"] == "2"
    dead.refresh_from_db()
    assert dead.status == "error" and dead.error_code == "interrupted"
    integration.refresh_from_db()
    assert integration.state == "idle" and integration.lease_log_id is None


def test_the_schedule_picks_up_a_sync_whose_lease_ran_out(in_alpha, vtex, actor, clock):
    from integrations.selectors import integrations_due
    from integrations.services.sync import sync_claim

    integration = make_vtex_integration(vtex, actor, sync_frequency="daily")
    sync_claim(integration_id=integration.pk, trigger="schedule")
    assert integrations_due() == []

    clock.advance(seconds=LEASE + 1)

    assert integrations_due() == [integration.pk]


def test_a_sync_that_lost_its_lease_commits_nothing_more(in_alpha, vtex, actor, clock):
    from integrations.services.sync import SyncLeaseLost, sync_claim, sync_finish, sync_page_commit

    integration = make_vtex_integration(vtex, actor)
    slow = sync_claim(integration_id=integration.pk, trigger="schedule")
    connector = vtex_connector(integration, vtex)
    sync_page_commit(connector=connector, log=slow, page=empty_page(1), actor=actor)

    # the slow sync went silent past its lease, and another one took over
    clock.advance(seconds=LEASE + 1)
    successor = sync_claim(integration_id=integration.pk, trigger="manual")

    # when the slow one comes back with a page, it is refused and writes nothing
    with pytest.raises(SyncLeaseLost):
        sync_page_commit(connector=connector, log=slow, page=empty_page(2), actor=actor)
    integration.refresh_from_db()
    assert integration.cursor == empty_page(1).cursor
    # and its ending does not release its successor's claim
    sync_finish(log=slow, status=SyncLog.Status.ERROR, started=0.0, http_wait=0.0, error_code="sync_lease_lost")
    integration.refresh_from_db()
    assert integration.state == "running" and integration.lease_log_id == successor.pk


def test_a_sync_renews_its_lease_while_it_waits_for_a_page(in_alpha, vtex, actor, settings, monkeypatch):
    from integrations.services import integration_sync, sync as sync_module

    # a 4-second lease (heartbeat every second) and a source that takes 2.5 s for its one page
    settings.INTEGRATIONS_SYNC_LEASE_SECONDS = 4
    settings.INTEGRATIONS_HTTP_TIMEOUT = 5
    vtex.add(fakes.vtex_detail(1, created=timezone.now() - datetime.timedelta(days=1)))
    vtex.script("/api/oms/pvt/orders", fakes.Reply(200, {"list": [], "paging": {"pages": 1}}, delay=2.5))
    integration = make_vtex_integration(vtex, actor)
    renewals = []
    renew = sync_module.sync_lease_renew
    monkeypatch.setattr(sync_module, "sync_lease_renew", lambda **kw: (renewals.append(kw), renew(**kw)))

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success" and log.pages == 1
    assert len(renewals) > log.pages  # heartbeats while the page was being fetched, not only at its commit


def test_a_tenant_runs_its_limit_of_syncs_and_the_others_wait(world, in_alpha, vtex, actor, clock, settings):
    from celery.exceptions import Retry
    from django_tenants.utils import tenant_context

    from integrations.services import integration_create
    from integrations.services.sync import TenantSyncsBusy, sync_claim
    from integrations.tasks import integration_sync_task

    settings.INTEGRATIONS_TENANT_SYNC_CONCURRENCY = 1
    first = make_vtex_integration(vtex, actor)
    second = integration_create(integration_type="facebook_ads", account_name="ads", base_url=vtex.url,
                                config={"ad_account_id": "1"}, credentials={"access_token": "a"}, actor=actor)
    sync_claim(integration_id=first.pk, trigger="schedule")

    # a second sync of the same tenant waits its turn: its task is re-queued with a countdown
    with pytest.raises(TenantSyncsBusy):
        sync_claim(integration_id=second.pk, trigger="schedule")
    with pytest.raises(Retry) as retry:
        integration_sync_task.delay(integration_id=second.pk, trigger="schedule")
    assert retry.value.when > 0
    assert Integration.objects.get(pk=second.pk).state == "idle"

    # another tenant is not affected
    with tenant_context(world.beta):
        other = integration_create(integration_type="facebook_ads", account_name="ads", base_url=vtex.url,
                                   config={"ad_account_id": "1"}, credentials={"access_token": "a"}, actor=actor)
        assert sync_claim(integration_id=other.pk, trigger="schedule").status == "in_progress"

    # and when the first sync's lease runs out (its worker died), the second may start
    clock.advance(seconds=LEASE + 1)
    assert sync_claim(integration_id=second.pk, trigger="schedule").status == "in_progress"

"""VTEX OMS connector against a fake OMS: paging, detail fetch, masked emails, statuses, money
in cents, errors (401, 429, 500, timeouts, malformed JSON) and an interrupted sync resumed."""

import decimal

import pytest

from integrations.models import Integration, SyncLog, VtexOrder
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_vtex_integration


def orders_of(source="vtex"):
    from customers.models import Order

    return Order.objects.filter(source=source)


def seed(vtex, count, **kwargs):
    return [vtex.add(fakes.vtex_detail(n, created=days_ago(10 - n * 0.01), **kwargs)) for n in range(count)]


def test_backfill_pages_through_list_and_details(in_alpha, vtex, actor):
    # given 12 orders (3 pages of 5) and an integration pointing at the fake OMS
    seed(vtex, 12)
    integration = make_vtex_integration(vtex, actor)
    from integrations.services import integration_sync

    # when
    log = integration_sync(integration_id=integration.pk)

    # then every order is ingested once, through pages with the real parameters
    assert log.status == SyncLog.Status.SUCCESS
    assert (log.pages, log.records_created, log.records_rejected) == (3, 12, 0)
    assert orders_of().count() == 12
    assert VtexOrder.objects.count() == 12
    first = vtex.hits("/api/oms/pvt/orders", "GET")[0]
    assert first.query["per_page"] == "5" and first.query["page"] == "1"
    assert first.query["f_creationDate"].startswith("creationDate:[") and " TO " in first.query["f_creationDate"]
    assert len(vtex.hits("/api/oms/pvt/orders/")) == 12  # one detail GET per order
    integration.refresh_from_db()
    assert integration.state == "idle" and integration.last_sync_status == "success"
    assert integration.last_sync_at is not None and "since" in integration.cursor


def test_mapping_cents_status_and_masked_email_identity(in_alpha, vtex, actor):
    from customers.models import Customer
    from integrations.services import integration_sync

    # given the same shopper twice, with masked (different) emails but one profile id and document
    vtex.add(fakes.vtex_detail(1, created=days_ago(3), profile_id="pid-42", document="123.456.789-09"))
    vtex.add(fakes.vtex_detail(2, created=days_ago(2), profile_id="pid-42", document="123.456.789-09",
                               status="canceled"))
    integration = make_vtex_integration(vtex, actor)

    integration_sync(integration_id=integration.pk)

    orders = list(orders_of().order_by("order_date"))
    assert len(orders) == 2
    assert orders[0].customer_id == orders[1].customer_id  # unified by userProfileId / document
    customer = Customer.objects.get(pk=orders[0].customer_id)
    assert not customer.email or "ct.vtex.com.br" not in customer.email  # the masked alias is not an email
    assert customer.document_number == "12345678909"
    assert orders[0].total_amount == decimal.Decimal("116.00")  # 11600 cents
    assert orders[0].shipping_cost == decimal.Decimal("15.00")
    assert orders[0].status == "invoiced" and orders[1].status == "cancelled"
    assert orders[0].currency == "BRL"


def test_second_sync_is_incremental_and_idempotent(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    seed(vtex, 4)
    integration = make_vtex_integration(vtex, actor)
    integration_sync(integration_id=integration.pk)
    vtex.requests.clear()

    log = integration_sync(integration_id=integration.pk)

    # only the overlap since the last window is asked for; nothing is created twice
    assert log.status == "success" and log.records_created == 0
    assert orders_of().count() == 4
    window = vtex.hits("/api/oms/pvt/orders", "GET")[0].query["f_creationDate"]
    assert window[len("creationDate:["):].split(" TO ")[0] > days_ago(1).strftime("%Y-%m-%d")


def test_interrupted_sync_resumes_without_loss_or_duplicates(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    # given 14 orders (3 pages) and an OMS that fails on page 3 beyond the retries
    seed(vtex, 14)
    integration = make_vtex_integration(vtex, actor)
    failing = [fakes.Reply(500, {"error": "boom"})] * 3

    def page3(request, _orig=vtex.list_orders):
        if request.query.get("page") == "3" and failing:
            failing.pop()
            return fakes.Reply(500, {"error": "boom"})
        return _orig(request)

    vtex.routes[0] = ("GET", vtex.routes[0][1], page3)

    # when the first sync dies on page 3
    first = integration_sync(integration_id=integration.pk)

    # then two pages are committed, the cursor points after page 2 and the error is recorded
    assert first.status == "error" and first.error_code == "source_unavailable"
    assert first.pages == 2 and orders_of().count() == 10
    integration.refresh_from_db()
    assert integration.cursor["position"] == 2 and integration.state == "idle"
    assert integration.last_sync_status == "error"

    # when the next sync runs, it resumes at page 3
    vtex.requests.clear()
    second = integration_sync(integration_id=integration.pk)

    assert second.status == "success" and second.records_created == 4
    assert vtex.hits("/api/oms/pvt/orders", "GET")[0].query["page"] == "3"
    assert orders_of().count() == 14
    assert sorted(orders_of().values_list("external_order_id", flat=True)) == sorted(vtex.orders)


def test_window_with_more_than_30_pages_is_split(in_alpha, vtex, actor, settings):
    from integrations.services import integration_sync

    settings.INTEGRATIONS_VTEX_PAGE_SIZE = 1
    vtex.MAX_PAGES = settings.INTEGRATIONS_VTEX_MAX_PAGES = 4
    for n in range(9):
        vtex.add(fakes.vtex_detail(n, created=days_ago(20 - n * 2)))
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success", log.error
    assert orders_of().count() == 9
    assert all(int(r.query["page"]) <= 4 for r in vtex.hits("/api/oms/pvt/orders", "GET")
               if r.path == "/api/oms/pvt/orders")


def test_401_is_a_clear_error_and_secrets_stay_out(in_alpha, vtex, actor, caplog):
    from integrations.services import integration_create, integration_sync

    seed(vtex, 2)
    integration = integration_create(integration_type="vtex", account_name="wrong", base_url=vtex.url, actor=actor,
                                     credentials={"app_key": vtex.app_key, "app_token": "WRONG-token-value-123"})
    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_auth_failed"
    assert "401" in log.error
    assert "WRONG-token-value-123" not in log.error and "WRONG-token-value-123" not in caplog.text
    assert len(vtex.hits("/api/oms/pvt/orders")) == 1  # no retries on 401


def test_429_honours_retry_after_then_succeeds(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    seed(vtex, 2)
    vtex.script("/api/oms/pvt/orders", fakes.Reply(429, {"error": "slow down"}, {"Retry-After": "0.05"}))
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success" and log.records_created == 2


def test_429_for_ever_gives_rate_limited_error(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    seed(vtex, 2)
    vtex.script("/api/oms/pvt/orders", *[fakes.Reply(429, {}, {"Retry-After": "3600"})] * 3)
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)  # Retry-After is capped (0.2s in tests)

    assert log.status == "error" and log.error_code == "source_rate_limited"


def test_500s_then_success(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    seed(vtex, 3)
    vtex.script("/api/oms/pvt/orders/", fakes.Reply(500, b"oops"), fakes.Reply(503, b"oops"))
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success" and log.records_created == 3


def test_timeouts_are_retried_then_reported(in_alpha, vtex, actor, settings):
    from integrations.services import integration_sync

    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.2
    seed(vtex, 1)
    vtex.script("/api/oms/pvt/orders", *[fakes.Reply(200, {}, delay=0.5)] * 3)
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_timeout"
    assert orders_of().count() == 0


def test_malformed_json_is_a_clear_sync_error(in_alpha, vtex, actor):
    from integrations.services import integration_sync

    seed(vtex, 1)
    vtex.script("/api/oms/pvt/orders", fakes.Reply(200, b"{not json"))
    integration = make_vtex_integration(vtex, actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_bad_response"
    assert "not valid JSON" in log.error


def test_one_sync_at_a_time(in_alpha, vtex, actor):
    from cdp.exceptions import Conflict
    from integrations.services import integration_sync
    from integrations.services.sync import sync_claim

    integration = make_vtex_integration(vtex, actor)
    sync_claim(integration_id=integration.pk, trigger="manual")  # a sync holds the claim

    with pytest.raises(Conflict) as caught:
        integration_sync(integration_id=integration.pk)
    assert caught.value.code == "sync_running"


def test_stale_claim_is_taken_over(in_alpha, vtex, actor, settings):
    from integrations.services import integration_sync
    from integrations.services.sync import sync_claim

    seed(vtex, 1)
    integration = make_vtex_integration(vtex, actor)
    killed = sync_claim(integration_id=integration.pk, trigger="manual")
    # its worker died: nobody renewed the lease, which ran out
    Integration.objects.filter(pk=integration.pk).update(lease_expires_at=days_ago(0.01))

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success"
    killed.refresh_from_db()
    assert killed.status == "error" and killed.error_code == "interrupted"


def test_due_integrations_by_frequency(in_alpha, vtex, actor):
    from integrations.selectors import integrations_due

    hourly = make_vtex_integration(vtex, actor, sync_frequency="hourly")
    Integration.objects.filter(pk=hourly.pk).update(last_sync_at=days_ago(0.5 / 24))
    assert integrations_due() == []
    Integration.objects.filter(pk=hourly.pk).update(last_sync_at=days_ago(2 / 24))
    assert integrations_due() == [hourly.pk]
    Integration.objects.filter(pk=hourly.pk).update(sync_frequency="manual")
    assert integrations_due() == []


def test_beat_dispatcher_entry_and_per_tenant_task_start_due_syncs(in_alpha, vtex, actor):
    from cdp.schedules import BEAT_SCHEDULE
    from integrations.tasks import integrations_sync_due_task

    entry = BEAT_SCHEDULE["integrations-sync-due-per-tenant"]
    assert entry["task"] == "tenants.tasks.tenants_dispatch_task"
    assert entry["kwargs"]["task_name"] == "integrations.tasks.integrations_sync_due_task"
    seed(vtex, 2)
    integration = make_vtex_integration(vtex, actor, sync_frequency="daily")

    assert integrations_sync_due_task.delay().get() == 1  # eager: the sync runs inline

    integration.refresh_from_db()
    assert integration.last_sync_status == "success" and orders_of().count() == 2
    assert SyncLog.objects.get(integration=integration).trigger == "schedule"
    assert integrations_sync_due_task.delay().get() == 0  # synced just now: not due

"""Crashes lose, duplicate or half-write nothing (issue #12, Faults), proven with real processes.

Each test starts the real process (``manage.py import_orders``, a Celery worker, gunicorn) against
the test database, waits until it is verifiably in the middle of the work, kills it with SIGKILL,
runs the recovery a deployment runs (the import again, the schedule with a second worker, the
reconciler, the client re-sending its batch) and checks that nothing was lost, nothing was
duplicated, nothing was left half-written, and that the interrupted work finished or says it
failed. How the processes are started, parked and cleaned up after: tests/security/processes.py.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import re
import threading
import time

import requests
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer, Order, OrderItem, Product
from tests.customers.factories import CustomerFactory, OrderFactory, order_record
from tests.security.processes import Blocker, Gate, committed, locks_held, query, wait_until

__all__ = ["committed"]  # the fixture, imported for the tests below

ACTOR = Actor.system("tests")


# --- checks shared by the scenarios --------------------------------------------------------------------


def assert_orders_whole(*, source: str, items: dict[str, int]) -> None:
    """The orders of ``source`` are exactly ``items``' keys (external id -> number of items), each
    stored once, each with all its items, and every customer's aggregates agree with its orders.
    Runs in the current tenant's schema."""
    stored = list(Order.objects.filter(source=source).values_list("external_order_id", flat=True))
    assert len(stored) == len(set(stored)), "an order was stored twice"
    assert sorted(stored) == sorted(items), (sorted(set(items) - set(stored))[:5], sorted(set(stored) - set(items))[:5])
    counted = dict(query("""SELECT o.external_order_id, count(i.id) FROM customers_order o
                             LEFT JOIN customers_orderitem i ON i.order_id = o.id
                            WHERE o.source = %s GROUP BY o.external_order_id""", [source]))
    missing = {ext: (counted.get(ext), n) for ext, n in items.items() if counted.get(ext) != n}
    assert not missing, f"orders without all their items (stored, sent): {dict(list(missing.items())[:5])}"
    wrong = query("""
        SELECT c.id, c.total_orders, c.total_spent, a.n, a.spent FROM customers_customer c
          JOIN (SELECT customer_id,
                       count(*) FILTER (WHERE status NOT IN ('cancelled', 'refunded')) AS n,
                       coalesce(sum(total_amount) FILTER (WHERE status NOT IN ('cancelled', 'refunded')), 0) AS spent
                  FROM customers_order GROUP BY customer_id) a ON a.customer_id = c.id
         WHERE c.id IN (SELECT customer_id FROM customers_order WHERE source = %s)
           AND (c.total_orders, c.total_spent) IS DISTINCT FROM (a.n, a.spent)""", [source])
    assert not wrong, f"customer aggregates that disagree with their orders: {wrong[:5]}"


def nothing_of(*, source: str, customers) -> dict:
    """What a batch of ``source`` naming ``customers`` (a queryset) may have left behind: all zero
    when nothing was written."""
    return {"orders": Order.objects.filter(source=source).count(),
            "items": OrderItem.objects.filter(order__source=source).count(),
            "customers": customers.count(),
            "identities": query("SELECT count(*) FROM customers_customeridentity WHERE source = %s", [source])[0][0]}


# --- the web process, mid ingest batch ---------------------------------------------------------------


def test_web_process_killed_mid_ingest_batch_writes_nothing_and_the_resent_batch_lands_once(committed, world):
    from tenants.services import api_key_create

    processes, alpha, source = committed, world.alpha, "faultsweb"
    key = api_key_create(tenant=alpha, name="faults", scopes=["read", "write"], actor=ACTOR).key
    # 30 orders of 12 people (several orders each), one or two items each
    records = [order_record(f"w{n}", person=f"fw{n % 12}", source=source, total_amount=f"{100 + n}.00",
                            items=[{"sku": f"FW-{n % 3}", "name": "Mate", "quantity": 1,
                                    "unit_price": f"{100 + n}.00"}] * (1 + n % 2))
               for n in range(30)]
    items = {r["external_order_id"]: len(r["items"]) for r in records}
    emails = sorted({r["customer"]["email"] for r in records})
    body = {"orders": records}
    headers = {"Host": "alpha.localhost", "Authorization": f"Api-Key {key}"}

    def park_on_record_20():
        # the 21st order, written by this open transaction: the web process waits for it to end
        OrderFactory(source=source, external_order_id=records[20]["external_order_id"],
                     customer=CustomerFactory(email="blocker@faults.test"))

    # the web process, and a second one that will serve the client's retry once the first is killed
    # (a supervisor's restart, or the next server behind the load balancer), started together
    web, second = processes.web("web"), processes.web("web-2")
    url = processes.serving(web)
    with Blocker(park_on_record_20, tenant=alpha) as blocker:
        answers: list = []
        client = threading.Thread(target=lambda: answers.append(_post(f"{url}/api/v1/orders/ingest/", body, headers)))
        client.start()
        [waiting] = wait_until(lambda: blocker.waiters(processes, web) or _unexpected(answers),
                               what="the batch to reach record 20", children=[web])
        # mid batch: its customers are written and its orders are being written (set-based: all of
        # them in one statement, which waits on record 20's) in its open transaction
        held = locks_held(waiting)
        assert "RowExclusiveLock" in held["customers_order"] and "RowExclusiveLock" in held["customers_customer"]

        web.kill()
        client.join(timeout=30)
        assert isinstance(answers[0], requests.ConnectionError), answers  # the client got no answer
    processes.wait_sessions_gone(web)

    with tenant_context(alpha):
        # each record fully written or not at all: the batch is one transaction, it never committed
        assert nothing_of(source=source, customers=Customer.objects.filter(email__in=emails)) == {
            "orders": 0, "items": 0, "customers": 0, "identities": 0}

    # the client sends the batch again, to the other web process: every order once
    url = processes.serving(second)
    again = _post(f"{url}/api/v1/orders/ingest/", body, headers)
    assert again.status_code == 200, again.content
    assert (again.json()["created"], again.json()["rejected"]) == (30, 0)
    replay = _post(f"{url}/api/v1/orders/ingest/", body, headers)
    assert (replay.json()["unchanged"], replay.json()["created"]) == (30, 0)
    with tenant_context(alpha):
        assert_orders_whole(source=source, items=items)
        assert Customer.objects.filter(email__in=emails).count() == 12


def _unexpected(answers: list) -> None:
    """The request ended while it should be held: say how."""
    if answers:
        answer = answers[0]
        raise AssertionError(f"the request ended: {getattr(answer, 'status_code', answer)} "
                             f"{getattr(answer, 'content', b'')[:2000]!r}")


def _post(url, body, headers):
    try:
        return requests.post(url, json=body, headers=headers, timeout=120)
    except requests.RequestException as exc:
        return exc


# --- the bulk import, mid load, its secondary indexes dropped ---------------------------------------------

BULK_ROWS = 20_000  # customers.services.bulk.indexes.DEFER_MIN_ROWS: the size that drops the indexes


def _indexes(*tables: str) -> dict[str, tuple]:
    """Index name -> (table, oid, definition, valid, secondary) of ``tables`` in the current schema."""
    return {name: rest for name, *rest in query("""
        SELECT c.relname, i.indrelid::regclass::text, c.oid, pg_get_indexdef(c.oid), i.indisvalid,
               NOT i.indisunique AND NOT i.indisprimary
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid::regclass::text = ANY(%s)""", [list(tables)])}


def test_bulk_import_killed_with_its_indexes_dropped_leaves_nothing_and_runs_again(committed, world, tmp_path):
    processes, alpha, source = committed, world.alpha, "faultsbulk"
    path = tmp_path / "orders.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "external_order_id", "order_date", "status", "currency", "total_amount",
                         "customer_email", "customer_first_name", "items"])
        for n in range(BULK_ROWS):
            writer.writerow([source, f"b{n}", "2024-05-01T10:00:00Z", "completed", "ARS", f"{10 + n % 90}.00",
                             f"bulk{n}@faults.test", "Ana",
                             f'[{{"sku": "FB-{n % 5}", "name": "Yerba", "quantity": 1, "unit_price": "{10 + n % 90}.00"}}]'])
    tables = ("customers_customer", "customers_order", "customers_orderitem")
    with tenant_context(alpha):
        before = _indexes(*tables)
        Product.objects.create(sku="FB-0", name="Yerba")  # a product the file names, known already
    secondary = {name for name, (table, *_, is_secondary) in before.items()
                 if is_secondary and table in ("customers_customer", "customers_order")}
    assert secondary, "the tables have secondary indexes for the load to drop"

    def park_on_a_product():
        # The load locks the products its items name, after the customers' and the orders' inserts:
        # this transaction's lock on one of them holds it there. (It may not hold a lock on either
        # table: the load then keeps their indexes rather than wait for it.)
        list(Product.objects.select_for_update().filter(sku="FB-0"))

    command = ["import_orders", str(path), "--tenant", "alpha", "--mode", "bulk", "--no-progress"]
    with Blocker(park_on_a_product, tenant=alpha) as blocker:
        importer = processes.manage("import", *command)
        [waiting] = wait_until(lambda: blocker.waiters(processes, importer), timeout=120,
                               what="the import to reach the items", children=[importer])
        # mid load: 20,000 customers and orders written in its open transaction, the secondary
        # indexes of both tables dropped by it (and built again, uncommitted)
        held = locks_held(waiting)
        dropped = {name for name, modes in held.items() if "AccessExclusiveLock" in modes}
        assert secondary <= dropped, (secondary, held)
        importer.kill()
    processes.wait_sessions_gone(importer)

    with tenant_context(alpha):
        # nothing of the file, and every index exactly as it was (the DDL rolled back with the rest)
        people = Customer.objects.filter(email__startswith="bulk", email__endswith="@faults.test")
        assert nothing_of(source=source, customers=people) == {"orders": 0, "items": 0, "customers": 0,
                                                               "identities": 0}
        assert _indexes(*tables) == before
        assert not query("SELECT relname FROM pg_class WHERE relname LIKE 'cdp_bulk_%%' "
                         "AND relnamespace = current_schema()::regnamespace")

    # the same import, run again, loads everything once and rebuilds the indexes it drops
    again = processes.manage("import-again", *command)
    assert again.wait(timeout=180) == 0, again.log()
    assert "20,000 created" in again.log(), again.log()
    with tenant_context(alpha):
        assert_orders_whole(source=source, items={f"b{n}": 1 for n in range(BULK_ROWS)})
        after = _indexes(*tables)
        assert {name: (table, definition, valid) for name, (table, _, definition, valid, _) in after.items()} == {
            name: (table, definition, valid) for name, (table, _, definition, valid, _) in before.items()}


# --- a worker, mid connector sync ----------------------------------------------------------------------


def test_worker_killed_mid_sync_is_marked_interrupted_and_the_next_sync_resumes_from_its_cursor(committed, world):
    from integrations.models import Integration, SyncLog, VtexOrder
    from tests.integrations import fakes
    from tests.integrations.conftest import make_vtex_integration

    processes, alpha = committed, world.alpha
    vtex = fakes.FakeVtex().start()
    try:
        start = timezone.now() - datetime.timedelta(days=2)
        orders = [vtex.add(fakes.vtex_detail(n, created=start + datetime.timedelta(minutes=n)))["orderId"]
                  for n in range(15)]  # three pages of five
        page_2 = Gate(lambda request: request.path == "/api/oms/pvt/orders" and request.query.get("page") == "2")
        page_2.wrap(vtex, "handle")
        with tenant_context(alpha):
            integration = make_vtex_integration(vtex, ACTOR, sync_frequency="daily")
        knobs = {"INTEGRATIONS_VTEX_PAGE_SIZE": 5, "INTEGRATIONS_SYNC_LEASE_SECONDS": 3}

        # the worker, and the one that takes over after it is killed (started together: its messages are its own)
        worker, recovery = processes.worker("worker", queues=["syncs"], **knobs), \
            processes.worker("worker-2", queues=["syncs"], **knobs)
        processes.send_task("integrations.tasks.integration_sync_task", to=worker, queue="syncs",
                            schema=alpha.schema_name, kwargs={"integration_id": integration.pk, "trigger": "manual"})

        def mid_sync():
            with tenant_context(alpha):
                return page_2.arrived.is_set() and SyncLog.objects.filter(integration=integration, pages=1).first()

        # mid sync: page 1 committed (5 orders, the cursor after it), page 2 being fetched
        dead = wait_until(mid_sync, what="page 1 committed and page 2 in flight", children=[worker])
        worker.kill()
        page_2.release()
        processes.wait_sessions_gone(worker)
        with tenant_context(alpha):
            dead.refresh_from_db()
            assert (dead.status, dead.records_created) == ("in_progress", 5)
            assert Order.objects.filter(source=integration.source).count() == 5

            # its lease runs out (nobody renews it), and the schedule finds the sync due again
            wait_until(lambda: Integration.objects.filter(pk=integration.pk,
                                                          lease_expires_at__lte=timezone.now()).exists(),
                       what="the dead sync's lease to run out", timeout=30)
            processes.send_task("integrations.tasks.integrations_sync_due_task", to=recovery, queue="syncs",
                                schema=alpha.schema_name)
            resumed = wait_until(lambda: SyncLog.objects.filter(integration=integration).exclude(pk=dead.pk)
                                 .exclude(status="in_progress").first(), what="the resumed sync", children=[recovery])

            # the interrupted sync says so; the next one took over after page 1 and finished
            dead.refresh_from_db()
            assert (dead.status, dead.error_code) == ("error", "interrupted") and dead.finished_at
            assert (resumed.status, resumed.trigger, resumed.pages, resumed.records_created) == (
                "success", "schedule", 2, 10), resumed.error
            integration.refresh_from_db()
            assert (integration.state, integration.lease_log_id, integration.last_sync_status) == (
                "idle", None, "success")
            # every order once, with its items; page 1 was read once in all: nothing read twice
            assert_orders_whole(source=integration.source, items=dict.fromkeys(orders, 1))
            assert VtexOrder.objects.filter(integration=integration).count() == 15
        assert len([r for r in vtex.hits("/api/oms/pvt/orders", "GET") if r.query.get("page") == "1"]) == 1
        assert all(len(vtex.hits(f"/api/oms/pvt/orders/{order_id}")) == 1 for order_id in orders)
    finally:
        vtex.stop()


# --- a worker, mid webhook delivery batch ----------------------------------------------------------------


def test_worker_killed_mid_webhook_batch_delivers_every_event_once_more_at_most(committed, world):
    from django_redis import get_redis_connection

    from integrations import limits
    from integrations.models import WebhookDelivery
    from integrations.services import webhook_emit, webhooks
    from integrations.services.webhooks import DRAIN, webhook_endpoint_create
    from tests.integrations import fakes

    processes, alpha = committed, world.alpha
    receiver = fakes.FakeServer()
    receiver.route("POST", r"/hook", lambda request: fakes.Reply(200, {"ok": True}))
    receiver.start()
    try:
        posts = iter(range(100))
        third = Gate(lambda request: next(posts) == 2)  # the receiver took the third, its answer is held
        third.wrap(receiver, "handle")
        worker, recovery = processes.worker("worker", queues=["syncs"]), processes.worker("worker-2", queues=["syncs"])
        with tenant_context(alpha), processes.tasks_to(worker):
            webhook_endpoint_create(url=f"{receiver.url}/hook", events=["customer.created"], actor=ACTOR)
            for n in range(5):  # queues the tenant's drain (through the broker, for the worker)
                webhook_emit(event="customer.created", payload={"customer_id": n})
            deliveries = WebhookDelivery.objects.order_by("created_at", "id")

            def mid_batch():
                return third.arrived.is_set() and deliveries.filter(status="success").count() == 2

            # mid batch: two delivered, the third received by the receiver and not yet recorded
            wait_until(mid_batch, what="two deliveries done and the third in flight", children=[worker])
            worker.kill()
            third.release()
            processes.wait_sessions_gone(worker)
            assert list(deliveries.values_list("status", flat=True)) == ["success"] * 2 + ["pending"] * 3

            # The dead drain's hold on the tenant's slot lapses after its TTL (budget + timeout + 2
            # minutes; not waited for here): time passes, as with a clock in the in-process tests.
            redis = get_redis_connection("default")
            slot = limits.slot_key(DRAIN, alpha.schema_name)
            holders = redis.zrange(slot, 0, -1)
            assert len(holders) == 1, "the killed drain still holds the tenant's slot"
            redis.zadd(slot, {holder: 0 for holder in holders})
            # beat's sweep finds the tenant's deliveries due and queues its drain for the other worker
            processes.send_task("integrations.tasks.webhooks_wake_due_task", to=recovery, queue="syncs")

            def drained():
                return (deliveries.filter(status="success").count() == 5
                        and limits.slot_holders(DRAIN, schema=alpha.schema_name) == 0
                        and alpha.schema_name not in limits.due_schemas(DRAIN, now=time.time() + 3600))

            # every delivery sent, and the drain done: the tenant's slot free, nothing left due
            wait_until(drained, what="every delivery sent and the drain done", children=[recovery])

            # every event delivered; the one in flight was sent once more, as the same delivery of the
            # same event (receivers deduplicate by X-CDP-Event-Id), and counted once
            rows = list(deliveries.values_list("id", "event_id", "attempts"))
            assert [attempts for *_, attempts in rows] == [1] * 5
            received = [(r.headers["x-cdp-delivery"], r.headers["x-cdp-event-id"]) for r in receiver.hits("/hook")]
            sent = [(str(pk), str(event_id)) for pk, event_id, _ in rows]
            assert sorted(received) == sorted(sent + [sent[2]])
    finally:
        receiver.stop()
        webhooks._wanted_cache.clear()  # this process remembers which events alpha's endpoint wanted


# --- a worker, mid checkout (a subscription's renewal charge) ----------------------------------------


def test_worker_killed_mid_renewal_charge_is_completed_by_the_reconciler_charged_once(committed, world):
    from billing.models import Invoice, Order as BillingOrder, PaymentAttempt, PaymentGateway, PaymentMethod, \
        Subscription
    from billing.services import add_interval
    from tenants.models import AuditLog
    from tests.billing.factories import PlanProductFactory
    from tests.billing.fake_stripe import SECRET, FakeStripe

    processes, alpha = committed, world.alpha
    with FakeStripe() as stripe:
        stripe.server.handle_error = lambda *args: None  # the held answer meets a killed worker's closed socket
        charge = Gate(lambda path, headers, form: path == "/v1/payment_intents")  # charged, answer held
        charge.wrap(stripe, "post")
        gateway = PaymentGateway.objects.create(code="stripe-faults", name="Stripe (fake)", kind="stripe",
                                                config={"base_url": stripe.url})
        method = PaymentMethod.objects.create(tenant=alpha, gateway=gateway, reference="pm_card_visa", brand="visa",
                                              last4="4242", exp_month=12, exp_year=2034, is_default=True)
        period_end = timezone.now() - datetime.timedelta(hours=1)
        sub = Subscription.objects.create(tenant=alpha, product=PlanProductFactory(sku="T-FAULTS-PLAN"),
                                          interval="month", price=decimal.Decimal("49.00"), payment_method=method,
                                          current_period_start=period_end - datetime.timedelta(days=30),
                                          current_period_end=period_end)
        renewals = BillingOrder.objects.filter(subscription=sub, kind="renewal")
        knobs = {"CDP_STRIPE_SECRET_KEY": SECRET}

        worker, recovery = processes.worker("worker", queues=["default"], **knobs), \
            processes.worker("worker-2", queues=["default"], **knobs)
        processes.send_task("billing.tasks.billing_cycle_task", to=worker, queue="default")  # as beat does, hourly
        # mid checkout: the intent committed (a pending attempt), the card charged, the answer not back
        wait_until(lambda: charge.arrived.is_set() and PaymentAttempt.objects.filter(
            order__in=renewals, status="pending").exists(), what="the renewal charged", children=[worker])
        worker.kill()
        charge.release()
        processes.wait_sessions_gone(worker)
        [order] = renewals
        assert order.status == "pending" and len(stripe.charges) == 1

        # the next hourly cycle comes first: it must not charge again, nor count a failed payment
        processes.send_task("billing.tasks.billing_cycle_task", to=recovery, queue="default")
        wait_until(lambda: re.search(r"billing_cycle_task\[[^]]+\] succeeded", recovery.log(tail=None)),
                   what="the next cycle run", children=[recovery])
        assert len(stripe.intents) == 1
        # then the reconciler finds the half-way attempt, asks the gateway, and completes the order
        processes.send_task("billing.tasks.payments_reconcile_task", to=recovery, queue="default")
        wait_until(lambda: BillingOrder.objects.filter(pk=order.pk, status="paid").exists(),
                   what="the renewal completed", children=[recovery])
        wait_until(lambda: Subscription.objects.filter(pk=sub.pk, current_period_end__gt=period_end).exists(),
                   what="the subscription renewed", children=[recovery])

        [attempt] = PaymentAttempt.objects.filter(order__in=renewals)
        [intent] = stripe.charges
        assert (attempt.status, attempt.transaction_id) == ("succeeded", intent["id"])
        assert len(stripe.intents) == 1 and not stripe.refunds  # charged once, nothing to give back
        assert list(renewals.values_list("status", flat=True)) == ["paid"]
        assert Invoice.objects.filter(order=order).count() == 1
        sub.refresh_from_db()
        assert (sub.status, sub.failed_attempts, sub.dunning_state) == ("active", 0, "none")
        # and nobody was told the payment failed: it had not (the cycle left it to the reconciler)
        assert not AuditLog.objects.filter(action="subscription.payment_failed", resource_id=str(sub.pk)).exists()
        assert sub.current_period_end == add_interval(period_end, "month")


# --- the web process, mid checkout (the buyer's card charged, the answer not back) ----------------------


def test_web_process_killed_mid_checkout_retry_with_its_key_never_pays_twice(committed, world):
    from billing.models import IdempotencyRecord, Invoice, Order as BillingOrder, PaymentAttempt, PaymentGateway
    from tenants.services import api_key_create
    from tests.billing.factories import ProductFactory
    from tests.billing.fake_stripe import SECRET, FakeStripe

    processes, alpha = committed, world.alpha
    with FakeStripe() as stripe:
        stripe.server.handle_error = lambda *args: None  # the held answer meets a killed process's closed socket
        charge = Gate(lambda path, headers, form: path == "/v1/payment_intents")  # charged, answer held
        charge.wrap(stripe, "post")
        PaymentGateway.objects.create(code="stripe-faults", name="Stripe (fake)", kind="stripe",
                                      config={"base_url": stripe.url})
        ProductFactory(sku="T-FAULTS-ONCE", price=decimal.Decimal("25.00"))
        key = api_key_create(tenant=alpha, name="faults", scopes=["read", "billing"], actor=ACTOR).key
        headers = {"Host": "alpha.localhost", "Authorization": f"Api-Key {key}", "Idempotency-Key": "buy-7f3c"}
        body = {"items": [{"sku": "T-FAULTS-ONCE"}], "payment": {"gateway": "stripe-faults", "token": "tok_visa"}}
        knobs = {"CDP_STRIPE_SECRET_KEY": SECRET}
        # the web process, the one the buyer's retry reaches, and a worker for the reconciler
        web, second = processes.web("web", **knobs), processes.web("web-2", **knobs)
        worker = processes.worker("worker", queues=["default"], **knobs)
        url = processes.serving(web)

        answers: list = []
        client = threading.Thread(target=lambda: answers.append(
            _post(f"{url}/api/v1/billing/checkout/", body, headers)))
        client.start()
        orders = BillingOrder.objects.filter(tenant=alpha, items__sku="T-FAULTS-ONCE")
        # mid checkout: order and intent committed, the card charged, the gateway's answer not back
        wait_until(lambda: charge.arrived.is_set() and PaymentAttempt.objects.filter(
            order__in=orders, status="pending").exists() or _unexpected(answers),
            what="the checkout charged", children=[web])
        web.kill()
        charge.release()
        client.join(timeout=30)
        assert isinstance(answers[0], requests.ConnectionError), answers  # the buyer got no answer
        processes.wait_sessions_gone(web)
        [order] = orders
        assert order.status == "pending" and len(stripe.charges) == 1

        # the buyer retries with the same key: not a second purchase; the key is free (its holder
        # died) and bound to the order, whose payment is not settled yet
        url = processes.serving(second)
        retry = _post(f"{url}/api/v1/billing/checkout/", body, headers)
        assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_in_progress", retry.content
        assert len(stripe.intents) == 1

        # the reconciler asks the gateway about the pending attempt and completes the order
        processes.send_task("billing.tasks.payments_reconcile_task", to=worker, queue="default")
        wait_until(lambda: orders.filter(status="paid").exists(), what="the order completed", children=[worker])
        # and the buyer's next retry gets the purchase's answer, marked as a replay
        again = _post(f"{url}/api/v1/billing/checkout/", body, headers)
        assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.content
        assert again.json()["order_number"] == order.order_number and again.json()["status"] == "paid"

        [attempt] = PaymentAttempt.objects.filter(order=order)
        [intent] = stripe.charges
        assert (attempt.status, attempt.transaction_id) == ("succeeded", intent["id"])
        assert len(stripe.intents) == 1 and not stripe.refunds
        assert orders.count() == 1 and Invoice.objects.filter(order=order).count() == 1
        assert IdempotencyRecord.objects.get(order=order).status == "completed"

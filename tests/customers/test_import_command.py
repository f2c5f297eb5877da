"""``import_orders``: CSV (record and bulk paths), JSON Lines, rejected rows and exit codes."""

from __future__ import annotations

import csv
import decimal
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Address, Customer, CustomerChangeLog, CustomerIdentity, Order, SourcePriority

HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "payment_method",
          "customer_email", "customer_external_id", "customer_first_name", "customer_last_name", "customer_phone",
          "customer_document_type", "customer_document_number", "customer_country", "customer_address_line1",
          "customer_address_city", "items", "extra_column"]

ROWS = [
    ["vtex", "A1", "2024-01-05T10:00:00-03:00", "completed", "ARS", "1000", "card", " Ana@Mail.com ", "v-1", "Ana",
     "Paz", "11 4444-5555", "DNI", "20.111.222", "AR", "Av. Siempre Viva 742", "CABA",
     '[{"sku": "MATE", "name": "Mate", "quantity": 2, "unit_price": "500"}]', "x"],
    ["mercadolibre", "M1", "2024-02-05", "", "", "500.5", "", "ana@mail.com", "ml-9", "", "", "", "", "", "ARG", "",
     "", "", "y"],
    ["vtex", "A2", "2024-03-01T00:00:00Z", "cancelled", "ARS", "300", "", "", "v-1", "", "", "", "", "", "", "", "",
     "", ""],
    ["pos", "P1", "2024-03-02T00:00:00Z", "completed", "ARS", "200", "", "", "", "Juan", "Ruiz", "", "dni",
     "30111222", "AR", "", "", "", ""],
    ["vtex", "BAD1", "not a date", "completed", "ARS", "-3", "", "bad-email", "", "", "", "", "", "", "", "", "",
     "", ""],
    ["vtex", "", "2024-03-02T00:00:00Z", "lost", "ARS", "1", "", "z@mail.com", "", "", "", "", "", "", "", "", "",
     "[oops", ""],
    ["vtex", "A1", "2024-01-05T10:00:00-03:00", "completed", "ARS", "1000", "card", "ana@mail.com", "v-1", "", "",
     "", "", "", "", "", "", "", ""],
]


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(path, *extra, tenant="alpha"):
    call_command("import_orders", str(path), "--tenant", tenant, "--no-progress", *extra)


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_csv_import_unifies_rejects_and_writes_reasons(world, tmp_path, mode, capsys):
    path = write_csv(tmp_path / "orders.csv", ROWS)

    run(path, "--mode", mode)

    out = capsys.readouterr().out
    assert "4 created" in out and "3 rejected" in out
    with tenant_context(world.alpha):
        ana = Customer.objects.get(email="ana@mail.com")
        assert (ana.first_name, ana.phone, ana.document_number, ana.country) == ("Ana", "+541144445555", "20111222",
                                                                                 "AR")
        assert set(ana.identities.values_list("source", "external_id")) == {("vtex", "v-1"), ("mercadolibre", "ml-9")}
        assert (ana.total_orders, ana.total_spent) == (2, decimal.Decimal("1500.50"))
        assert Order.objects.get(external_order_id="A1").items.get().total_price == decimal.Decimal("1000.00")
        assert Order.objects.get(external_order_id="M1").currency == "ARS"
        assert Order.objects.get(external_order_id="A1").raw["customer_email"] == " Ana@Mail.com "
        assert Address.objects.get(customer=ana).is_default
        juan = Customer.objects.get(document_number="30111222")
        assert juan.email is None and juan.identities.count() == 0
        assert Customer.objects.count() == 2
    # written by cdp.csv: UTF-8 with a BOM (for Excel), formula cells neutralised
    with open(tmp_path / "orders.rejected.csv", newline="", encoding="utf-8-sig") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r["row"] for r in rejected] == ["5", "6", "7"]
    assert "order_date" in rejected[0]["errors"] and "total_amount" in rejected[0]["errors"]
    assert "customer.email" in rejected[0]["errors"]
    assert "external_order_id" in rejected[1]["errors"] and "status" in rejected[1]["errors"]
    assert "items" in rejected[1]["errors"]
    assert "Same order as" in rejected[2]["errors"]


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_reimport_is_unchanged_and_changes_are_updated_and_logged(world, tmp_path, mode, capsys):
    path = write_csv(tmp_path / "orders.csv", ROWS[:4])
    run(path, "--mode", mode)
    capsys.readouterr()

    run(path, "--mode", mode)
    assert "0 created, 0 updated, 4 unchanged" in capsys.readouterr().out

    changed = [list(r) for r in ROWS[:4]]
    changed[0][3] = "refunded"
    changed[1][5] = "600"
    run(write_csv(tmp_path / "orders.csv", changed), "--mode", mode)
    assert "0 created, 2 updated, 2 unchanged" in capsys.readouterr().out
    with tenant_context(world.alpha):
        ana = Customer.objects.get(email="ana@mail.com")
        assert (ana.total_orders, ana.total_spent) == (1, decimal.Decimal("600.00"))
        logged = set(CustomerChangeLog.objects.filter(customer=ana).values_list("field", flat=True))
        assert {"order.status", "order.total_amount"} <= logged


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_priorities_and_empty_values_on_known_customers(world, tmp_path, mode):
    with tenant_context(world.alpha):
        SourcePriority.objects.create(source="erp", priority=90)
    header = ["source", "external_order_id", "order_date", "total_amount", "customer_email", "customer_first_name",
              "customer_city"]
    run(write_csv(tmp_path / "a.csv", [["vtex", "1", "2024-01-01", "10", "p@x.com", "Pablo", ""]], header),
        "--mode", mode)
    run(write_csv(tmp_path / "b.csv", [["shop", "2", "2024-01-02", "10", "p@x.com", "Pablito", "Lima"],
                                       ["erp", "3", "2024-01-01", "10", "p@x.com", "", ""]], header), "--mode", mode)
    with tenant_context(world.alpha):
        customer = Customer.objects.get(email="p@x.com")
        assert (customer.first_name, customer.city) == ("Pablo", "Lima")
        assert CustomerChangeLog.objects.get(customer=customer, field="city").reason == "filled empty value"
    run(write_csv(tmp_path / "c.csv", [["erp", "4", "2024-01-03", "10", "p@x.com", "Pablo José", ""]], header),
        "--mode", mode)
    with tenant_context(world.alpha):
        customer = Customer.objects.get(email="p@x.com")
        assert customer.first_name == "Pablo José" and customer.field_sources["first_name"] == "erp"
        assert "erp outranks vtex" in CustomerChangeLog.objects.get(customer=customer, field="first_name").reason


def index_definitions(tenant) -> list[str]:
    from django.db import connection

    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename LIKE 'customers_%%' "
                       "ORDER BY indexname", [tenant.schema_name])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("deferred", [False, True], ids=["indexes-kept", "indexes-rebuilt"])
def test_bulk_and_records_paths_agree(world, tmp_path, monkeypatch, deferred):
    """Also when the bulk path sets the secondary indexes aside and builds them again (a load that
    at least doubles a table): the same rows, and the same indexes afterwards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.services.bulk import indexes

    monkeypatch.setattr(indexes, "DEFER_MIN_ROWS", 1 if deferred else 10**9)
    path = write_csv(tmp_path / "orders.csv", ROWS)
    run(path, "--mode", "records", tenant="alpha")
    before = index_definitions(world.beta)
    with CaptureQueriesContext(connection) as queries:
        run(path, "--mode", "bulk", tenant="beta")
    dropped = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DROP INDEX")]
    assert bool(dropped) is deferred
    if deferred:
        assert {"DROP INDEX order_date_idx", "DROP INDEX customer_total_spent_idx"} <= set(dropped)
    assert index_definitions(world.beta) == before

    def snapshot(tenant):
        with tenant_context(tenant):
            customers = sorted(Customer.objects.values_list(
                "email", "phone", "document_type", "document_number", "first_name", "last_name", "country",
                "total_orders", "total_spent", "avg_order_value", "first_purchase_at", "last_purchase_at"),
                key=str)
            orders = sorted(Order.objects.values_list("source", "external_order_id", "order_date", "status",
                                                      "currency", "total_amount", "customer__email"), key=str)
            identities = sorted(CustomerIdentity.objects.values_list("source", "external_id", "customer__email"),
                                key=str)
            return customers, orders, identities

    assert snapshot(world.alpha) == snapshot(world.beta)


def test_indexes_set_aside_come_back_when_the_import_fails(world, tmp_path, monkeypatch):
    from contextlib import contextmanager

    from customers.services.bulk import indexes, writes

    monkeypatch.setattr(indexes, "DEFER_MIN_ROWS", 1)
    before = index_definitions(world.beta)

    @contextmanager
    def failing(cursor, table, adding):
        with indexes.indexes_deferred(cursor, table, adding) as deferred:
            yield deferred
            assert deferred
            raise RuntimeError("disk on fire")  # after the order insert, before the rebuild

    monkeypatch.setattr(writes, "indexes_deferred", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(write_csv(tmp_path / "orders.csv", ROWS), "--mode", "bulk", tenant="beta")
    assert index_definitions(world.beta) == before
    with tenant_context(world.beta):
        assert not Order.objects.exists()


def test_indexes_stay_when_a_reader_holds_the_table(world, tmp_path, monkeypatch, caplog):
    """A DROP INDEX waiting behind a long reader would queue every later reader of the table: the
    import waits LOCK_TIMEOUT, then keeps the indexes and goes on."""
    import threading

    from django.db import connection, transaction

    from customers.services.bulk import indexes

    monkeypatch.setattr(indexes, "DEFER_MIN_ROWS", 1)
    monkeypatch.setattr(indexes, "LOCK_TIMEOUT", "200ms")
    before = index_definitions(world.beta)
    reading, done = threading.Event(), threading.Event()

    def reader():
        try:
            with tenant_context(world.beta), transaction.atomic():
                list(Order.objects.all()[:1])  # holds the table (ACCESS SHARE) until the transaction ends
                reading.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(30)
        with caplog.at_level("INFO", logger="customers.services.bulk.indexes"):
            run(write_csv(tmp_path / "orders.csv", ROWS), "--mode", "bulk", tenant="beta")
    finally:
        done.set()
        thread.join()
    assert "keeping the indexes of customers_order during the load: canceling statement due to lock timeout" in caplog.text
    assert index_definitions(world.beta) == before
    with tenant_context(world.beta):
        assert Order.objects.count() == 4


def test_jsonl_import_with_rejected_lines(world, tmp_path, capsys):
    path = tmp_path / "orders.jsonl"
    good = {"source": "api", "external_order_id": "J1", "order_date": "2024-04-01", "total_amount": 10,
            "customer": {"email": "j@x.com"}}
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({**good, "external_order_id": "J2",
                                                                    "customer": {}}) + "\n")

    run(path)

    assert "1 created" in capsys.readouterr().out
    lines = [json.loads(line) for line in (tmp_path / "orders.rejected.jsonl").read_text().splitlines()]
    assert [line["line"] for line in lines] == [2, 3]
    assert "customer" in lines[1]["errors"]


def test_missing_columns_and_unreadable_file_exit_non_zero(world, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [["1", "2024-01-01"]], header=["external_order_id", "order_date"])
    with pytest.raises(CommandError, match="total_amount"):
        run(path)
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "nope.csv")
    with pytest.raises(CommandError, match="Unknown tenant"):
        run(path, tenant="nobody")


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_both_paths_publish_the_same_events(world, tmp_path, mode, django_capture_on_commit_callbacks):
    from cdp.events import batch_handler
    from customers import registry
    from loyalty.hooks import loyalty_pending_flush

    seen, batches = [], []
    each = lambda **kwargs: seen.append(kwargs)  # noqa: E731
    batch = batch_handler(lambda *, events: batches.append(events))
    for event in ("order.ingested", "customer.created"):
        registry.subscribe(event, each)
    registry.subscribe("order.ingested", batch)
    changed = [list(r) for r in ROWS[:4]]
    changed[0][3] = "refunded"
    try:
        for rows in (ROWS[:4], changed):
            # Callbacks run where the test's transaction "commits": in the tenant, as in real life.
            with tenant_context(world.alpha), django_capture_on_commit_callbacks(execute=True):
                run(write_csv(tmp_path / "orders.csv", rows), "--mode", mode)
    finally:
        for event in ("order.ingested", "customer.created"):
            registry.unsubscribe(event, each)
        registry.unsubscribe("order.ingested", batch)
        with tenant_context(world.alpha):  # loyalty buffered these orders: earn now, in the tenant
            loyalty_pending_flush()

    with tenant_context(world.alpha):
        orders = dict(Order.objects.values_list("external_order_id", "id"))
        ana, juan = Customer.objects.get(email="ana@mail.com"), Customer.objects.get(document_number="30111222")
    created = sorted((e["customer_id"], e["source"]) for e in seen if "source" in e)
    assert created == sorted([(ana.pk, "vtex"), (juan.pk, "pos")])
    ingested = [(e["order_id"], e["outcome"]) for e in seen if "outcome" in e]
    assert sorted(ingested) == sorted([(orders[x], "created") for x in ("A1", "M1", "A2", "P1")]
                                      + [(orders["A1"], "updated")])
    # A batch subscriber gets every order of a publication in one call.
    assert sorted(len(b) for b in batches) in ([1, 4], [1, 1, 1, 1, 1])


def test_bulk_import_satisfies_every_foreign_key_when_the_checks_run(world, tmp_path, monkeypatch):
    """On a server where the role may not skip foreign-key checks, they run, and every row the
    bulk path writes must pass them (new customers, identities, orders, items, addresses, logs)."""
    from django.db import connection

    from customers.services.bulk import load

    monkeypatch.setattr(load, "_foreign_key_triggers_off", lambda cursor: False)
    path = write_csv(tmp_path / "orders.csv", ROWS)
    run(path, "--mode", "bulk")
    changed = [list(r) for r in ROWS[:4]]
    changed[0][3] = "refunded"
    changed[0][17] = '[{"sku": "YERBA", "name": "Yerba", "quantity": 1, "unit_price": "900"}]'
    run(write_csv(tmp_path / "orders.csv", changed), "--mode", "bulk")

    with tenant_context(world.alpha), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks, now rather than at commit
        assert Order.objects.get(external_order_id="A1").items.get().sku == "YERBA"


DETAIL_HEADER = ["source", "external_order_id", "order_number", "order_date", "status", "payment_status",
                 "shipping_method", "utm_source", "utm_medium", "utm_campaign", "total_amount", "customer_email"]
DETAIL_ROWS = [
    ["vtex", "V1", "500123", "2024-01-05T10:00:00-03:00", "paid", "paid", "Normal", "google", "cpc", "Spring",
     "100", "ana@mail.com"],
    ["vtex", "V2", "500124", "2024-01-06T10:00:00-03:00", "pending", " Pending ", "Expressa", "", "", "", "2000",
     "ana@mail.com"],
    ["mercadolibre", "M1", "2000009876543211", "2024-02-05", "invoiced", "PAID", "fulfillment", "", "", "", "30000",
     "ana@mail.com"],
    ["vtex", "V3", "500125", "2024-03-01", "cancelled", "cancelled", "", "", "", "", "400000", "juan@mail.com"],
    ["vtex", "BAD", "x" * 65, "2024-03-01", "paid", "maybe", "", "", "", "", "1", "juan@mail.com"],
]


@pytest.mark.parametrize("rule", [None, ["pending", "paid", "invoiced", "completed"]], ids=["default", "pending"])
def test_bulk_and_records_paths_agree_on_order_details_and_the_counted_sale_rule(world, tmp_path, rule):
    """The counted-sale rule (the default, and one counting pending orders) and the order details
    stores send (number, payment status, shipping method, UTM) come out the same on both paths,
    rejections included."""
    from customers.services.sales import counted_statuses_set

    if rule:
        for tenant in (world.alpha, world.beta):
            with tenant_context(tenant):
                counted_statuses_set(statuses=rule, actor=Actor.system("tests"), tenant=tenant, enqueue=False)
    path = write_csv(tmp_path / "details.csv", DETAIL_ROWS, DETAIL_HEADER)
    run(path, "--mode", "records", tenant="alpha")
    run(path, "--mode", "bulk", tenant="beta")

    def snapshot(tenant):
        with tenant_context(tenant):
            customers = sorted(Customer.objects.values_list(
                "email", "total_orders", "total_spent", "avg_order_value", "first_purchase_at", "last_purchase_at"),
                key=str)
            orders = sorted(Order.objects.values_list(
                "external_order_id", "order_number", "status", "payment_status", "shipping_method", "utm_source",
                "utm_medium", "utm_campaign", "total_amount"), key=str)
            return customers, orders

    assert snapshot(world.alpha) == snapshot(world.beta)
    customers, orders = snapshot(world.alpha)
    ana = next(c for c in customers if c[0] == "ana@mail.com")
    assert ana[1:3] == ((3, decimal.Decimal("32100.00")) if rule else (2, decimal.Decimal("30100.00")))
    assert ("V2", "500124", "pending", "pending", "Expressa", "", "", "", decimal.Decimal("2000.00")) in orders
    assert all(order[0] != "BAD" for order in orders)
    with open(tmp_path / "details.rejected.csv", newline="") as handle:
        rejected = csv.DictReader(handle)
        errors = next(rejected)["errors"]
    assert "order_number" in errors and "payment_status" in errors

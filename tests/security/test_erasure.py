"""Erasure leaves nothing behind (review C6): a person known to every table of the tenant is
pseudonymized, then every text, varchar, array and JSON column of the tenant's schema, and every
public row that belongs to the tenant, is searched for the person's values. None may remain.

The person reaches the tenant through every door: VTEX and MercadoLibre syncs (fake stores), a
CSV import on the record path and another on the bulk path, the ingest API, a duplicate profile
merged into the survivor, loyalty (earn, a bonus naming them, a redemption), credit (approval
note with name and document, a usage, a payment), webhooks (deliveries about them, a receiver
echoing them), notes, tags and metadata, an address, the change log, identities, the tenant
admin's history, the audit log and a signed-in session."""

from __future__ import annotations

import csv
import json

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer, Order
from tests.conftest import api_client
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_ml_integration, make_vtex_integration
from tests.security.conftest import admin_customer_form, post_json

EMAIL = "zuleika.quintanillo@example.com"
ALT_EMAIL = "zq.otra.cuenta@example.com"
FIRST, LAST = "Zuleika", "Quintanillo"
PHONE_RAW, PHONE_STORED, PHONE_NATIONAL = "011 5555-0123", "+541155550123", "1155550123"
DOC_PUNCTUATED, DOC = "30.123.456", "30123456"
STREET, POSTAL = "Calle Inventada", "C1414XYZ"
VTEX_PROFILE, ML_BUYER = "vtex-prof-zq-77", 5550001

#: What must be gone: e-mail, phone (stored and raw forms), document (with and without
#: punctuation), names, street, postal code, and the ids the stores know the person by.
ERASED_VALUES = [EMAIL, ALT_EMAIL, "zuleika.quintanillo", FIRST, LAST, PHONE_STORED, PHONE_RAW, "5555-0123",
                 PHONE_NATIONAL, DOC, DOC_PUNCTUATED, STREET, POSTAL, VTEX_PROFILE, str(ML_BUYER)]

CSV_HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "customer_email",
              "customer_first_name", "customer_last_name", "customer_phone", "customer_document_type",
              "customer_document_number", "customer_country", "customer_address_line1", "customer_address_number",
              "customer_address_city", "customer_address_postal_code", "items"]


def csv_row(order_id: str, date: str) -> list[str]:
    return ["shop", order_id, date, "completed", "ARS", "800", EMAIL, FIRST, LAST, PHONE_RAW, "dni",
            DOC_PUNCTUATED, "AR", STREET, "742", "Palermo", POSTAL, '[{"sku": "MATE", "quantity": 1, "unit_price": 800}]']


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def fast_http(settings):
    settings.INTEGRATIONS_HTTP_TIMEOUT = 2.0
    settings.INTEGRATIONS_HTTP_MAX_RETRIES = 1
    settings.INTEGRATIONS_HTTP_BACKOFF_BASE = 0.01
    settings.INTEGRATIONS_WEBHOOK_TIMEOUT = 2.0


@pytest.fixture
def stores():
    """A fake VTEX and a fake MercadoLibre selling to the person, and a CRM-like webhook receiver
    that answers with its copy of the contact (receivers often echo what they stored)."""
    vtex, meli, receiver = fakes.FakeVtex(), fakes.FakeMercadoLibre(), fakes.FakeServer()
    detail = fakes.vtex_detail(1, created=days_ago(3), masked=False, email=EMAIL, document=DOC,
                               profile_id=VTEX_PROFILE)
    detail["clientProfileData"].update(firstName=FIRST, lastName=LAST, phone="+54 11 5555-0123", documentType="dni")
    detail["shippingData"]["address"].update(receiverName=f"{FIRST} {LAST}", street=STREET, postalCode=POSTAL,
                                             country="ARG", state="CABA", city="Palermo")
    vtex.add(detail)
    ml = fakes.ml_order(1, created=days_ago(3), buyer_id=ML_BUYER, doc=DOC)
    ml["buyer"].update(first_name=FIRST, last_name=LAST, email=EMAIL)
    meli.orders.append(ml)
    receiver.route("POST", r"/hook", lambda request: fakes.Reply(200, {
        "ok": True, "contact": {"email": EMAIL, "name": f"{FIRST} {LAST}", "phone": PHONE_STORED}}))
    for server in (vtex, meli, receiver):
        server.start()
    yield vtex, meli, receiver
    for server in (vtex, meli, receiver):
        server.stop()


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


@pytest.fixture
def person(world, alpha_api, alpha_client, stores, fast_http, tmp_path, django_capture_on_commit_callbacks):
    """The person, known to every table; returns the surviving customer's id."""
    from customers.services.credit import (
        credit_account_approve,
        credit_account_request,
        credit_payment_record,
        credit_usage_record,
    )
    from customers.services.merge import customer_merge
    from integrations.services import integration_sync, webhook_emit, webhook_endpoint_create
    from loyalty.services import loyalty_orders_sync, loyalty_points_bonus, loyalty_points_redeem

    vtex, meli, receiver = stores
    actor = Actor.system("tests")
    with tenant_context(world.alpha), django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_create(url=f"{receiver.url}/hook", actor=actor,
                                events=["order.ingested", "customer.updated", "customer.created"])
    # the ingest API (its raw payload holds a note naming the person)
    api_order = {"source": "api", "external_order_id": "api-1", "order_date": "2024-05-01T10:00:00-03:00",
                 "currency": "ARS", "total_amount": "1500.00",
                 "customer": {"email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE_RAW,
                              "country": "AR", "document_type": "dni", "document_number": DOC_PUNCTUATED,
                              "external_id": "api-cust-zq",
                              "address": {"line1": STREET, "number": "742", "postal_code": POSTAL, "city": "Palermo",
                                          "country": "AR", "recipient_name": f"{FIRST} {LAST}"}},
                 "items": [{"sku": "YERBA", "quantity": 1, "unit_price": "1500"}],
                 "raw": {"id": "api-1", "customerEmail": EMAIL, "customer_address_city": "Palermo",
                         "customer_address_number": "742", "gift_note": f"gift for {FIRST}",
                         "billing": {"doc": DOC_PUNCTUATED, "street": STREET, "zip": POSTAL}}}
    duplicate = {**api_order, "external_order_id": "api-2", "customer": {
        "email": ALT_EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE_RAW, "country": "AR"}}
    duplicate.pop("raw")
    with django_capture_on_commit_callbacks(execute=True):
        body = post_json(alpha_api, "/api/v1/orders/ingest/", {"orders": [api_order, duplicate]}).json()
    assert body["created"] == 2, body
    customer_id, duplicate_id = body["results"][0]["customer_id"], body["results"][1]["customer_id"]
    assert customer_id != duplicate_id
    # the stores, through their connectors
    with tenant_context(world.alpha), django_capture_on_commit_callbacks(execute=True):
        for integration in (make_vtex_integration(vtex, actor), make_ml_integration(meli, actor)):
            log = integration_sync(integration_id=integration.pk)
            assert log.records_created == 1 and log.records_rejected == 0, (log.status, log.rejections, log.error)
    # CSV imports: the record path and the bulk path
    with django_capture_on_commit_callbacks(execute=True):
        for mode, order_id in (("records", "csv-r-1"), ("bulk", "csv-b-1")):
            path = write_csv(tmp_path / f"{mode}.csv", [csv_row(order_id, "2024-06-01T10:00:00-03:00")])
            call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)
    # a manual edit, an address, notes, tags and metadata
    edit = post_json(alpha_api, f"/api/v1/customers/{customer_id}/", method="patch", body={
        "notes": f"Call {FIRST} after 6pm", "tags": ["vip", f"{FIRST.lower()}-fan"],
        "metadata": {"nickname": f"Zuli {LAST}"}, "phone": "011 5555-0199"})
    assert edit.status_code == 200, edit.content
    address = post_json(alpha_api, f"/api/v1/customers/{customer_id}/addresses/", {
        "line1": f"{STREET} 100", "postal_code": POSTAL, "city": "Palermo", "country": "AR",
        "recipient_name": f"{FIRST} {LAST}", "address_type": "billing"})
    assert address.status_code == 201, address.content
    # the tenant admin (history and a signed-in session)
    admin = alpha_client(world.user("alpha_owner"))
    saved = admin.post(f"/admin/customers/customer/{customer_id}/change/",
                       admin_customer_form(admin, customer_id, phone=PHONE_RAW))
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    with tenant_context(world.alpha):
        # the duplicate profile is merged into the survivor
        customer_merge(survivor_id=customer_id, merged_id=duplicate_id, actor=actor, reason=f"same {FIRST}")
        # loyalty: earn from the orders, a bonus naming them, a redemption
        loyalty_orders_sync(order_ids=list(Order.objects.filter(customer_id=customer_id).values_list("pk", flat=True)))
        loyalty_points_bonus(customer_id=customer_id, points=50, reason=f"Birthday gift for {FIRST} {LAST}",
                             actor=actor)
        loyalty_points_redeem(customer_id=customer_id, points=10, actor=actor, description=f"Voucher for {FIRST}",
                              reference=f"voucher-{LAST}")
        # credit: request, approval note with name and document, a usage and a payment
        account = credit_account_request(customer_id=customer_id, requested_limit="5000", currency="ARS",
                                         note=f"{FIRST} asked for credit", actor=actor)
        credit_account_approve(account_id=account.pk, credit_limit="5000", actor=actor,
                               note=f"Approved for {FIRST} {LAST}, DNI {DOC_PUNCTUATED}")
        order = Order.objects.get(external_order_id="api-1")
        usage = credit_usage_record(account_id=account.pk, order_id=order.pk, actor=actor)
        credit_payment_record(account_id=account.pk, amount="100", usage_id=usage.pk, actor=actor,
                              reference=f"transfer {LAST}", note=f"paid by {FIRST} {LAST}")
        # a webhook event whose body carries the person (as a richer event would)
        with django_capture_on_commit_callbacks(execute=True):
            webhook_emit(event="customer.updated", payload={"customer_id": customer_id, "fields": ["email"],
                                                            "email": EMAIL, "name": f"{FIRST} {LAST}"})
    return customer_id


def _text_columns(cursor, schema: str) -> list[tuple[str, str]]:
    cursor.execute("""
        SELECT c.table_name, c.column_name FROM information_schema.columns c
          JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE'
           AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
         ORDER BY 1, 2""", [schema])
    return cursor.fetchall()


def tenant_hits(tenant, values) -> set[tuple[str, str, str]]:
    """(table, column, value) for every text-like column of the tenant's schema holding a value."""
    hits = set()
    with connection.cursor() as cursor:
        columns = _text_columns(cursor, tenant.schema_name)
        assert len(columns) > 100  # every app's tables, not a chosen few
        for table, column in columns:
            for value in values:
                cursor.execute(f'SELECT 1 FROM "{tenant.schema_name}"."{table}" WHERE "{column}"::text ILIKE %s '
                               "LIMIT 1", [f"%{value}%"])
                if cursor.fetchone():
                    hits.add((table, column, value))
    return hits


def public_hits(tenant, values) -> set[tuple[str, str, str]]:
    """The same over the public rows that belong to the tenant: every table with a tenant column
    (audit log, sessions, licensing and billing rows...), the public admin log, and the Django
    sessions of the tenant's signed-in sessions (decoded)."""
    hits = set()
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name FROM information_schema.columns
                           WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1""")
        owned = [row[0] for row in cursor.fetchall()]
        assert {"tenants_auditlog", "tenants_usersession"} <= set(owned)
        for table, column in _text_columns(cursor, "public"):
            if table not in owned and table != "django_admin_log":
                continue
            scope = "tenant_id = %s" if table in owned else "true"
            for value in values:
                cursor.execute(f'SELECT 1 FROM public."{table}" WHERE {scope} AND "{column}"::text ILIKE %s LIMIT 1',
                               ([tenant.pk] if table in owned else []) + [f"%{value}%"])
                if cursor.fetchone():
                    hits.add((table, column, value))
        cursor.execute("""SELECT s.session_key FROM public.django_session s
                            JOIN public.tenants_usersession u ON u.key_hash = encode(sha256(s.session_key::bytea), 'hex')
                           WHERE u.tenant_id = %s""", [tenant.pk])
        keys = [row[0] for row in cursor.fetchall()]
    for key in keys:
        decoded = json.dumps(SessionStore(session_key=key).load(), default=str).lower()
        hits |= {("django_session", "session_data", value) for value in values if value.lower() in decoded}
    return hits


def test_pseudonymization_leaves_nothing_of_the_person_anywhere(world, alpha_api, person):
    # given the person is really everywhere (the scan finds them in every kind of table)
    with tenant_context(world.alpha):
        before = {(table, column) for table, column, _ in tenant_hits(world.alpha, ERASED_VALUES)}
        merged = Customer.objects.filter(merged_into_id=person).count()
    assert merged == 1
    expected = {("customers_customer", "email"), ("customers_order", "raw"), ("customers_address", "line1"),
                ("customers_customeridentity", "external_id"), ("customers_customerchangelog", "old_value"),
                ("customers_loyaltytransaction", "description"), ("customers_creditaccount", "approval_note"),
                ("customers_creditpayment", "note"),
                ("integrations_vtexorder", "payload"), ("integrations_mercadolibreorder", "payload"),
                ("integrations_webhookdelivery", "payload"), ("integrations_webhookdelivery", "response_body")}
    assert expected <= before, expected - before
    public_before = {(table, column) for table, column, _ in public_hits(world.alpha, ERASED_VALUES)}
    assert ("tenants_auditlog", "changes") in public_before
    assert ("django_admin_log", "object_repr") in before | public_before  # the admin history, wherever it is

    # when
    response = post_json(alpha_api, f"/api/v1/customers/{person}/pseudonymize/", {"reason": "ticket 4711"})

    # then not one value is left, in the tenant's schema or in its public rows
    assert response.status_code == 200, response.content
    with tenant_context(world.alpha):
        assert tenant_hits(world.alpha, ERASED_VALUES) == set()
        assert Customer.objects.get(pk=person).tags == ["vip"]  # generic labels stay for segments
        assert Order.objects.filter(customer__merged_into_id=person).exists() or \
            Order.objects.filter(customer_id=person).count() >= 5  # the orders themselves stay
    assert public_hits(world.alpha, ERASED_VALUES) == set()


def test_a_failing_erasure_handler_rolls_the_whole_erasure_back(world, alpha_api):
    from customers import registry

    body = post_json(alpha_api, "/api/v1/orders/ingest/", {"orders": [{
        "source": "api", "external_order_id": "rb-1", "order_date": "2024-05-01T10:00:00-03:00",
        "total_amount": "10", "customer": {"email": "rollback@example.com", "first_name": "Rolanda"}}]}).json()
    customer_id = body["results"][0]["customer_id"]

    def broken(*, erasure):
        raise RuntimeError("the other app could not erase")

    registry.register_erasure_handler("zz-broken", broken)
    try:
        with pytest.raises(RuntimeError), tenant_context(world.alpha):
            from customers.services.privacy import customer_pseudonymize

            customer_pseudonymize(customer_id=customer_id, actor=Actor.system("tests"))
    finally:
        registry.unregister_erasure_handler("zz-broken")
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=customer_id)
        assert not customer.is_pseudonymized and customer.email == "rollback@example.com"


def test_a_store_resending_an_erased_persons_order_does_not_bring_them_back(world, alpha_api, person, stores):
    from integrations.models import Integration, MercadoLibreOrder, VtexOrder
    from integrations.services import integration_sync

    assert post_json(alpha_api, f"/api/v1/customers/{person}/pseudonymize/").status_code == 200
    with tenant_context(world.alpha):
        customers_before = Customer.objects.count()
        # when both stores send the person's orders again (a new sync window overlapping them)
        Integration.objects.update(cursor={"since": (days_ago(10)).isoformat()})
        for integration in Integration.objects.all():
            integration_sync(integration_id=integration.pk)

        # then the raw payloads stay scrubbed, and nobody new appears with the person's data
        assert VtexOrder.objects.count() == 1 and MercadoLibreOrder.objects.count() == 1
        assert Customer.objects.count() == customers_before
        assert tenant_hits(world.alpha, [EMAIL, DOC, LAST, STREET]) == set()



def test_erasure_touches_nobody_else_sharing_a_first_name_or_a_street(world, alpha_api, alpha_client):
    """Only what identifies the person alone (email, document, phone, ids, full name) reaches rows
    about other people; a neighbour with the same first name keeps every value."""
    from django.contrib.admin.models import LogEntry

    from loyalty.services import loyalty_points_bonus
    from tenants.models import AuditLog

    def order(n, email, last, doc):
        return {"source": "api", "external_order_id": f"nb-{n}", "order_date": "2024-05-01T10:00:00-03:00",
                "total_amount": "10", "customer": {
                    "email": email, "first_name": FIRST, "last_name": last, "document_type": "dni",
                    "document_number": doc, "address": {"line1": STREET, "number": str(n), "country": "AR"}}}

    audit_before = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    body = post_json(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        order(1, EMAIL, LAST, DOC), order(2, "neighbour@example.com", "Otero", "27999888")]}).json()
    person, neighbour = (result["customer_id"] for result in body["results"])
    admin = alpha_client(world.user("alpha_owner"))
    for customer_id in (person, neighbour):
        admin.post(f"/admin/customers/customer/{customer_id}/change/",
                   admin_customer_form(admin, customer_id, notes="called"))
    with tenant_context(world.alpha):
        for customer_id, last in ((person, LAST), (neighbour, "Otero")):
            loyalty_points_bonus(customer_id=customer_id, points=5, reason=f"gift for {FIRST} {last}",
                                 actor=Actor.system("tests"))

    assert post_json(alpha_api, f"/api/v1/customers/{person}/pseudonymize/").status_code == 200

    with tenant_context(world.alpha):
        kept = Customer.objects.get(pk=neighbour)
        assert (kept.first_name, kept.last_name, kept.email) == (FIRST, "Otero", "neighbour@example.com")
        assert kept.addresses.get().line1 == STREET
        assert Order.objects.get(external_order_id="nb-2").raw["customer"]["first_name"] == FIRST
        assert LogEntry.objects.filter(object_id=str(neighbour), object_repr=f"{FIRST} Otero").exists()
        assert not LogEntry.objects.filter(object_repr__icontains=LAST).exists()
    # (only this test's entries: other tests may have committed bonuses of their own in this tenant)
    reasons = [entry.changes.get("reason") for entry in AuditLog.objects.filter(
        tenant=world.alpha, action="loyalty.bonus", id__gt=audit_before)]
    assert sorted(reasons, key=str) == sorted([None, f"gift for {FIRST} Otero"], key=str)

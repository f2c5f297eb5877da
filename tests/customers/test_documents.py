"""Identity documents (issue #21 items 8 and 9): checked by their check digits and formats on every
path they enter by, kept in compact form, sealed at rest with a keyed hash beside them for matching,
uniqueness and search, re-keyed with the credentials keys, erased with the person, masked for
viewers. Postal codes are checked per country."""

from __future__ import annotations

import csv
import importlib
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from customers.documents import document_check, document_hash, postal_code_error, seal
from customers.models import Customer, CustomerChangeLog, Order
from customers.services.privacy import customer_pseudonymize
from customers.services.profile import customer_update
from tenants.models import AuditLog, Tenant
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory, order_record

#: (type, invalid value, country) for every checked type.
INVALID = [
    ("cpf", "123.456.789-00", "BR"),
    ("cnpj", "11.222.333/0001-00", "BR"),
    ("cuit", "20-26756539-4", "AR"),
    ("cuil", "27-26756539-3", "AR"),
    ("rut", "12.345.678-0", "CL"),
    ("rfc", "GODE561331GR8", "MX"),
    ("curp", "BOXW310820HNERXN08", "MX"),
    ("cc", "12345", "CO"),
    ("nit", "800.197.268-5", "CO"),
    ("dni", "123", "AR"),
]
#: (type, value as written, country, compact form kept).
VALID = [
    ("cpf", "123.456.789-09", "BR", "12345678909"),
    ("cnpj", "11.222.333/0001-81", "BR", "11222333000181"),
    ("cuit", "20-26756539-3", "AR", "20267565393"),
    ("cuil", "20-26756539-3", "AR", "20267565393"),
    ("rut", "12.345.678-5", "CL", "123456785"),
    ("rfc", "GODE-561231-GR8", "MX", "GODE561231GR8"),
    ("curp", "boxw310820hnerxn09", "MX", "BOXW310820HNERXN09"),
    ("cc", "1.234.567", "CO", "1234567"),
    ("nit", "800.197.268-4", "CO", "8001972684"),
    ("dni", "30.111.222", "AR", "30111222"),
]
DOC = "12345678909"  # a valid CPF


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def record(n, doc_type, number, country, **customer):
    return order_record(n, customer={"document_type": doc_type, "document_number": number, "country": country,
                                     **customer})


def raw_rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- item 8: checked documents ------------------------------------------------------------------

@pytest.mark.parametrize(("doc_type", "value", "country", "compact"), VALID)
def test_valid_documents_are_kept_in_compact_form(doc_type, value, country, compact):
    assert document_check(doc_type, value, country) == (compact, None)


@pytest.mark.parametrize(("doc_type", "value", "country"), INVALID)
def test_invalid_documents_are_refused_with_a_reason(doc_type, value, country):
    number, error = document_check(doc_type, value, country)
    assert number == "" and error and doc_type.upper() in error


def test_the_country_chooses_the_document_rules():
    # a Uruguayan RUT is not a Chilean one; a Spanish DNI has a check letter
    assert document_check("rut", "21-100342-001-7", "UY") == ("211003420017", None)
    assert document_check("rut", "21-100342-001-7", "CL")[1] is not None
    assert document_check("dni", "54362315K", "ES") == ("54362315K", None)
    assert document_check("dni", "54362315K", "AR")[1] is not None


def test_every_invalid_type_is_refused_by_the_api_batch(world, alpha_api):
    body = {"orders": [record(n, doc_type, value, country) for n, (doc_type, value, country) in enumerate(INVALID)]}

    answer = post(alpha_api, "/api/v1/orders/ingest/", body).json()

    assert answer["rejected"] == len(INVALID) and answer["created"] == 0
    for result, (doc_type, _value, _country) in zip(answer["results"], INVALID, strict=True):
        assert result["status"] == "rejected"
        assert doc_type.upper() in result["errors"]["customer.document_number"][0]
    with tenant_context(world.alpha):
        assert not Customer.objects.exists() and not Order.objects.exists()


def test_every_invalid_type_is_refused_by_a_json_lines_import(world, tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(record(n, *row)) + "\n" for n, row in enumerate(INVALID)))

    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress")

    rejected = [json.loads(line) for line in (tmp_path / "orders.rejected.jsonl").read_text().splitlines()]
    assert len(rejected) == len(INVALID)
    assert all("customer.document_number" in line["errors"] for line in rejected)
    with tenant_context(world.alpha):
        assert not Customer.objects.exists()


CSV_HEADER = ["source", "external_order_id", "order_date", "total_amount", "customer_email",
              "customer_document_type", "customer_document_number", "customer_country",
              "customer_address_line1", "customer_address_postal_code"]


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_every_invalid_type_and_postal_code_is_refused_by_a_csv_import(world, tmp_path, mode):
    rows = [["shop", f"D{n}", "2024-05-01", "10", f"p{n}@example.com", doc_type, value, country, "", ""]
            for n, (doc_type, value, country) in enumerate(INVALID)]
    rows.append(["shop", "PC", "2024-05-01", "10", "pc@example.com", "", "", "BR", "Rua 1", "123"])
    rows.append(["shop", "OK", "2024-05-01", "10", "ok@example.com", "cpf", "123.456.789-09", "BR", "Rua 1",
                 "01310-100"])
    path = tmp_path / "orders.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)

    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)

    with open(tmp_path / "orders.rejected.csv", newline="", encoding="utf-8-sig") as handle:
        rejected = {row["row"]: row["errors"] for row in csv.DictReader(handle)}
    assert sorted(rejected, key=int) == [str(n) for n in range(1, len(INVALID) + 2)]
    for n, (doc_type, _value, _country) in enumerate(INVALID, start=1):
        assert "customer.document_number" in rejected[str(n)] and doc_type.upper() in rejected[str(n)]
    assert "customer.address.postal_code" in rejected[str(len(INVALID) + 1)]
    with tenant_context(world.alpha):
        kept = Customer.objects.get()
        assert (kept.email, kept.document_number) == ("ok@example.com", "12345678909")


def test_every_invalid_type_is_refused_by_the_customer_api_and_nothing_is_written(world, alpha_api):
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(1, "cpf", DOC, "BR")]}).json()[
        "results"][0]["customer_id"]

    for doc_type, value, country in INVALID:
        answer = patch(alpha_api, f"/api/v1/customers/{customer_id}/",
                       {"document_type": doc_type, "document_number": value, "country": country})
        assert answer.status_code == 400, (doc_type, answer.content)
        assert doc_type.upper() in answer.json()["error"]["fields"]["document_number"][0]
    # a new type the stored number does not fit is refused too
    answer = patch(alpha_api, f"/api/v1/customers/{customer_id}/", {"document_type": "cuit"})
    assert answer.status_code == 400 and "document_type" in answer.json()["error"]["fields"]

    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=customer_id)
        assert (customer.document_type, customer.document_number, customer.country) == ("cpf", DOC, "BR")
        assert not CustomerChangeLog.objects.filter(customer=customer, field__startswith="document").exclude(
            reason="filled empty value").exists()


def test_every_invalid_type_is_refused_on_the_admin_form(world, alpha_client):
    with tenant_context(world.alpha):
        customer = CustomerFactory(document_type="", document_number=None, country="")
    client = alpha_client(world.user("alpha_owner"))
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({"tags": "", "metadata": "{}", "customer_type": "b2c", "status": "active"})
    for prefix in ("identities", "addresses", "orders", "change_logs"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})

    for doc_type, value, country in INVALID:
        answer = client.post(f"/admin/customers/customer/{customer.pk}/change/",
                             {**data, "document_type": doc_type, "document_number": value, "country": country})
        assert answer.status_code == 200, doc_type
        errors = answer.context["adminform"].form.errors["document_number"]
        assert doc_type.upper() in errors[0]

    saved = client.post(f"/admin/customers/customer/{customer.pk}/change/",
                        {**data, "document_type": "cpf", "document_number": "123.456.789-09", "country": "BR"})
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=customer.pk).document_number == DOC


def test_postal_codes_are_checked_per_country_on_records_and_addresses(world, alpha_api):
    assert postal_code_error("C1070AAM", "AR") is None and postal_code_error("c1070aam", "AR") is None
    assert postal_code_error("01310100", "BR") is None and postal_code_error("832-0000", "CL") is None
    assert postal_code_error("1234", "BR") and postal_code_error("ABC", "MX")
    assert postal_code_error("whatever", "PA") is None  # no postal codes in Panama's data

    address = {"line1": "Rua 1", "postal_code": "1234", "country": "BR"}
    refused = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(1, customer={"address": address})]})
    assert "customer.address.postal_code" in refused.json()["results"][0]["errors"]

    created = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(2)]}).json()["results"][0]
    url = f"/api/v1/customers/{created['customer_id']}/addresses/"
    bad = post(alpha_api, url, {"line1": "Calle 1", "postal_code": "12", "country": "MX"})
    good = post(alpha_api, url, {"line1": "Calle 1", "postal_code": "06600", "country": "MX"})
    assert bad.status_code == 400 and "postal_code" in bad.json()["error"]["fields"]
    assert good.status_code == 201
    moved = patch(alpha_api, f"{url}{good.json()['id']}/", {"country": "BR"})
    assert moved.status_code == 400 and "postal_code" in moved.json()["error"]["fields"]


def test_stored_invalid_documents_still_read_and_are_flagged(world, alpha_api):
    # given a document stored before documents were checked (here: written straight to the model)
    with tenant_context(world.alpha):
        legacy = CustomerFactory(document_type="cpf", document_number="11111111112", country="BR")
        assert Customer.objects.get(pk=legacy.pk).document_valid is False
    # then reads keep working and an unrelated edit is accepted
    assert alpha_api.get(f"/api/v1/customers/{legacy.pk}/").json()["profile"]["document_number"] == "11111111112"
    assert patch(alpha_api, f"/api/v1/customers/{legacy.pk}/", {"first_name": "Ana"}).status_code == 200


# -- item 9: sealed at rest ---------------------------------------------------------------------

def test_a_database_dump_shows_no_document(world, alpha_api):
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(1, "cpf", "123.456.789-09", "BR")]}
                       ).json()["results"][0]["customer_id"]
    patch(alpha_api, f"/api/v1/customers/{customer_id}/", {"document_type": "cnpj",
                                                             "document_number": "11.222.333/0001-81"})

    with tenant_context(world.alpha):
        table = Customer._meta.db_table
        for row in raw_rows(f"SELECT * FROM {table}"):
            text = " ".join(str(value) for value in row)
            assert "12345678909" not in text and "11222333000181" not in text
        sealed, digest = raw_rows(f"SELECT document_number, document_hash FROM {table}")[0]
        assert sealed.startswith("enc:") and len(digest) == 64
        logs = " ".join(str(row) for row in raw_rows(f"SELECT * FROM {CustomerChangeLog._meta.db_table}"))
        orders = " ".join(str(row) for row in raw_rows(f"SELECT raw::text FROM {Order._meta.db_table}"))
        assert "12345678909" not in logs and "11222333000181" not in logs and "12345678909" not in orders
    audits = " ".join(str(row) for row in raw_rows(f"SELECT changes::text FROM {AuditLog._meta.db_table}"))
    assert "11222333000181" not in audits and "***-**-0181" in audits
    with tenant_context(world.alpha):
        # while the application reads them, and the change log shows them to those who may see them
        assert Customer.objects.get(pk=customer_id).document_number == "11222333000181"
        changes = CustomerChangeLog.objects.filter(customer_id=customer_id, field="document_number")
        assert ("12345678909", "11222333000181") in [(c.old_value, c.new_value) for c in changes]


def test_two_orders_with_one_document_written_differently_are_one_customer(world, ingest, tmp_path):
    # records
    ingest([record(1, "cpf", "123.456.789-09", "BR", email="", external_id="")])
    ingest([record(2, "cpf", "12345678909", "BR", email="", external_id="")])
    ingest([record(3, "CPF", " 123 456 789 09 ", "BR", email="", external_id="")])
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1 and Customer.objects.get().total_orders == 3
    # and a file naming the same person with other punctuation
    path = tmp_path / "orders.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "external_order_id", "order_date", "total_amount", "customer_document_type",
                         "customer_document_number", "customer_country"])
        writer.writerow(["shop", "F1", "2024-06-01", "5", "cpf", "123 456 789 - 09", "BR"])
        writer.writerow(["shop", "F2", "2024-06-02", "5", "Cpf", "12345678909", "BR"])
    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", "bulk")
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1 and Customer.objects.get().total_orders == 5


def test_a_document_is_unique_by_its_hash(world, alpha_api):
    ids = [r["customer_id"] for r in post(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        record(1, "cpf", DOC, "BR"), order_record(2)]}).json()["results"]]

    taken = patch(alpha_api, f"/api/v1/customers/{ids[1]}/", {"document_type": "cpf",
                                                              "document_number": "123.456.789-09"})

    assert taken.status_code == 409 and taken.json()["error"]["code"] == "document_taken"


def test_search_and_the_document_filter_find_a_document_by_its_hash(world, alpha_api):
    post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(1, "cpf", DOC, "BR")]})
    for query in ("q=123.456.789-09", "q=12345678909", "document=123.456.789-09", "document=12345678909"):
        assert alpha_api.get(f"/api/v1/customers/?{query}").json()["count"] == 1, query
    # a document is matched whole: a part of it finds nothing (it is not a search word any more)
    assert alpha_api.get("/api/v1/customers/?q=1234567").json()["count"] == 0
    with tenant_context(world.alpha):
        assert Customer.objects.filter(document_number=DOC).count() == 1  # the ORM's exact match


def test_key_rotation_keeps_reading_and_matching_then_re_encrypts(world, settings, ingest, actor):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CDP_CREDENTIALS_KEYS = old
    ingest([record(1, "cpf", DOC, "BR", email="", external_id="")])
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        customer_update(customer_id=customer.pk, data={"document_type": "cnpj",
                                                       "document_number": "11222333000181"},
                        actor=actor)
        (token, digest), = raw_rows(f"SELECT document_number, document_hash FROM {Customer._meta.db_table}")

    # a new key first, the old one kept: reads and matches still work before the rotation
    settings.CDP_CREDENTIALS_KEYS = f"{new},{old}"
    ingest([record(2, "cnpj", "11.222.333/0001-81", "BR", email="", external_id="")])
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1 and Customer.objects.get().document_number == "11222333000181"

    call_command("rotate_credentials", "--tenant", "alpha")

    settings.CDP_CREDENTIALS_KEYS = new
    with tenant_context(world.alpha):
        (rotated, rehashed), = raw_rows(f"SELECT document_number, document_hash FROM {Customer._meta.db_table}")
        assert rotated != token and rehashed != digest and rehashed == document_hash("11222333000181")
        customer = Customer.objects.get()
        assert customer.document_number == "11222333000181"
        # change-log values re-encrypted too: readable with the new key alone
        changes = CustomerChangeLog.objects.filter(field="document_number")
        assert (DOC, "11222333000181") in [(c.old_value, c.new_value) for c in changes]
    ingest([record(3, "cnpj", "11222333000181", "BR", email="", external_id="")])
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1 and Customer.objects.get().total_orders == 3


def test_erasure_clears_the_ciphertext_and_the_hash(world, alpha_api, actor):
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(1, "cpf", DOC, "BR")]}).json()[
        "results"][0]["customer_id"]

    with tenant_context(world.alpha):
        customer_pseudonymize(customer_id=customer_id, actor=actor)
        (sealed, digest, valid), = raw_rows(f"SELECT document_number, document_hash, document_valid FROM "
                                            f"{Customer._meta.db_table} WHERE id = %s", [customer_id])
        assert (sealed, digest, valid) == (None, None, None)
        assert not CustomerChangeLog.objects.filter(customer_id=customer_id, field="document_number",
                                                    new_value__isnull=False).exists()
    # the same document sent again is a new person, not the erased one
    again = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(2, "cpf", DOC, "BR")]}).json()
    assert again["results"][0]["customer_id"] != customer_id


def test_a_viewer_sees_the_document_masked(world, alpha_api, api_key):
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record(1, "cpf", DOC, "BR")]}).json()[
        "results"][0]["customer_id"]
    masked_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "sensitive"]))

    shown = masked_key.get(f"/api/v1/customers/{customer_id}/").json()["profile"]["document_number"]
    listed = masked_key.get("/api/v1/customers/?document=123.456.789-09").json()["results"]

    # masked once (it is both a masked and a sensitive field): the last four digits, never the number
    assert shown == "***-**-8909" and [row["document_number"] for row in listed] == ["***-**-8909"]
    hidden_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert hidden_key.get(f"/api/v1/customers/{customer_id}/").json()["profile"]["document_number"] is None


def test_the_migration_seals_existing_documents_and_flags_invalid_ones(world):
    migration = importlib.import_module("customers.migrations.0017_documents_sealed")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    with tenant_context(world.alpha):
        table = Customer._meta.db_table
        good = CustomerFactory(document_type="dni", document_number="30111222", country="AR")
        bad = CustomerFactory(document_type="cpf", document_number="123", country="BR")
        # as they were before the migration: plain numbers in the column
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET document_number = CASE id WHEN %s THEN '30111222' ELSE '123' END, "
                           "document_hash = 'legacy', document_valid = NULL WHERE id IN (%s, %s)",
                           [good.pk, good.pk, bad.pk])
        from django.apps import apps

        migration.seal(apps, editor)

        rows = dict((pk, (number, digest, valid)) for pk, number, digest, valid in raw_rows(
            f"SELECT id, document_number, document_hash, document_valid FROM {table}"))
        assert rows[good.pk][0].startswith("enc:") and rows[good.pk][1:] == (document_hash("30111222"), True)
        assert rows[bad.pk][0].startswith("enc:") and rows[bad.pk][1:] == (document_hash("123"), False)
        assert Customer.objects.get(pk=bad.pk).document_number == "123"  # kept, never emptied

        migration.unseal(apps, editor)
        assert dict(raw_rows(f"SELECT id, document_number FROM {table}")) == {good.pk: "30111222", bad.pk: "123"}


def test_sealing_is_not_repeated_and_tokens_differ(world):
    assert seal(seal("123")).count("enc:") == 1 and seal("123") != seal("123")


# -- the portal's edit form ---------------------------------------------------------------------

def test_portal_edit_refuses_an_invalid_document_on_its_field_and_saves_a_valid_one(world, alpha_client):
    with tenant_context(world.alpha):
        customer = CustomerFactory(document_type="", document_number=None, country="BR")
    client = alpha_client(world.user("alpha_admin"))
    url = f"/customers/{customer.pk}/edit/"
    assert client.get(url).status_code == 200

    for doc_type, value, country in INVALID:
        refused = client.post(url, {"first_name": customer.first_name, "last_name": customer.last_name,
                                    "customer_type": customer.customer_type,
                                    "document_type": doc_type, "document_number": value, "country": country})
        assert refused.status_code == 400, doc_type
        assert doc_type.upper() in refused.context["form"].errors["document_number"][0]
    saved = client.post(url, {"first_name": customer.first_name, "last_name": customer.last_name,
                              "customer_type": customer.customer_type,
                              "document_type": "CPF", "document_number": "123.456.789-09", "country": "BR"})

    assert saved.status_code == 302
    with tenant_context(world.alpha):
        stored = Customer.objects.get(pk=customer.pk)
        assert (stored.document_type, stored.document_number) == ("cpf", DOC)
        assert CustomerChangeLog.objects.filter(customer=stored, field="document_number",
                                                reason="portal edit").exists()


def test_portal_edit_is_for_writers_and_never_shows_a_masked_reader_the_document(world, alpha_client, actor):
    from tenants.services.privacy import privacy_grants_set

    with tenant_context(world.alpha):
        customer = CustomerFactory(document_type="cpf", document_number=DOC, country="BR")
    url = f"/customers/{customer.pk}/edit/"
    assert alpha_client(world.user("alpha_viewer")).get(url).status_code == 403
    assert alpha_client(world.user("alpha_analyst")).get(url).status_code == 403

    # an admin the owner took `unmask` from may still edit names, but sees no identity field
    # a fresh instance: the service sets the grants on the tenant it is given (world.alpha is shared)
    privacy_grants_set(tenant=Tenant.objects.get(pk=world.alpha.pk),
                       grants={"admin": ["sensitive"], "analyst": [], "viewer": []}, actor=actor)
    client = alpha_client(world.user("alpha_admin"))
    page = client.get(url)
    assert page.status_code == 200 and DOC not in page.content.decode()
    assert "document_number" not in page.context["form"].fields
    assert client.post(url, {"first_name": "Nuevo", "last_name": "", "country": "BR",
                             "customer_type": customer.customer_type}).status_code == 302
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=customer.pk).document_number == DOC


def test_a_stores_invalid_document_is_left_out_and_overwrites_nothing(world, actor):
    # a connector's record (lenient: the tenant cannot fix the store's data, the sale is kept)
    from customers.services import order_ingest

    with tenant_context(world.alpha):
        order_ingest(records=[record(1, "cpf", DOC, "BR")], actor=actor, tenant=world.alpha)
        result = order_ingest(records=[record(2, "cpf", "123.456.789-00", "BR", external_id="c-1")], actor=actor,
                              tenant=world.alpha, lenient_profile=True)
        assert result.as_dict()["created"] == 1
        assert Customer.objects.get().document_number == DOC

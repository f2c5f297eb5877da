"""The one ingest path: unification, conflicts, idempotency, aggregates and rejections."""

from __future__ import annotations

import decimal

import pytest
from django_tenants.utils import tenant_context

from cdp import registry as cdp_registry
from cdp.exceptions import QuotaExceeded
from customers import registry
from customers.models import Customer, CustomerChangeLog, CustomerIdentity, Order, SourcePriority
from tests.customers.factories import order_record


def test_new_order_creates_customer_identity_order_items_and_aggregates(world, ingest):
    result = ingest([order_record(1)])

    assert result.as_dict()["created"] == 1
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.email == "buyer1@example.com"
        assert customer.total_orders == 1
        assert customer.total_spent == decimal.Decimal("1500.50")
        assert customer.avg_order_value == decimal.Decimal("1500.50")
        assert customer.first_purchase_at == customer.last_purchase_at
        assert list(customer.identities.values_list("source", "external_id")) == [("vtex", "c-1")]
        order = Order.objects.get()
        assert order.items.count() == 1 and order.items.get().total_price == decimal.Decimal("1500.50")
        assert order.raw["external_order_id"] == "o-1"


def test_email_case_and_spaces_match_the_same_customer(world, ingest):
    ingest([order_record(1, customer={"email": "Ana.Perez@Mail.com", "external_id": ""})])
    ingest([order_record(2, customer={"email": "  ana.perez@MAIL.COM ", "external_id": ""})])

    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1
        assert Customer.objects.get().email == "ana.perez@mail.com"
        assert Customer.objects.get().total_orders == 2


def test_no_email_but_known_external_id_matches(world, ingest):
    ingest([order_record(1, customer={"email": "x@example.com", "external_id": "C9"})])
    result = ingest([order_record(2, customer={"email": "", "external_id": "C9"})])

    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1
        assert result.results[0].customer_id == Customer.objects.get().pk


def test_two_sources_one_person_by_email_records_both_identities(world, ingest):
    ingest([order_record(1, customer={"email": "one@example.com", "external_id": "V1"})])
    ingest([order_record(2, source="mercadolibre", customer={"email": "ONE@example.com", "external_id": "ML1"})])

    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert set(customer.identities.values_list("source", "external_id")) == {("vtex", "V1"),
                                                                                 ("mercadolibre", "ML1")}
        assert customer.total_orders == 2


def test_document_matches_when_no_email_nor_identity(world, ingest):
    ingest([order_record(1, customer={"email": "", "external_id": "", "document_type": "DNI",
                                      "document_number": "20.123.456"})])
    ingest([order_record(2, source="pos", customer={"email": "", "external_id": "P7", "document_type": "dni",
                                                     "document_number": "20123456"})])

    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert (customer.document_type, customer.document_number) == ("dni", "20123456")
        assert customer.identities.filter(source="pos", external_id="P7").exists()


def test_empty_never_overwrites(world, ingest):
    ingest([order_record(1, customer={"first_name": "Lucía", "phone": "11 4444 5555"})])
    ingest([order_record(2, person=1, customer={"first_name": "", "last_name": None, "phone": ""})])

    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert (customer.first_name, customer.last_name, customer.phone) == ("Lucía", "Gómez", "+541144445555")
        assert not CustomerChangeLog.objects.exclude(field__startswith="order.").exists()


def test_empty_field_is_filled_and_logged(world, ingest):
    ingest([order_record(1, customer={"city": ""})])
    ingest([order_record(2, person=1, source="mercadolibre", customer={"city": "Rosario", "external_id": "m"})])

    with tenant_context(world.alpha):
        log = CustomerChangeLog.objects.get(field="city")
        assert (log.old_value, log.new_value, log.source, log.reason) == ("", "Rosario", "mercadolibre",
                                                                          "filled empty value")


def test_lower_priority_source_does_not_overwrite_and_higher_does_with_log(world, ingest):
    with tenant_context(world.alpha):
        SourcePriority.objects.create(source="erp", priority=50)
        SourcePriority.objects.create(source="mercadolibre", priority=5)
    ingest([order_record(1, customer={"first_name": "Lucía"})])
    ingest([order_record(2, person=1, source="mercadolibre", customer={"first_name": "Lu", "external_id": "m1"})])
    with tenant_context(world.alpha):
        assert Customer.objects.get().first_name == "Lucía"

    ingest([order_record(3, person=1, source="erp", customer={"first_name": "Lucía María", "external_id": "e1"})])

    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.first_name == "Lucía María"
        assert customer.field_sources["first_name"] == "erp"
        log = CustomerChangeLog.objects.get(field="first_name")
        assert (log.old_value, log.new_value, log.source) == ("Lucía", "Lucía María", "erp")
        assert "erp outranks vtex" in log.reason


def test_same_source_may_update_its_own_value_but_not_a_manual_edit(world, ingest, actor):
    from customers.services import customer_update

    ingest([order_record(1, customer={"last_name": "Gómez"})])
    ingest([order_record(2, person=1, customer={"last_name": "Gómez Ruiz"})])
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.last_name == "Gómez Ruiz"
        customer_update(customer_id=customer.pk, data={"last_name": "Ruiz"}, actor=actor)

    ingest([order_record(3, person=1, customer={"last_name": "Gómez"})])

    with tenant_context(world.alpha):
        assert Customer.objects.get().last_name == "Ruiz"


def test_email_of_another_customer_is_not_taken(world, ingest):
    ingest([order_record(1, customer={"email": "a@example.com", "external_id": "A"}),
            order_record(2, customer={"email": "b@example.com", "external_id": "B"})])
    ingest([order_record(3, customer={"email": "b@example.com", "external_id": "A"})])

    with tenant_context(world.alpha):
        assert set(Customer.objects.values_list("email", flat=True)) == {"a@example.com", "b@example.com"}


def test_same_record_again_is_unchanged(world, ingest):
    first = ingest([order_record(1), order_record(2)])
    second = ingest([order_record(1), order_record(2)])

    assert first.as_dict()["created"] == 2
    assert second.as_dict() | {"results": None} == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0,
                                                    "results": None}
    with tenant_context(world.alpha):
        assert Order.objects.count() == 2


def test_changed_status_and_amount_is_updated_logged_and_aggregates_exact(world, ingest):
    ingest([order_record(1, total_amount="100"), order_record(2, person=1, total_amount="300")])
    result = ingest([order_record(1, total_amount="100", status="cancelled"),
                     order_record(2, person=1, total_amount="250")])

    assert [r.status for r in result.results] == ["updated", "updated"]
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.total_orders == 1
        assert customer.total_spent == decimal.Decimal("250.00")
        assert customer.avg_order_value == decimal.Decimal("250.00")
        fields = set(CustomerChangeLog.objects.values_list("field", flat=True))
        assert {"order.status", "order.total_amount"} <= fields


def test_refunded_and_cancelled_do_not_count(world, ingest):
    ingest([order_record(1, total_amount="10", status="refunded"),
            order_record(2, person=1, total_amount="20", status="cancelled")])
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert (customer.total_orders, customer.total_spent, customer.last_purchase_at) == (0, 0, None)


def test_changed_items_are_replaced(world, ingest):
    ingest([order_record(1)])
    result = ingest([order_record(1, items=[{"sku": "MATE", "quantity": 1, "unit_price": "1500.50"}])])

    assert result.results[0].status == "updated"
    with tenant_context(world.alpha):
        assert list(Order.objects.get().items.values_list("sku", flat=True)) == ["MATE"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_order_id": ""}, "external_order_id"),
        ({"external_order_id": ...}, "external_order_id"),
        ({"order_date": ""}, "order_date"),
        ({"order_date": "yesterday"}, "order_date"),
        ({"order_date": "2999-01-01"}, "order_date"),
        ({"status": "lost"}, "status"),
        ({"currency": "pesos"}, "currency"),
        ({"total_amount": ...}, "total_amount"),
        ({"total_amount": "abc"}, "total_amount"),
        ({"total_amount": "-1"}, "total_amount"),
        ({"total_amount": True}, "total_amount"),
        ({"subtotal": "x"}, "subtotal"),
        ({"discount_amount": "-5"}, "discount_amount"),
        ({"source": "Not A Source!"}, "source"),
        ({"customer": {"email": "", "external_id": ""}}, "customer"),
        ({"customer": {"email": "not-an-email"}}, "customer.email"),
        ({"customer": {"country": "Atlantis"}}, "customer.country"),
        ({"customer": {"document_number": "123"}}, "customer.document_type"),
        ({"customer": {"document_type": "dni", "document_number": "abc"}}, "customer.document_number"),
        ({"customer": {"birth_date": "31/12/1990"}}, "customer.birth_date"),
        ({"customer": {"birth_date": "1800-01-01"}}, "customer.birth_date"),
        ({"customer": {"first_name": "x" * 151}}, "customer.first_name"),
        ({"customer": {"address": {"city": "Rosario"}}}, "customer.address.line1"),
        ({"customer": {"address": {"line1": "Calle 1", "type": "home"}}}, "customer.address.type"),
        ({"items": "lots"}, "items"),
        ({"items": [{"quantity": 1, "unit_price": 1}]}, "items[0].sku"),
        ({"items": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, "items[0].quantity"),
        ({"items": [{"sku": "A", "quantity": 1, "unit_price": "-1"}]}, "items[0].unit_price"),
        ({"payment_method": "p" * 101}, "payment_method"),
    ],
)
def test_every_rejection_reason_is_field_level_and_good_records_are_kept(world, ingest, overrides, field):
    result = ingest([order_record(1), order_record(2, **overrides)])

    assert [r.status for r in result.results] == ["created", "rejected"]
    assert field in result.results[1].errors, result.results[1].errors
    with tenant_context(world.alpha):
        assert Order.objects.count() == 1
        assert Customer.objects.count() == 1


def test_non_object_record_and_duplicate_in_batch_are_rejected(world, ingest):
    result = ingest(["nope", order_record(1), order_record(1)])

    assert [r.status for r in result.results] == ["rejected", "created", "rejected"]
    assert "external_order_id" in result.results[2].errors


def test_quota_refuses_the_whole_batch(world, ingest):
    def guard(resource, *, tenant, adding):
        if resource == "customers" and adding > 1:
            raise QuotaExceeded("Plan limit reached.")

    with cdp_registry.quota_guards_disabled():  # the guards as they were come back after the block
        cdp_registry.register_quota_guard(guard)
        with pytest.raises(QuotaExceeded):
            ingest([order_record(1), order_record(2)])
        # Two orders of one person are one new customer: allowed.
        ingest([order_record(3), order_record(4, customer={"email": "buyer3@example.com", "external_id": "c-3"})])
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1
        assert Order.objects.count() == 2


def test_events_are_published_after_commit(world, ingest, django_capture_on_commit_callbacks):
    seen = []
    handler = lambda **kwargs: seen.append(kwargs)  # noqa: E731
    registry.subscribe("order.ingested", handler)
    registry.subscribe("customer.created", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest([order_record(1)])
    finally:
        registry.unsubscribe("order.ingested", handler)
        registry.unsubscribe("customer.created", handler)
    assert {"source", "customer_id"} <= set(seen[0])
    assert seen[1]["outcome"] == "created"


def test_tenants_are_isolated(world, ingest):
    ingest([order_record(1)], tenant=world.alpha)
    ingest([order_record(1)], tenant=world.beta)

    with tenant_context(world.beta):
        assert Customer.objects.count() == 1
        assert CustomerIdentity.objects.count() == 1


def test_a_known_customers_changed_profile_is_published_as_customer_updated(world, ingest,
                                                                            django_capture_on_commit_callbacks):
    # given a customer known from one order
    first = ingest([order_record(1)]).results[0]
    seen = []
    handler = lambda **kwargs: seen.append(kwargs)  # noqa: E731
    registry.subscribe("customer.updated", handler)
    try:
        # when the same source sends another order with a new last name and a phone
        with django_capture_on_commit_callbacks(execute=True):
            ingest([order_record(2, person=1, customer={"last_name": "Paz", "phone": "11 4444 5555"})])
    finally:
        registry.unsubscribe("customer.updated", handler)

    # then one event names the customer and the fields that changed (as the record path always did)
    assert seen == [{"customer_id": first.customer_id, "fields": ["last_name", "phone"]}]


def test_a_batch_keeps_its_scratch_tables_to_itself(world, ingest):
    """Batches stage their rows in TEMP tables (one set per session, gone with the transaction), so
    concurrent batches of a tenant never meet there and nothing is left in the tenant's schema."""
    from django.db import connection

    ingest([order_record(n) for n in range(3)])

    with tenant_context(world.alpha), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'cdp_bulk%%'")
        assert cursor.fetchone()[0] == 0


def test_an_orders_address_lands_in_the_address_book_with_its_phone(world, ingest):
    from customers.models import Address

    ingest([order_record(1, customer={"address": {"line1": "Av. Siempre Viva", "number": "742", "city": "Córdoba",
                                                   "postal_code": "5000", "phone": "11 4444 5555"}})])

    with tenant_context(world.alpha):
        address = Address.objects.get(customer__email="buyer1@example.com")
        assert (address.line1, address.number, address.is_default) == ("Av. Siempre Viva", "742", True)
        assert address.phone.startswith("+54") and address.phone.endswith("44445555")

"""Concurrent batches against the real PostgreSQL: each thread has its own connection and commits,
so the unique constraints and retries are exercised for real. The test cleans up what it commits."""

from __future__ import annotations

import threading

from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer, CustomerChangeLog, CustomerIdentity, Order, OrderItem
from tests.customers.factories import order_record
from tests.threads import thread_started

THREADS = 4


def _cleanup(tenant, emails, sources):
    def purge():
        with tenant_context(tenant):
            customers = Customer.objects.filter(identities__source__in=sources) | Customer.objects.filter(
                email__in=emails)
            ids = list(customers.values_list("id", flat=True).distinct())
            OrderItem.objects.filter(order__customer_id__in=ids).delete()
            Order.objects.filter(customer_id__in=ids).delete()
            CustomerChangeLog.objects.filter(customer_id__in=ids).delete()
            CustomerIdentity.objects.filter(customer_id__in=ids).delete()
            Customer.objects.filter(id__in=ids).delete()

    thread, errors, _ = thread_started(purge)
    thread.join()
    assert not errors, errors


def test_concurrent_batches_naming_the_same_new_person_create_one_customer(world):
    from customers.services import order_ingest

    barrier = threading.Barrier(THREADS)
    tenant = world.alpha

    def batch(n):
        def run():
            records = [
                # the same person by email, each batch through its own source identity
                order_record(f"conc-{n}", source=f"conc{n}",
                             customer={"email": " Same.Person@Example.com", "external_id": f"sp-{n}"},
                             total_amount="10"),
                # another person known only by the same (source, external id) in every batch
                order_record(f"conc-x-{n}", source="concshared", customer={"email": "", "external_id": "X-1"},
                             total_amount="5"),
            ]
            with tenant_context(tenant):
                barrier.wait(timeout=30)
                return order_ingest(records=records, actor=Actor.system("tests"), tenant=tenant)

        return run

    sources = [f"conc{n}" for n in range(THREADS)] + ["concshared"]
    try:
        threads = [thread_started(batch(n)) for n in range(THREADS)]
        for thread, _, _ in threads:
            thread.join(timeout=60)
        errors = [e for _, errs, _ in threads for e in errs]
        assert not errors, errors

        def check():
            with tenant_context(tenant):
                same = Customer.objects.filter(email="same.person@example.com")
                assert same.count() == 1
                person = same.get()
                assert person.identities.count() == THREADS
                assert (person.total_orders, int(person.total_spent)) == (THREADS, 10 * THREADS)
                shared = CustomerIdentity.objects.filter(source="concshared")
                assert shared.count() == 1
                other = shared.get().customer
                assert (other.total_orders, int(other.total_spent)) == (THREADS, 5 * THREADS)
                # and the batches that lost the race left no customer of their own behind
                assert list(Customer.objects.filter(source="concshared")) == [other]
                return True

        thread, errors, out = thread_started(check)
        thread.join()
        assert not errors, errors
        assert out == [True]
    finally:
        _cleanup(tenant, ["same.person@example.com"], sources)

"""For tests with real concurrency: each thread has its own database connection and commits, so
locks and constraints are exercised for real. What such a test commits is removed afterwards with
``purge_billing`` (the rest of the suite runs in rolled-back transactions and must not see it)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection
from django.utils import timezone


def in_thread(fn: Callable):
    """Run ``fn`` on a thread (its own connection, autocommit) and return its result."""
    out, errors = [], []

    def run():
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "thread did not finish"
    if errors:
        raise errors[0]
    return out[0] if out else None


def concurrently(fns: list[Callable[[threading.Barrier], object]]) -> list:
    """Run every ``fn(barrier)`` on its own thread at once (each calls ``barrier.wait()`` right
    before the racing step); returns each result, or the exception it raised."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def runner(index, fn):
        def run():
            try:
                results[index] = fn(barrier)
            except BaseException as exc:  # returned to the test, which asserts on it
                results[index] = exc
            finally:
                connection.close()
        return run

    threads = [threading.Thread(target=runner(i, fn)) for i, fn in enumerate(fns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    return results


def snapshot() -> dict:
    """Where the shared counters stand before a committing test (``purge_billing`` restores them)."""
    from billing.models import DocumentCounter

    def read():
        return {"since": timezone.now(), "counters": dict(DocumentCounter.objects.values_list("series", "last_number"))}

    return in_thread(read)


def purge_billing(*, tenants, skus, before: dict, api_key_ids=()) -> None:
    """Delete what the test committed for ``tenants`` and products ``skus`` since ``before``."""
    from django.apps import apps

    from billing.models import DocumentCounter, GatewayEvent, Invoice, Order, PaymentMethod, Product, Subscription
    from licensing.models import License
    from tenants.models import ApiKey, AuditLog

    tenant_ids = [t.pk for t in tenants]
    since = before["since"]

    def purge():
        orders = list(Order.objects.filter(tenant_id__in=tenant_ids, created_at__gte=since).values_list("id", flat=True))
        subs = Subscription.objects.filter(tenant_id__in=tenant_ids, created_at__gte=since)
        license_ids = set(subs.exclude(license_id=None).values_list("license_id", flat=True))
        license_ids |= set(Order.objects.filter(pk__in=orders).exclude(items__license_id=None)
                           .values_list("items__license_id", flat=True))
        if "idempotencyrecord" in apps.all_models["billing"]:
            apps.get_model("billing", "IdempotencyRecord").objects.filter(
                tenant_id__in=tenant_ids, created_at__gte=since).delete()
        GatewayEvent.objects.filter(received_at__gte=since).delete()
        Invoice.objects.filter(order_id__in=orders, kind=Invoice.Kind.CREDIT_NOTE).delete()
        Invoice.objects.filter(order_id__in=orders).delete()
        Order.objects.filter(pk__in=orders).delete()
        subs.delete()
        License.objects.filter(pk__in=license_ids).delete()
        PaymentMethod.objects.filter(tenant_id__in=tenant_ids, created_at__gte=since).delete()
        if "sandboxcharge" in apps.all_models["billing"]:
            apps.get_model("billing", "SandboxCharge").objects.filter(created_at__gte=since).delete()
        Product.objects.filter(sku__in=skus).delete()
        ApiKey.objects.filter(pk__in=api_key_ids).delete()
        AuditLog.objects.filter(created_at__gte=since).delete()
        for series, last in before["counters"].items():
            DocumentCounter.objects.filter(series=series).update(last_number=last)
        DocumentCounter.objects.exclude(series__in=before["counters"]).delete()

    in_thread(purge)

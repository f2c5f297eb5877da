"""For tests with real concurrency: each thread has its own database connection and commits, so
locks and constraints are exercised for real. What such a test commits is removed afterwards with
``purge_billing`` (the rest of the suite runs in rolled-back transactions and must not see it)."""

from __future__ import annotations

from django.utils import timezone

from tests.threads import in_thread


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

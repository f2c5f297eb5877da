"""Concurrent checkouts against the real PostgreSQL: each thread commits on its own connection,
and the invoice numbers come out gapless and unique. Everything committed is removed after."""

from __future__ import annotations

import threading
from decimal import Decimal as D


from billing.models import DocumentCounter, Invoice, Order, OrderItem, PaymentAttempt, Product, SandboxCharge
from cdp.context import Actor
from tenants.models import AuditLog
from tests.threads import thread_started

THREADS = 6


def _run(fn):
    thread, errors, out = thread_started(fn)
    thread.join(timeout=60)
    assert not errors, errors
    return out[0] if out else None


def test_concurrent_checkouts_get_gapless_invoice_numbers(world):
    from billing.services import order_checkout

    tenants = [world.alpha, world.beta]
    start = _run(lambda: (Product.objects.create(sku="T-CONC", name="Concurrent", price=D("10.00")),
                          DocumentCounter.objects.get_or_create(series="INV")[0].last_number)[1])
    barrier = threading.Barrier(THREADS)

    def buy(n):
        def run():
            barrier.wait(timeout=30)
            # every other buyer is declined: a declined checkout must not consume a number
            token = "tok_visa" if n % 2 == 0 else "tok_chargeDeclined"
            try:
                return order_checkout(tenant=tenants[n % 2], items=[{"sku": "T-CONC", "quantity": n + 1}],
                                      gateway_code="sandbox", token=token, actor=Actor.system("tests")).invoice.number
            except Exception as exc:
                if getattr(exc, "code", "") == "payment_declined":
                    return None
                raise
        return run

    try:
        threads = [thread_started(buy(n)) for n in range(THREADS)]
        for thread, _, _ in threads:
            thread.join(timeout=60)
        errors = [e for _, errs, _ in threads for e in errs]
        assert not errors, errors
        numbers = sorted(n for _, _, out in threads for n in out if n)
        expected = [f"INV-{start + i:06d}" for i in range(1, THREADS // 2 + 1)]
        assert numbers == expected

        def check():
            invoices = Invoice.objects.filter(order__items__sku="T-CONC").distinct()
            sequences = sorted(invoices.values_list("sequence", flat=True))
            assert sequences == list(range(start + 1, start + 1 + THREADS // 2))
            assert DocumentCounter.objects.get(series="INV").last_number == start + THREADS // 2
            orders = Order.objects.filter(items__sku="T-CONC").distinct()
            assert orders.count() == THREADS
            assert len(set(orders.values_list("order_number", flat=True))) == THREADS
            assert orders.filter(status="payment_failed").count() == THREADS // 2
            return True

        assert _run(check) is True
    finally:
        def cleanup():
            orders = list(Order.objects.filter(items__sku="T-CONC").values_list("id", flat=True).distinct())
            AuditLog.objects.filter(resource_type="billing_order", resource_id__in=[str(i) for i in orders]).delete()
            Invoice.objects.filter(order_id__in=orders).delete()
            keys = list(PaymentAttempt.objects.filter(order_id__in=orders).values_list("idempotency_key", flat=True))
            SandboxCharge.objects.filter(idempotency_key__in=keys).delete()
            PaymentAttempt.objects.filter(order_id__in=orders).delete()
            OrderItem.objects.filter(order_id__in=orders).delete()
            Order.objects.filter(id__in=orders).delete()
            Product.objects.filter(sku="T-CONC").delete()
            DocumentCounter.objects.filter(series="INV").update(last_number=start)

        _run(cleanup)


def test_a_double_submitted_upgrade_charges_once(world):
    from billing.models import Subscription
    from billing.services import order_checkout, subscription_change_plan
    from cdp.exceptions import Conflict
    from tests.billing.committed import purge_billing, snapshot
    from tests.threads import concurrently, in_thread

    actor = Actor.system("tests")
    before = snapshot()
    skus = ["T-DBL-START", "T-DBL-PRO"]

    def setup():
        Product.objects.create(sku="T-DBL-START", name="Starter", price=D("49.00"), interval="month",
                               plan_code="starter")
        pro = Product.objects.create(sku="T-DBL-PRO", name="Pro", price=D("199.00"), interval="month",
                                     plan_code="professional")
        order_checkout(tenant=world.beta, items=[{"sku": "T-DBL-START"}], gateway_code="sandbox", token="tok_visa",
                       actor=actor, save_payment_method=True)
        return Subscription.objects.get(tenant=world.beta), pro

    try:
        sub, pro = in_thread(setup)

        def change(barrier):
            barrier.wait(timeout=30)
            return subscription_change_plan(subscription=sub, product=pro, actor=actor)

        results = concurrently([change, change])
        done = [r for r in results if isinstance(r, tuple)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(done) == 1 and len(refused) == 1, results
        assert refused[0].code in ("plan_change_in_progress", "plan_unchanged")

        def check():
            orders = Order.objects.filter(subscription=sub, kind="proration")
            assert orders.count() == 1 and orders.get().status == "paid"
            assert PaymentAttempt.objects.filter(order__in=orders, status="succeeded").count() == 1
            assert SandboxCharge.objects.filter(
                transaction_id__in=PaymentAttempt.objects.filter(order__in=orders).values("transaction_id")).count() == 1
            assert Subscription.objects.get(pk=sub.pk).product.sku == "T-DBL-PRO"

        in_thread(check)
    finally:
        purge_billing(tenants=[world.beta], skus=skus, before=before)

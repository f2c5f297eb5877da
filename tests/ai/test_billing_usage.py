"""AI requests become usage lines on the tenant's renewal invoice, at its price per request, once
per period (billing.registry's usage sources; billing never imports ai)."""

from __future__ import annotations

import ast
import datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from ai.models import ProcessedTask
from ai.services import policy_save
from billing.models import Invoice, Order, PaymentMethod, Subscription, UsageCharge
from billing.services import billing_cycle_run, order_checkout
from tests.ai.factories import ACTOR
from tests.billing.factories import PlanProductFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2030, 1, 31, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def subscribe(tenant):
    PlanProductFactory(sku="T-STARTER-M", price=D("49.00"), plan_code="starter", interval="month")
    order_checkout(tenant=tenant, items=[{"sku": "T-STARTER-M", "quantity": 1}], gateway_code="sandbox",
                   token="tok_visa", actor=ACTOR, save_payment_method=True, now=T0)
    return Subscription.objects.get(tenant=tenant)


def tasks(tenant, at, n, status=ProcessedTask.Status.SUCCEEDED):
    rows = [ProcessedTask.objects.create(tenant=tenant, feature="message-draft", status=status) for _ in range(n)]
    ProcessedTask.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=at)


def test_ai_requests_of_the_period_are_billed_on_the_renewal_invoice_once(world, django_capture_on_commit_callbacks):
    sub = subscribe(world.alpha)
    policy_save(actor=ACTOR, tenant=world.alpha, price_per_request_usd="0.05")
    # given 30 requests in the period (and some that do not count: queued, before, after, another tenant's)
    tasks(world.alpha, sub.current_period_start + DAY, 30)
    tasks(world.alpha, sub.current_period_start + DAY, 4, status=ProcessedTask.Status.QUEUED)
    tasks(world.alpha, sub.current_period_start - DAY, 5)
    tasks(world.alpha, sub.current_period_end + DAY, 6)
    tasks(world.beta, sub.current_period_start + DAY, 7)
    # when the period ends and the renewal is charged
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_chargeDeclinedInsufficientFunds")
    end = sub.current_period_end
    assert billing_cycle_run(actor=ACTOR, now=end)["failed"] == 1
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    ai_line = renewal.items.get(sku="AI-REQUESTS")
    assert (ai_line.quantity, ai_line.unit_price, ai_line.subtotal) == (30, D("0.05"), D("1.50"))
    assert renewal.subtotal == D("50.50")
    # a retry pays the same order: the usage is on it once, and on its invoice
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_visa")
    with django_capture_on_commit_callbacks(execute=True):
        billing_cycle_run(actor=ACTOR, now=end + DAY)
    renewal.refresh_from_db()
    assert renewal.status == "paid" and renewal.items.filter(sku="AI-REQUESTS").count() == 1
    invoice = Invoice.objects.get(order=renewal)
    assert [line["sku"] for line in invoice.lines].count("AI-REQUESTS") == 1 and invoice.subtotal == D("50.50")
    charge = UsageCharge.objects.get(tenant=world.alpha)
    assert (charge.source, charge.amount, charge.order_id) == ("ai", D("1.50"), renewal.pk)
    assert not UsageCharge.objects.filter(tenant=world.beta).exists()


def test_a_recreated_renewal_does_not_bill_the_period_again(world, django_capture_on_commit_callbacks):
    sub = subscribe(world.alpha)
    policy_save(actor=ACTOR, tenant=world.alpha, price_per_request_usd="0.10")
    tasks(world.alpha, sub.current_period_start + DAY, 3)
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_chargeDeclinedInsufficientFunds")
    billing_cycle_run(actor=ACTOR, now=sub.current_period_end)
    first = Order.objects.get(subscription=sub, kind="renewal")
    # when that order is cancelled and a new renewal order is made for the same period
    Order.objects.filter(pk=first.pk).update(status=Order.Status.CANCELLED)
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_visa")
    with django_capture_on_commit_callbacks(execute=True):
        billing_cycle_run(actor=ACTOR, now=sub.current_period_end + DAY)
    second = Order.objects.filter(subscription=sub, kind="renewal").exclude(pk=first.pk).get()
    # then the usage was billed on the first only
    assert not second.items.filter(sku="AI-REQUESTS").exists() and UsageCharge.objects.count() == 1


def test_no_price_no_usage_line(world):
    sub = subscribe(world.alpha)
    tasks(world.alpha, sub.current_period_start + DAY, 10)
    billing_cycle_run(actor=ACTOR, now=sub.current_period_end)
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert list(renewal.items.values_list("sku", flat=True)) == ["T-STARTER-M"]
    assert not UsageCharge.objects.exists()


def test_billing_never_imports_ai():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in (root / "billing").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name == "ai" or name.startswith("ai.")]
    assert offenders == []

"""Fiscal documents: the invoice of a paid order and the credit note of a refund, each with the
next gapless number of its series, issued inside the transaction that writes the money move."""

from __future__ import annotations

import datetime
from decimal import Decimal

from billing import conf
from billing.models import Invoice, Order
from billing.money import q2
from billing.services.numbering import document_number, number_next
from cdp.exceptions import full_clean_or_raise
from tenants.models import Tenant


def _buyer(tenant: Tenant, order: Order) -> dict:
    return {"name": tenant.name, "slug": tenant.slug, "country": order.billing_country, "state": order.billing_state}


def invoice_issue(*, order: Order, now: datetime.datetime) -> Invoice:
    """Issue the invoice for a paid order, with the next number of the series (inside the
    caller's transaction: the number and the invoice commit together)."""
    series = conf.get("BILLING_INVOICE_SERIES")
    sequence = number_next(series=series)
    lines = [{"sku": i.sku, "description": i.description, "quantity": i.quantity, "unit_price": str(i.unit_price),
              "subtotal": str(i.subtotal), "discount": str(i.discount_amount), "tax": str(i.tax_amount),
              "total": str(i.total)} for i in order.items.all()]
    invoice = Invoice(kind=Invoice.Kind.INVOICE, series=series, sequence=sequence,
                      number=document_number(series=series, sequence=sequence), tenant=order.tenant, order=order,
                      issued_at=now, currency=order.currency, subtotal=order.subtotal,
                      discount_amount=order.discount_amount, tax_amount=order.tax_amount, total=order.total,
                      buyer=_buyer(order.tenant, order), lines=lines)
    invoice.save()
    return invoice


def credit_note_issue(*, order: Order, amount: Decimal, reason: str, now: datetime.datetime) -> Invoice:
    """Issue the credit note for ``amount`` refunded of ``order`` (locked by the caller), crediting
    its invoice; the tax is the order's share of ``amount``."""
    invoice = order.invoices.filter(kind=Invoice.Kind.INVOICE).first()
    tax = q2(amount * order.tax_amount / order.total) if order.total else Decimal("0.00")
    series = conf.get("BILLING_CREDIT_NOTE_SERIES")
    sequence = number_next(series=series)
    note = Invoice(kind=Invoice.Kind.CREDIT_NOTE, series=series, sequence=sequence,
                   number=document_number(series=series, sequence=sequence), tenant=order.tenant, order=order,
                   credits=invoice, issued_at=now, currency=order.currency, subtotal=amount - tax,
                   discount_amount=Decimal("0.00"), tax_amount=tax, total=amount, reason=reason[:255],
                   buyer=_buyer(order.tenant, order),
                   lines=[{"sku": "REFUND", "description": f"Refund of {invoice.number if invoice else ''}"
                           f"{': ' + reason if reason else ''}"[:255], "quantity": 1,
                           "unit_price": str(amount - tax), "subtotal": str(amount - tax), "discount": "0.00",
                           "tax": str(tax), "total": str(amount)}])
    full_clean_or_raise(note, "The credit note is invalid.", exclude=["credits", "order", "tenant"])
    note.save()
    return note

"""Checkout: a cart validated and priced (items, coupon, tax), the order written, and a paid order
finalized (invoice, saved card, what it grants). Taking the money is ``billing.services.payments``;
what an order grants is ``billing.services.entitlements``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing.codes import AuditAction, ErrorCode
from billing.models import (
    Coupon,
    CouponRedemption,
    Invoice,
    Order,
    OrderItem,
    PaymentAttempt,
    PaymentGateway,
    Product,
    Subscription,
)
from billing.money import CartLine, Discount, PricedCart, price_cart
from billing.selectors import tax_rate_for, tenant_billing_address
from billing.services.entitlements import IssuedKey, subscription_paid_order_apply
from billing.services.errors import CouponInvalid
from billing.services.invoices import invoice_issue
from billing.services.numbering import order_number_next
from billing.services.payment_methods import payment_method_save
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from tenants.models import Tenant
from tenants.services import audit_record

MAX_QUANTITY = 100


@dataclass
class CheckoutResult:
    order: Order
    invoice: Invoice | None = None
    licenses: list[IssuedKey] = field(default_factory=list)
    paid_now: bool = False  # this call moved the order to paid (not "it already was")

    @property
    def pending(self) -> bool:
        return self.order.status == Order.Status.PENDING


# --- Validation ----------------------------------------------------------------------------------


def coupon_resolve(*, code: str, tenant: Tenant, now: datetime.datetime) -> Coupon:
    """The usable coupon for ``code`` or ``CouponInvalid`` saying why not."""
    coupon = Coupon.objects.filter(code=(code or "").strip().upper()).first()
    if coupon is None or not coupon.is_active:
        raise CouponInvalid("This coupon does not exist.", fields={"coupon": ["Unknown coupon."]})
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponInvalid("This coupon is not valid yet.", fields={"coupon": ["Not valid yet."]})
    if coupon.valid_until and now >= coupon.valid_until:
        raise CouponInvalid("This coupon has expired.", fields={"coupon": ["Expired."]})
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise CouponInvalid("This coupon has been fully redeemed.", fields={"coupon": ["No redemptions left."]})
    if coupon.once_per_tenant and CouponRedemption.objects.filter(coupon=coupon, tenant=tenant).exists():
        raise CouponInvalid("Your organization has already used this coupon.",
                            fields={"coupon": ["Already used by your organization."]})
    return coupon


def _resolve_items(*, tenant: Tenant, items: list[dict]) -> list[tuple[Product, int]]:
    if not items:
        raise ApplicationError("The cart is empty.", fields={"items": ["Add at least one product."]})
    skus = [str(item.get("sku", "")).strip().upper() for item in items]
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus, is_active=True)}
    resolved, errors = [], {}
    for index, (sku, item) in enumerate(zip(skus, items)):
        quantity = item.get("quantity", 1)
        product = products.get(sku)
        if product is None:
            errors[str(index)] = [f"Unknown product '{sku}'."]
        elif not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            errors[str(index)] = [f"Quantity is a whole number from 1 to {MAX_QUANTITY}."]
        elif product.is_subscription and quantity != 1:
            errors[str(index)] = ["A subscription is bought one at a time."]
        else:
            resolved.append((product, quantity))
    if errors:
        raise ApplicationError("Some items are invalid.", fields={"items": errors})
    subscriptions = [p for p, _ in resolved if p.is_subscription]
    if len(subscriptions) > 1:
        raise ApplicationError("One subscription per order.", fields={"items": ["Only one subscription."]})
    if subscriptions and Subscription.objects.filter(tenant=tenant).exclude(
            status=Subscription.Status.CANCELLED).exists():
        raise Conflict("Your organization already has a subscription: change its plan instead.",
                       code=ErrorCode.SUBSCRIPTION_EXISTS)
    return resolved


def order_quote(*, tenant: Tenant, items: list[dict], coupon_code: str | None = None,
                billing_address: dict | None = None, now: datetime.datetime | None = None) -> dict:
    """Price a cart without writing anything (what the checkout would charge)."""
    now = now or timezone.now()
    resolved = _resolve_items(tenant=tenant, items=items)
    coupon = coupon_resolve(code=coupon_code, tenant=tenant, now=now) if coupon_code else None
    address = {k: (v or "").upper() for k, v in (billing_address or tenant_billing_address(tenant=tenant)).items()}
    rate = tax_rate_for(country=address.get("country", ""), state=address.get("state", ""))
    cart = _price(resolved, coupon, rate)
    if coupon and coupon.minimum_amount and cart.subtotal + cart.tax < coupon.minimum_amount:
        raise CouponInvalid(f"This coupon needs an order of at least {coupon.minimum_amount}.",
                            fields={"coupon": ["Order below the coupon's minimum."]})
    return {"cart": cart, "coupon": coupon, "tax_rate": rate, "address": address, "products": resolved}


def _price(resolved, coupon, rate) -> PricedCart:
    return price_cart(
        lines=[CartLine(p.sku, p.name, p.price, qty) for p, qty in resolved],
        discount=Discount(coupon.kind, coupon.value) if coupon else None,
        tax_percent=rate.rate if rate else Decimal("0"),
        tax_inclusive=bool(rate and rate.inclusive),
    )


# --- Writing orders --------------------------------------------------------------------------------


def order_create(*, tenant: Tenant, cart: PricedCart, products: list[Product | None], actor: Actor,
                 now: datetime.datetime, kind: str = Order.Kind.CHECKOUT, coupon: Coupon | None = None,
                 tax_rate=None, address: dict | None = None, gateway: PaymentGateway | None = None,
                 subscription: Subscription | None = None) -> Order:
    """Commit a ``pending`` order and its items (its own transaction)."""
    address = address or {}
    with transaction.atomic():
        order = Order(
            order_number=order_number_next(now=now), tenant=tenant, kind=kind, currency="USD",
            subtotal=cart.subtotal, discount_amount=cart.discount, tax_amount=cart.tax, total=cart.total,
            coupon=coupon, tax_rate=tax_rate, tax_inclusive=bool(tax_rate and tax_rate.inclusive),
            tax_percent=tax_rate.rate if tax_rate else Decimal("0"), billing_country=address.get("country", ""),
            billing_state=address.get("state", ""), gateway=gateway, subscription=subscription,
            created_by=actor.label[:255],
        )
        order.full_clean()
        order.save()
        if coupon is not None:
            coupon_redemption_reserve(order=order)
        OrderItem.objects.bulk_create([
            OrderItem(order=order, product=product, sku=line.sku, description=line.description[:255],
                      quantity=line.quantity, unit_price=line.unit_price, subtotal=line.subtotal,
                      discount_amount=line.discount, tax_amount=line.tax, total=line.total)
            for line, product in zip(cart.lines, products)
        ])
        audit_record(actor=actor, action=AuditAction.ORDER_CREATE, resource_type="billing_order", resource_id=order.pk,
                     tenant=tenant, changes={"order_number": order.order_number, "total": order.total,
                                             "coupon": coupon.code if coupon else None})
    return order


def order_finalize(*, order_id: int, attempt_id: int | None, transaction_id: str, actor: Actor,
                   now: datetime.datetime, card=None, token: str = "") -> CheckoutResult:
    """Record a successful payment: order paid, coupon redeemed, gapless invoice, licenses and
    subscription. Idempotent: an order already paid is returned unchanged (no second invoice)."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("tenant", "coupon").get(pk=order_id)
        if order.status == Order.Status.PAID:
            return CheckoutResult(order=order, invoice=order.invoices.filter(kind=Invoice.Kind.INVOICE).first())
        if order.status not in (Order.Status.PENDING, Order.Status.PAYMENT_FAILED):
            raise Conflict(f"Order {order.order_number} is {order.status}.", code=ErrorCode.ORDER_NOT_PAYABLE)
        if attempt_id is not None:
            PaymentAttempt.objects.filter(pk=attempt_id).update(status=PaymentAttempt.Status.SUCCEEDED,
                                                                transaction_id=transaction_id, updated_at=now)
        order.status, order.paid_at, order.gateway_transaction_id = Order.Status.PAID, now, transaction_id
        order.save(update_fields=["status", "paid_at", "gateway_transaction_id", "updated_at"])
        if order.coupon_id and not CouponRedemption.objects.filter(order=order).exists():
            coupon_redemption_reserve(order=order)  # e.g. a late callback after a failed attempt released it
        invoice = invoice_issue(order=order, now=now)
        if card is not None and token and order.gateway_id:
            payment_method_save(tenant=order.tenant, gateway=order.gateway, reference=token, card=card, actor=actor)
        licenses = subscription_paid_order_apply(order=order, actor=actor, now=now)
        audit_record(actor=actor, action=AuditAction.ORDER_PAID, resource_type="billing_order", resource_id=order.pk,
                     tenant=order.tenant, changes={"order_number": order.order_number, "invoice": invoice.number,
                                                   "total": order.total, "transaction": transaction_id})
    return CheckoutResult(order=order, invoice=invoice, licenses=licenses, paid_now=True)


def coupon_redemption_reserve(*, order: Order) -> None:
    """Take one redemption for the order before any charge (coupon row locked, so the
    maximum holds under concurrency; the unique constraint enforces once per tenant)."""
    coupon = Coupon.objects.select_for_update().get(pk=order.coupon_id)
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise CouponInvalid("This coupon has been fully redeemed.", fields={"coupon": ["No redemptions left."]})
    try:
        with transaction.atomic():
            CouponRedemption.objects.create(coupon=coupon, tenant=order.tenant, order=order,
                                            once_per_tenant=coupon.once_per_tenant)
    except IntegrityError as exc:
        raise CouponInvalid("Your organization has already used this coupon.",
                            fields={"coupon": ["Already used by your organization."]}) from exc
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=F("times_redeemed") + 1)


def coupon_redemption_release(*, order: Order) -> None:
    """A failed payment gives the redemption back (the tenant may use the coupon again)."""
    deleted, _ = CouponRedemption.objects.filter(order=order).delete()
    if deleted:
        Coupon.objects.filter(pk=order.coupon_id, times_redeemed__gt=0).update(times_redeemed=F("times_redeemed") - 1)

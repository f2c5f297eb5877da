"""Reads for catalog, orders, invoices, subscriptions and tax."""

from __future__ import annotations

from django.db.models import Avg, Count, Q, QuerySet

from billing.models import Invoice, Order, PaymentGateway, PaymentMethod, Product, Subscription, TaxRate
from tenants.models import Membership, Role, Tenant


def product_list(*, include_inactive: bool = False) -> QuerySet[Product]:
    """Products with ``rating_average`` and ``rating_count`` annotated from approved reviews."""
    qs = Product.objects.select_related("category").annotate(
        rating_average=Avg("reviews__rating", filter=Q(reviews__is_approved=True)),
        rating_count=Count("reviews", filter=Q(reviews__is_approved=True)),
    )
    return qs if include_inactive else qs.filter(is_active=True)


def order_list(*, tenant: Tenant) -> QuerySet[Order]:
    """The tenant's orders (only its own), with items and invoices prefetched."""
    return Order.objects.filter(tenant=tenant).select_related("coupon").prefetch_related("items", "invoices")


def invoice_list(*, tenant: Tenant) -> QuerySet[Invoice]:
    return Invoice.objects.filter(tenant=tenant).select_related("order")


def invoice_get(*, tenant: Tenant, number: str) -> Invoice | None:
    return invoice_list(tenant=tenant).filter(number=number).first()


def payment_method_list(*, tenant: Tenant) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(tenant=tenant).select_related("gateway")


#: The gateway the portal's checkout and saved cards use.
PORTAL_GATEWAY = "sandbox"


def subscription_current(*, tenant: Tenant) -> Subscription | None:
    """The tenant's live (not cancelled) subscription, if any."""
    return (Subscription.objects.filter(tenant=tenant).exclude(status=Subscription.Status.CANCELLED)
            .select_related("product", "payment_method").first())


def checkout_test_mode() -> bool:
    """Whether the portal's checkout takes payments in test mode: it charges through the built-in
    sandbox gateway (test card tokens, no money moves). Only then does the portal show test card
    details; without an active sandbox it offers no card form (a live gateway takes cards through
    the gateway's own payment form, never a token typed in our page)."""
    return PaymentGateway.objects.filter(code=PORTAL_GATEWAY, kind=PaymentGateway.Kind.SANDBOX,
                                         is_active=True).exists()


def tenant_billing_address(*, tenant: Tenant) -> dict:
    """Country and state from the tenant's settings (``billing_country``/``country``, ``billing_state``)."""
    settings = tenant.settings or {}
    return {"country": (settings.get("billing_country") or settings.get("country") or "").upper(),
            "state": (settings.get("billing_state") or settings.get("state") or "").upper()}


def tax_rate_for(*, country: str, state: str = "") -> TaxRate | None:
    """The active rate for the state if one exists, else the country's, else none."""
    country, state = (country or "").upper(), (state or "").upper()
    if not country:
        return None
    rates = {r.state: r for r in TaxRate.objects.filter(country=country, is_active=True, state__in=[state, ""])}
    return rates.get(state) or rates.get("")


def owner_emails(*, tenant: Tenant) -> list[str]:
    return list(Membership.objects.filter(tenant=tenant, role=Role.OWNER, user__is_active=True)
                .order_by("user__email").values_list("user__email", flat=True))

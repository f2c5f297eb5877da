"""Writes to the catalog: categories, products, tax rates, coupons, gateways (operators, each
audited) and reviews (tenants write them; ratings are computed from them, never stored).

The operators' writes share ``tenants.services.records``: the model's validation, the write and
an audit entry of what changed, in one transaction. Deleting is for categories only: the rest is
referenced by orders and redemptions, so it is switched off (``is_active``) instead."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.codes import AuditAction, ErrorCode
from billing.demo import CATEGORIES, COUPONS, PRODUCTS, TAX_RATES
from billing.models import Category, Coupon, PaymentGateway, Product, Review, TaxRate
from cdp.context import Actor
from cdp.exceptions import Conflict, full_clean_or_raise
from tenants.models import Tenant
from tenants.services import audit_record
from tenants.services.records import record_create, record_delete, record_update

CATEGORY_EDITABLE = ("name", "slug", "description", "sort_order")
PRODUCT_EDITABLE = ("sku", "name", "description", "category", "interval", "price", "original_price", "currency",
                    "plan_code", "is_active", "is_featured", "is_popular", "features")
TAX_RATE_EDITABLE = ("name", "country", "state", "rate", "inclusive", "is_active")
COUPON_EDITABLE = ("code", "kind", "value", "currency", "valid_from", "valid_until", "max_redemptions",
                   "once_per_tenant", "minimum_amount", "is_active")  # never times_redeemed: redemptions count
PAYMENT_GATEWAY_EDITABLE = ("code", "name", "kind", "is_active", "config")
REVIEW_EDITABLE = ("rating", "title", "body", "is_approved")  # moderation; product, tenant and author stay


# --- Reviews (tenants) ------------------------------------------------------------------------------


def review_create(*, product, tenant: Tenant, rating: int, actor: Actor, title: str = "", body: str = "") -> Review:
    """One review per tenant and product; the product's average and count follow at once."""
    review = Review(product=product, tenant=tenant, rating=rating, title=title, body=body, author=actor.label[:255])
    full_clean_or_raise(review, "The review is invalid.", exclude=["product", "tenant"])
    try:
        with transaction.atomic():
            review.save()
            audit_record(actor=actor, action=AuditAction.REVIEW_CREATE, resource_type="billing_review",
                         resource_id=review.pk, tenant=tenant, changes={"product": product.sku, "rating": rating})
    except IntegrityError as exc:
        raise Conflict("Your organization has already reviewed this product.", code=ErrorCode.REVIEW_EXISTS) from exc
    return review


def review_update(*, review: Review, actor: Actor, **fields) -> Review:
    """Moderate a review: its rating and text, or whether it counts (``is_approved``)."""
    return record_update(review, fields=fields, editable=REVIEW_EDITABLE, actor=actor,
                         action=AuditAction.REVIEW_UPDATE, resource_type="billing_review", tenant=review.tenant,
                         message="The review is invalid.")


# --- The catalog (operators) -------------------------------------------------------------------------


def category_create(*, actor: Actor, **fields) -> Category:
    return record_create(Category, fields=fields, actor=actor, action=AuditAction.CATEGORY_CREATE,
                         resource_type="billing_category", message="The category could not be saved.")


def category_update(*, category: Category, actor: Actor, **fields) -> Category:
    return record_update(category, fields=fields, editable=CATEGORY_EDITABLE, actor=actor,
                         action=AuditAction.CATEGORY_UPDATE, resource_type="billing_category",
                         message="The category could not be saved.")


def category_delete(*, category: Category, actor: Actor) -> None:
    """Remove a category; its products stay, uncategorized."""
    record_delete(category, describe=("name", "slug"), actor=actor, action=AuditAction.CATEGORY_DELETE,
                  resource_type="billing_category")


def product_create(*, actor: Actor, **fields) -> Product:
    return record_create(Product, fields=fields, actor=actor, action=AuditAction.PRODUCT_CREATE,
                         resource_type="billing_product", message="The product could not be saved.")


def product_update(*, product: Product, actor: Actor, **fields) -> Product:
    """Change a product; what it costs applies to new orders and renewals, not to paid ones."""
    return record_update(product, fields=fields, editable=PRODUCT_EDITABLE, actor=actor,
                         action=AuditAction.PRODUCT_UPDATE, resource_type="billing_product",
                         message="The product could not be saved.")


def tax_rate_create(*, actor: Actor, **fields) -> TaxRate:
    return record_create(TaxRate, fields=fields, actor=actor, action=AuditAction.TAX_RATE_CREATE,
                         resource_type="billing_tax_rate", message="The tax rate could not be saved.")


def tax_rate_update(*, tax_rate: TaxRate, actor: Actor, **fields) -> TaxRate:
    return record_update(tax_rate, fields=fields, editable=TAX_RATE_EDITABLE, actor=actor,
                         action=AuditAction.TAX_RATE_UPDATE, resource_type="billing_tax_rate",
                         message="The tax rate could not be saved.")


def coupon_create(*, actor: Actor, **fields) -> Coupon:
    return record_create(Coupon, fields=fields, actor=actor, action=AuditAction.COUPON_CREATE,
                         resource_type="billing_coupon", message="The coupon could not be saved.")


def coupon_update(*, coupon: Coupon, actor: Actor, **fields) -> Coupon:
    return record_update(coupon, fields=fields, editable=COUPON_EDITABLE, actor=actor,
                         action=AuditAction.COUPON_UPDATE, resource_type="billing_coupon",
                         message="The coupon could not be saved.")


def payment_gateway_create(*, actor: Actor, **fields) -> PaymentGateway:
    return record_create(PaymentGateway, fields=fields, actor=actor, action=AuditAction.PAYMENT_GATEWAY_CREATE,
                         resource_type="billing_payment_gateway", message="The gateway could not be saved.")


def payment_gateway_update(*, gateway: PaymentGateway, actor: Actor, **fields) -> PaymentGateway:
    """Switch a gateway on or off or change its (non-secret) options."""
    return record_update(gateway, fields=fields, editable=PAYMENT_GATEWAY_EDITABLE, actor=actor,
                         action=AuditAction.PAYMENT_GATEWAY_UPDATE, resource_type="billing_payment_gateway",
                         message="The gateway could not be saved.")


def _upsert(existing, *, create, update, fields: dict, actor: Actor) -> None:
    if existing is None:
        create(actor=actor, **fields)
    else:
        update(existing, actor=actor, **fields)


def catalog_demo_load(*, actor: Actor) -> dict:
    """The demo catalog, tax rates, coupons and the sandbox gateway (``billing.demo``), through the
    services above. Idempotent: a second run changes (and audits) nothing."""
    with transaction.atomic():
        if not PaymentGateway.objects.filter(code="sandbox").exists():
            payment_gateway_create(actor=actor, code="sandbox", name="Sandbox (test tokens)",
                                   kind=PaymentGateway.Kind.SANDBOX, is_active=True)
        categories = {}
        for order, (slug, name) in enumerate(CATEGORIES):
            _upsert(Category.objects.filter(slug=slug).first(), actor=actor,
                    fields={"slug": slug, "name": name, "sort_order": order},
                    create=category_create, update=lambda c, **f: category_update(category=c, **f))
            categories[slug] = Category.objects.get(slug=slug)
        for sku, name, category, interval, price, original, plan, featured, popular in PRODUCTS:
            _upsert(Product.objects.filter(sku=sku).first(), actor=actor,
                    fields={"sku": sku, "name": name, "category": categories[category], "interval": interval,
                            "price": price, "original_price": original, "plan_code": plan, "is_featured": featured,
                            "is_popular": popular, "is_active": True},
                    create=product_create, update=lambda p, **f: product_update(product=p, **f))
        for name, country, state, rate, inclusive in TAX_RATES:
            _upsert(TaxRate.objects.filter(country=country, state=state, is_active=True).first(), actor=actor,
                    fields={"name": name, "country": country, "state": state, "rate": rate, "inclusive": inclusive,
                            "is_active": True},
                    create=tax_rate_create, update=lambda t, **f: tax_rate_update(tax_rate=t, **f))
        for code, kind, value, max_redemptions in COUPONS:
            _upsert(Coupon.objects.filter(code=code).first(), actor=actor,
                    fields={"code": code, "kind": kind, "value": value, "max_redemptions": max_redemptions,
                            "is_active": True},
                    create=coupon_create, update=lambda c, **f: coupon_update(coupon=c, **f))
    return {"products": len(PRODUCTS), "categories": len(CATEGORIES), "tax_rates": len(TAX_RATES),
            "coupons": len(COUPONS)}

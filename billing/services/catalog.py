"""Writes to the catalog: reviews (ratings are computed from them, never stored)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.codes import AuditAction, ErrorCode
from billing.models import Review
from cdp.context import Actor
from cdp.exceptions import Conflict, full_clean_or_raise
from tenants.models import Tenant
from tenants.services import audit_record


def review_create(*, product, tenant: Tenant, rating: int, actor: Actor, title: str = "", body: str = "") -> Review:
    """One review per tenant and product; the product's average and count follow at once."""
    review = Review(product=product, tenant=tenant, rating=rating, title=title, body=body, author=actor.label[:255])
    full_clean_or_raise(review, "The review is invalid.", exclude=["product", "tenant"])
    try:
        with transaction.atomic():
            review.save()
            audit_record(actor=actor, action=AuditAction.REVIEW_CREATE, resource_type="billing_review",
                         resource_id=review.pk,
                         tenant=tenant, changes={"product": product.sku, "rating": rating})
    except IntegrityError as exc:
        raise Conflict("Your organization has already reviewed this product.", code=ErrorCode.REVIEW_EXISTS) from exc
    return review

"""Writes to the catalog: reviews (ratings are computed from them, never stored)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.models import Review
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from tenants.models import Tenant
from tenants.services import audit_record


def review_create(*, product, tenant: Tenant, rating: int, actor: Actor, title: str = "", body: str = "") -> Review:
    """One review per tenant and product; the product's average and count follow at once."""
    review = Review(product=product, tenant=tenant, rating=rating, title=title, body=body, author=actor.label[:255])
    try:
        review.full_clean(exclude=["product", "tenant"])
    except ValidationError as exc:
        raise ApplicationError("The review is invalid.", fields=exc.message_dict) from exc
    try:
        with transaction.atomic():
            review.save()
            audit_record(actor=actor, action="review.create", resource_type="billing_review", resource_id=review.pk,
                         tenant=tenant, changes={"product": product.sku, "rating": rating})
    except IntegrityError as exc:
        raise Conflict("Your organization has already reviewed this product.", code="review_exists") from exc
    return review

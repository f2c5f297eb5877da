"""Product writes by people (the tenant admin). Ingest creates products by sku on its own
(``customers.services.ingest``); these edit their catalogue fields, each write audited."""

from __future__ import annotations

from django.db import connection, transaction

from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.codes import AuditAction
from customers.models import Product
from tenants.services import audit_record, changes_between

PRODUCT_FIELDS = ("sku", "name", "category", "brand", "price", "currency", "is_active", "metadata")


def _values(product: Product) -> dict:
    return {key: getattr(product, key) for key in PRODUCT_FIELDS}


@transaction.atomic
def product_save(*, data: dict, actor: Actor, product_id: int | None = None) -> Product:
    """Create a product (``product_id`` None) or change one; ``data`` holds PRODUCT_FIELDS."""
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    if product_id is None:
        product, before = Product(), {}
    else:
        product = get_or_not_found(Product, product_id, "Product not found.", lock=True)
        before = _values(product)
    for key, value in data.items():
        setattr(product, key, value)
    product.currency = (product.currency or "").upper()
    full_clean_or_raise(product, "Some fields are invalid.")
    product.save()
    audit_record(actor=actor, action=AuditAction.PRODUCT_CREATE if product_id is None else AuditAction.PRODUCT_UPDATE,
                 resource_type="product", resource_id=product.pk, tenant=connection.tenant,
                 changes=changes_between(before, _values(product)))
    return product


@transaction.atomic
def product_delete(*, product_id: int, actor: Actor) -> None:
    """Remove a product; order items keep their sku and name (their link becomes empty)."""
    product = get_or_not_found(Product, product_id, "Product not found.", lock=True)
    before = _values(product)
    product.delete()
    audit_record(actor=actor, action=AuditAction.PRODUCT_DELETE, resource_type="product", resource_id=product_id,
                 tenant=connection.tenant, changes=changes_between(before, {}))

"""Payment gateways a checkout may use, and a tenant's saved cards (a gateway's reusable reference
with brand, last 4 and expiry: never a card number)."""

from __future__ import annotations

from django.db import transaction

from billing.codes import AuditAction, ErrorCode
from billing.gateways import gateway_for
from billing.models import PaymentGateway, PaymentMethod, Subscription
from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from cdp.ids import get_or_not_found
from tenants.models import Tenant
from tenants.services import audit_record


def gateway_resolve(*, code: str) -> PaymentGateway:
    """The active gateway ``code``, or a refusal naming it."""
    gateway = PaymentGateway.objects.filter(code=code, is_active=True).first()
    if gateway is None:
        raise ApplicationError("Unknown payment gateway.", code=ErrorCode.GATEWAY_UNKNOWN,
                               fields={"payment": {"gateway": [f"No active gateway '{code}'."]}})
    return gateway


def payment_method_save(*, tenant: Tenant, gateway: PaymentGateway, reference: str, card, actor: Actor,
                        make_default: bool = True) -> PaymentMethod:
    """Keep a reusable gateway reference and the card's brand, last 4 and expiry (never a PAN)."""
    with transaction.atomic():
        existing = PaymentMethod.objects.filter(tenant=tenant, gateway=gateway, reference=reference).first()
        if existing is not None:
            method = existing
        else:
            method = PaymentMethod(tenant=tenant, gateway=gateway, reference=reference, brand=card.brand,
                                   last4=card.last4 or "0000", exp_month=card.exp_month, exp_year=card.exp_year)
            full_clean_or_raise(method, "The card could not be saved.", exclude=["tenant", "gateway", "is_default"])
            method.save()
            audit_record(actor=actor, action=AuditAction.PAYMENT_METHOD_ADD, resource_type="billing_payment_method",
                         resource_id=method.pk, tenant=tenant, changes={"brand": method.brand,
                                                                        "last4": method.last4})
        if make_default and not method.is_default:
            PaymentMethod.objects.filter(tenant=tenant, is_default=True).update(is_default=False)
            method.is_default = True
            method.save(update_fields=["is_default", "updated_at"])
            Subscription.objects.filter(tenant=tenant).exclude(status=Subscription.Status.CANCELLED).update(
                payment_method=method)
    return method


def payment_method_add(*, tenant: Tenant, gateway_code: str, token: str, actor: Actor) -> PaymentMethod:
    """Save a card from a gateway token (sandbox: the test tokens), and make it the default."""
    gateway = gateway_resolve(code=gateway_code)
    adapter = gateway_for(gateway)
    card = adapter.card_for(token) if hasattr(adapter, "card_for") else None
    if card is None:
        raise ApplicationError("The gateway does not know this card token.", code=ErrorCode.TOKEN_INVALID,
                               fields={"token": ["Unknown token."]})
    return payment_method_save(tenant=tenant, gateway=gateway, reference=token, card=card, actor=actor)


def payment_method_delete(*, tenant: Tenant, payment_method_id: int, actor: Actor) -> None:
    """Forget one of ``tenant``'s saved cards (another tenant's id is not found)."""
    with transaction.atomic():
        method = get_or_not_found(PaymentMethod.objects.filter(tenant=tenant), payment_method_id,
                                  "No such payment method.", lock=True)
        audit_record(actor=actor, action=AuditAction.PAYMENT_METHOD_DELETE, resource_type="billing_payment_method",
                     resource_id=method.pk, tenant=tenant, changes={"brand": method.brand, "last4": method.last4})
        method.delete()

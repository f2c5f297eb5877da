"""Partner offers (seed ``offer_constructor``): a voucher for the members a partner targets.

Promises:
- The target is the members (customers with a loyalty account, not merged away or erased) in the
  offer's ``tiers`` (all when empty) who pass its ``audience``: the customers list's own filters
  (``customers.filters.CustomerFilter``, with those other apps register, e.g. analytics'
  ``rfm_segment`` and ``segment``), so an offer targets exactly who the list shows.
- Issuing gives each matching member one voucher (a unique constraint on offer and customer),
  oldest members first, until the ``budget`` is spent; the offer's row is locked meanwhile, so two
  runs never overspend. Only an active offer, within its window, of an active partner, issues.
- A refused audience (an unknown filter, a bad value) is a field error, never stored.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.services.common import audit
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import LoyaltyAccount, Offer, Partner, Tier, Voucher, VoucherKind
from loyalty.services.coalition import voucher_code_new
from tenants.services import changes_between

OFFER_FIELDS = ("name", "description", "partner_id", "status", "tiers", "audience", "kind", "value", "item_name",
                "min_spend", "validity_days", "budget", "starts_at", "ends_at")
#: Filters an audience may not use: free-text search would make the target drift with every edit.
AUDIENCE_EXCLUDED = frozenset({"q", "name", "email", "document"})
BATCH = 1000


class OfferError(ApplicationError):
    code = ErrorCode.OFFER_INVALID


def audience_clean(audience) -> dict:
    """The audience as stored (string values); ``OfferError`` with the filter's message otherwise."""
    if audience in (None, ""):
        return {}
    if not isinstance(audience, dict):
        raise OfferError("The audience is an object of customer filters.", fields={"audience": ["Must be an object."]})
    form = CustomerFilter(data={key: str(value) for key, value in audience.items()},
                          queryset=Customer.objects.none())
    unknown = sorted(set(audience) - set(form.filters) | (set(audience) & AUDIENCE_EXCLUDED))
    if unknown:
        raise OfferError(f"Unknown audience filter(s): {', '.join(unknown)}.",
                         fields={"audience": [f"Unknown: {', '.join(unknown)}."]})
    if not form.is_valid():
        raise OfferError("Check the audience.", fields={f"audience.{key}": [str(m) for m in messages]
                                                        for key, messages in form.errors.items()})
    return {key: str(value) for key, value in audience.items()}


def _check(offer: Offer) -> None:
    if not isinstance(offer.tiers, list) or any(tier not in Tier.values for tier in offer.tiers):
        raise OfferError("Tiers are some of: " + ", ".join(Tier.values) + ".", fields={"tiers": ["Unknown tier."]})
    offer.tiers = sorted(set(offer.tiers), key=Tier.values.index)
    offer.audience = audience_clean(offer.audience)
    if offer.kind == VoucherKind.FREE_ITEM and not offer.item_name:
        raise OfferError("A free-item voucher names its item.", fields={"item_name": ["Required."]})
    if offer.kind != VoucherKind.FREE_ITEM and (offer.value or 0) <= 0:
        raise OfferError("The voucher's value must be greater than zero.", fields={"value": ["Must be > 0."]})
    if offer.kind == VoucherKind.PERCENT and offer.value > 100:
        raise OfferError("At most 100 percent.", fields={"value": ["At most 100."]})
    if offer.starts_at and offer.ends_at and offer.ends_at <= offer.starts_at:
        raise OfferError("The offer ends after it starts.", fields={"ends_at": ["Must be after starts_at."]})
    full_clean_or_raise(offer, "Check the highlighted fields.", error=OfferError)


def _values(offer: Offer, keys) -> dict:
    return {key: str(getattr(offer, key)) if not isinstance(getattr(offer, key), (list, dict))
            else getattr(offer, key) for key in keys}


@transaction.atomic
def offer_create(*, actor: Actor, values: dict) -> Offer:
    """A new offer (``values``: keys of OFFER_FIELDS)."""
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise OfferError(f"Unknown offer fields: {', '.join(sorted(unknown))}.")
    if values.get("partner_id") is not None:
        get_or_not_found(Partner, values["partner_id"], "Partner not found.")
    offer = Offer(**values)
    _check(offer)
    offer.save()
    audit(actor=actor, action=AuditAction.OFFER_CREATE, resource_type="loyalty_offer", resource_id=offer.pk,
          changes=changes_between({}, _values(offer, OFFER_FIELDS)))
    return offer


@transaction.atomic
def offer_update(*, offer_id, actor: Actor, values: dict) -> Offer:
    """Change an offer (vouchers already issued keep their terms)."""
    offer = get_or_not_found(Offer, offer_id, "Offer not found.", lock=True)
    unknown = set(values) - set(OFFER_FIELDS)
    if unknown:
        raise OfferError(f"Unknown offer fields: {', '.join(sorted(unknown))}.")
    before = _values(offer, values)
    for key, value in values.items():
        setattr(offer, key, value)
    _check(offer)
    offer.save()
    audit(actor=actor, action=AuditAction.OFFER_UPDATE, resource_type="loyalty_offer", resource_id=offer.pk,
          changes=changes_between(before, _values(offer, values)))
    return offer


def offer_targets(offer: Offer):
    """The customers the offer targets who have no voucher of it yet, oldest member first."""
    customers = Customer.objects.filter(merged_into__isnull=True, is_pseudonymized=False)
    if offer.audience:
        customers = CustomerFilter(data=offer.audience, queryset=customers).qs
    accounts = LoyaltyAccount.objects.filter(customer_id=OuterRef("pk"))
    if offer.tiers:
        accounts = accounts.filter(tier__in=offer.tiers)
    issued = Voucher.objects.filter(offer=offer, customer_id=OuterRef("pk"))
    return customers.filter(Exists(accounts)).exclude(Exists(issued)).order_by("pk")


@transaction.atomic
def offer_issue(*, offer_id, actor: Actor, partner_id: int | None = None,
                now: datetime.datetime | None = None) -> dict:
    """Issue the offer's vouchers to the matching members, within its budget. Returns {"issued",
    "remaining"} (the budget left). 409 ``offer_inactive`` outside its window or status."""
    now = now or timezone.now()
    offers = Offer.objects.all() if partner_id is None else Offer.objects.filter(partner_id=partner_id)
    offer = get_or_not_found(offers, offer_id, "Offer not found.", lock=True)
    partner = Partner.objects.filter(pk=offer.partner_id).first() if offer.partner_id else None
    if (offer.status != Offer.Status.ACTIVE or not offer.starts_at <= now < offer.ends_at
            or (partner is not None and partner.status != Partner.Status.ACTIVE)):
        raise Conflict("This offer is not running: it is not active, or outside its dates.",
                       code=ErrorCode.OFFER_INACTIVE)
    remaining = offer.budget - Voucher.objects.filter(offer=offer).count()
    issued = 0
    if remaining > 0:
        target = list(offer_targets(offer).values_list("pk", flat=True)[:remaining])
        for start in range(0, len(target), BATCH):
            rows = [Voucher(code=voucher_code_new(), customer_id=customer_id, partner_id=offer.partner_id,
                            kind=offer.kind, value=offer.value, item_name=offer.item_name,
                            min_spend=offer.min_spend, valid_from=now,
                            valid_until=now + datetime.timedelta(days=offer.validity_days),
                            origin=Voucher.Origin.OFFER, offer=offer) for customer_id in target[start:start + BATCH]]
            Voucher.objects.bulk_create(rows)
            issued += len(rows)
    audit(actor=actor, action=AuditAction.OFFER_ISSUE, resource_type="loyalty_offer", resource_id=offer.pk,
          changes={"issued": issued, "remaining": remaining - issued})
    return {"issued": issued, "remaining": max(0, remaining - issued)}

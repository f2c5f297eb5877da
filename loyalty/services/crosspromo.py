"""Cross-promotion (seed ``cross_promo_chains``) and vouchers carried by orders.

- A counted order at partner A (``Order.partner``: the partner's slug, a canonical column the
  ingest fills from the record's ``partner``) of at least a chain's ``min_amount`` issues the chain's
  voucher for partner B to the buyer, once per (chain, order) (a unique constraint).
- An order whose canonical record carries ``voucher_code`` uses that voucher at the order's
  partner, once (the order is the use's reference, so a re-sync replays); a refused code (expired,
  used, foreign partner, under the minimum) is logged with its reason and the order keeps its
  points: the ingest never fails for it.
The Win-Win matrix reads these vouchers (``loyalty.selectors.cross_promo_matrix``).
"""

from __future__ import annotations

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.models import Order
from customers.selectors import counted_statuses
from customers.services.common import audit
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import CrossPromoChain, Partner, Voucher, VoucherKind
from loyalty.services.coalition import voucher_code_new, voucher_use
from tenants.services import changes_between

logger = logging.getLogger(__name__)
CHAIN_FIELDS = ("name", "source_partner_id", "target_partner_id", "min_amount", "kind", "value", "item_name",
                "min_spend", "validity_days", "is_active")
SYSTEM = Actor.system("loyalty-orders")


class ChainError(ApplicationError):
    code = ErrorCode.CHAIN_INVALID


def _check(chain: CrossPromoChain) -> None:
    if chain.source_partner_id == chain.target_partner_id:
        raise ChainError("A chain leads from one partner to another.",
                         fields={"target_partner": ["Must differ from the source partner."]})
    if chain.kind == VoucherKind.FREE_ITEM and not chain.item_name:
        raise ChainError("A free-item voucher names its item.", fields={"item_name": ["Required."]})
    if chain.kind != VoucherKind.FREE_ITEM and (chain.value or 0) <= 0:
        raise ChainError("The voucher's value must be greater than zero.", fields={"value": ["Must be > 0."]})
    full_clean_or_raise(chain, "Check the highlighted fields.", error=ChainError)


@transaction.atomic
def chain_create(*, actor: Actor, values: dict) -> CrossPromoChain:
    """A new cross-promotion chain (``values``: keys of CHAIN_FIELDS)."""
    unknown = set(values) - set(CHAIN_FIELDS)
    if unknown:
        raise ChainError(f"Unknown chain fields: {', '.join(sorted(unknown))}.")
    chain = CrossPromoChain(**values)
    _check(chain)
    chain.save()
    audit(actor=actor, action=AuditAction.CHAIN_CREATE, resource_type="loyalty_chain", resource_id=chain.pk,
          changes=changes_between({}, {key: str(getattr(chain, key)) for key in CHAIN_FIELDS}))
    return chain


@transaction.atomic
def chain_update(*, chain_id, actor: Actor, values: dict) -> CrossPromoChain:
    """Change a chain (vouchers already issued keep their terms)."""
    chain = get_or_not_found(CrossPromoChain, chain_id, "Chain not found.", lock=True)
    unknown = set(values) - set(CHAIN_FIELDS)
    if unknown:
        raise ChainError(f"Unknown chain fields: {', '.join(sorted(unknown))}.")
    before = {key: str(getattr(chain, key)) for key in values}
    for key, value in values.items():
        setattr(chain, key, value)
    _check(chain)
    chain.save()
    audit(actor=actor, action=AuditAction.CHAIN_UPDATE, resource_type="loyalty_chain", resource_id=chain.pk,
          changes=changes_between(before, {key: str(getattr(chain, key)) for key in values}))
    return chain


def _record_value(order: Order, key: str) -> str:
    value = order.raw.get(key) if isinstance(order.raw, dict) else None
    return value.strip() if isinstance(value, str) else ""


def order_partner(order: Order, partners: dict[str, Partner]) -> Partner | None:
    """The partner an order was made at (its canonical ``Order.partner`` slug), if it is one."""
    return partners.get(order.partner) if order.partner else None


def loyalty_partner_orders_process(*, order_ids, now: datetime.datetime | None = None) -> dict:
    """Chains triggered and vouchers used by the counted ``order_ids`` (see the module docstring);
    idempotent. Returns {"issued", "used", "refused"}."""
    now = now or timezone.now()
    partners = {partner.slug: partner for partner in Partner.objects.filter(status=Partner.Status.ACTIVE)}
    result = {"issued": 0, "used": 0, "refused": 0}
    if not partners:
        return result
    chains: dict[int, list[CrossPromoChain]] = {}
    for chain in CrossPromoChain.objects.filter(is_active=True, target_partner__status=Partner.Status.ACTIVE):
        chains.setdefault(chain.source_partner_id, []).append(chain)
    for order in Order.objects.filter(pk__in=list(order_ids), status__in=counted_statuses()).order_by("pk"):
        partner = order_partner(order, partners)
        if partner is None:
            continue
        for chain in chains.get(partner.pk, []):
            if order.total_amount >= chain.min_amount:
                result["issued"] += _chain_voucher_issue(chain, order, now=now)
        code = _record_value(order, "voucher_code")
        if code:
            try:
                voucher_use(code=code, amount=order.total_amount, partner_id=partner.pk, actor=SYSTEM,
                            reference=f"order:{order.pk}")
                result["used"] += 1
            except ApplicationError as exc:  # the order stands; the refusal is reported
                result["refused"] += 1
                logger.info("order %s: voucher refused (%s)", order.pk, (exc.fields or {}).get("code") or exc)
    return result


def _chain_voucher_issue(chain: CrossPromoChain, order: Order, *, now) -> int:
    try:
        with transaction.atomic():
            Voucher.objects.create(
                code=voucher_code_new(), customer_id=order.customer_id, partner_id=chain.target_partner_id,
                kind=chain.kind, value=chain.value, item_name=chain.item_name, min_spend=chain.min_spend,
                valid_from=now, valid_until=now + datetime.timedelta(days=chain.validity_days),
                origin=Voucher.Origin.CROSS_PROMO, chain=chain, source_order=order)
        return 1
    except IntegrityError:  # this order triggered this chain already
        return 0

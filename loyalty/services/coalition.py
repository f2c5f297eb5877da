"""The coalition's writes (seed 002): partners and their bound API keys, the rewards catalog,
turning points into a voucher, and using or voiding a voucher.

Promises:
- ``reward_redeem`` takes the points and issues the voucher in one transaction: both or neither.
  It locks the customer's row first, so two redemptions of one customer run one after the other;
  with an ``Idempotency-Key`` the second of a double submit (or a retry) finds the first one's
  redemption and answers with it (``replayed``), never spending twice. The same key with another
  reward or customer is refused (409 ``idempotency_key_reused``). Keys are per principal (an API
  key's are not a user's).
- Voucher codes are 12 characters from a 31-symbol alphabet without look-alikes (about 59 bits,
  from ``secrets``): not guessable, unique by constraint.
- A partner-bound caller (``partner_id``) only reaches its partner's rewards and vouchers.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.services.common import audit, customer_current
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import Partner, PartnerApiKey, Reward, RewardRedemption, Voucher, VoucherKind
from loyalty.selectors import voucher_code_normalize, voucher_refusal
from loyalty.services.points import loyalty_points_redeem
from tenants.models import ApiKey
from tenants.services import changes_between

#: Without 0/O, 1/I/L and U (no look-alikes, fewer accidental words).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 12
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as in an HTTP header
PARTNER_FIELDS = ("name", "slug", "category", "status", "contact_name", "contact_email", "contact_phone",
                  "funding_share", "earn_multiplier")
REWARD_FIELDS = ("name", "description", "partner_id", "points_cost", "kind", "value", "item_name", "min_spend",
                 "validity_days", "per_customer_limit", "is_active")


class CoalitionError(ApplicationError):
    code = ErrorCode.REWARD_INVALID


def _values(instance, fields) -> dict:
    return {field: getattr(instance, field) for field in fields}


def _full_clean(instance, code: str) -> None:
    full_clean_or_raise(instance, "Check the highlighted fields.", error=CoalitionError, code=code)


# --- partners -------------------------------------------------------------------------------------

@transaction.atomic
def partner_create(*, actor: Actor, values: dict) -> Partner:
    """A new partner business (``values``: keys of PARTNER_FIELDS). 400 ``partner_slug_taken``."""
    unknown = set(values) - set(PARTNER_FIELDS)
    if unknown:
        raise CoalitionError(f"Unknown partner fields: {', '.join(sorted(unknown))}.", code=ErrorCode.PARTNER_INVALID)
    partner = Partner(**values)
    if Partner.objects.filter(slug=partner.slug).exists():
        raise CoalitionError("A partner already has this slug.", code=ErrorCode.PARTNER_SLUG_TAKEN,
                             fields={"slug": ["Taken."]})
    _full_clean(partner, ErrorCode.PARTNER_INVALID)
    partner.save()
    audit(actor=actor, action=AuditAction.PARTNER_CREATE, resource_type="loyalty_partner", resource_id=partner.pk,
          changes=changes_between({}, {k: str(v) for k, v in _values(partner, PARTNER_FIELDS).items()}))
    return partner


@transaction.atomic
def partner_update(*, partner_id, actor: Actor, values: dict) -> Partner:
    """Change a partner's fields (those given)."""
    partner = get_or_not_found(Partner, partner_id, "Partner not found.", lock=True)
    unknown = set(values) - set(PARTNER_FIELDS)
    if unknown:
        raise CoalitionError(f"Unknown partner fields: {', '.join(sorted(unknown))}.", code=ErrorCode.PARTNER_INVALID)
    before = {key: str(getattr(partner, key)) for key in values}
    for key, value in values.items():
        setattr(partner, key, value)
    if "slug" in values and Partner.objects.filter(slug=partner.slug).exclude(pk=partner.pk).exists():
        raise CoalitionError("A partner already has this slug.", code=ErrorCode.PARTNER_SLUG_TAKEN,
                             fields={"slug": ["Taken."]})
    _full_clean(partner, ErrorCode.PARTNER_INVALID)
    partner.save()
    audit(actor=actor, action=AuditAction.PARTNER_UPDATE, resource_type="loyalty_partner", resource_id=partner.pk,
          changes=changes_between(before, {key: str(getattr(partner, key)) for key in values}))
    return partner


@transaction.atomic
def partner_key_bind(*, partner_id, api_key_id, actor: Actor, tenant) -> PartnerApiKey:
    """Bind one of the tenant's active API keys to a partner: from then on it sees only that
    partner's rewards, vouchers and redemptions. A key is bound to one partner at most."""
    partner = get_or_not_found(Partner, partner_id, "Partner not found.")
    key = ApiKey.objects.filter(pk=api_key_id, tenant=tenant).first() if isinstance(api_key_id, int) else None
    if key is None or not key.is_active:
        raise CoalitionError("No active API key of this tenant has this id.", code=ErrorCode.PARTNER_KEY_INVALID,
                             fields={"api_key_id": ["Unknown or inactive key."]})
    if PartnerApiKey.objects.filter(api_key_id=key.pk).exists():
        raise Conflict("This key is already bound to a partner.", code=ErrorCode.PARTNER_KEY_INVALID,
                       fields={"api_key_id": ["Already bound."]})
    binding = PartnerApiKey.objects.create(partner=partner, api_key_id=key.pk, created_by=actor.label[:255])
    audit(actor=actor, action=AuditAction.PARTNER_KEY_BIND, resource_type="loyalty_partner", resource_id=partner.pk,
          changes={"api_key_id": key.pk, "api_key_prefix": key.prefix})
    return binding


# --- the rewards catalog --------------------------------------------------------------------------

def _reward_check(reward: Reward) -> None:
    if reward.kind == VoucherKind.FREE_ITEM and not reward.item_name:
        raise CoalitionError("A free-item reward names its item.", fields={"item_name": ["Required."]})
    if reward.kind != VoucherKind.FREE_ITEM and (reward.value or 0) <= 0:
        raise CoalitionError("The voucher's value must be greater than zero.", fields={"value": ["Must be > 0."]})
    if reward.kind == VoucherKind.PERCENT and reward.value > 100:
        raise CoalitionError("At most 100 percent.", fields={"value": ["At most 100."]})
    _full_clean(reward, ErrorCode.REWARD_INVALID)


@transaction.atomic
def reward_create(*, actor: Actor, values: dict) -> Reward:
    """A new entry of the rewards catalog (``values``: keys of REWARD_FIELDS)."""
    unknown = set(values) - set(REWARD_FIELDS)
    if unknown:
        raise CoalitionError(f"Unknown reward fields: {', '.join(sorted(unknown))}.")
    if values.get("partner_id") is not None:
        get_or_not_found(Partner, values["partner_id"], "Partner not found.")
    reward = Reward(**values)
    _reward_check(reward)
    reward.save()
    audit(actor=actor, action=AuditAction.REWARD_CREATE, resource_type="loyalty_reward", resource_id=reward.pk,
          changes=changes_between({}, {k: str(v) for k, v in _values(reward, REWARD_FIELDS).items()}))
    return reward


@transaction.atomic
def reward_update(*, reward_id, actor: Actor, values: dict) -> Reward:
    """Change a reward (vouchers already issued keep their own terms)."""
    reward = get_or_not_found(Reward, reward_id, "Reward not found.", lock=True)
    unknown = set(values) - set(REWARD_FIELDS)
    if unknown:
        raise CoalitionError(f"Unknown reward fields: {', '.join(sorted(unknown))}.")
    before = {key: str(getattr(reward, key)) for key in values}
    for key, value in values.items():
        setattr(reward, key, value)
    _reward_check(reward)
    reward.save()
    audit(actor=actor, action=AuditAction.REWARD_UPDATE, resource_type="loyalty_reward", resource_id=reward.pk,
          changes=changes_between(before, {key: str(getattr(reward, key)) for key in values}))
    return reward


# --- vouchers -------------------------------------------------------------------------------------

def voucher_code_new() -> str:
    """A fresh random code (uniqueness is the table's constraint; a clash is retried by the caller)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _voucher_create(**fields) -> Voucher:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(code=voucher_code_new(), **fields)
        except IntegrityError:  # a code clash: about one in 10^17 per pair; try another
            continue
    raise RuntimeError("Could not find a free voucher code.")  # pragma: no cover


def idempotency_principal(actor: Actor) -> str:
    """Whose idempotency keys these are: an API key's are not a user's."""
    if actor.api_key_id is not None:
        return f"api_key:{actor.api_key_id}"
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    return f"system:{actor.label}"[:64]


def idempotency_key_clean(raw) -> str:
    """The key as sent ("" when absent); 400 ``idempotency_key_invalid`` when unusable."""
    if raw is None:
        return ""
    key = str(raw).strip()
    if not KEY_PATTERN.match(key):
        raise CoalitionError("The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
                             code=ErrorCode.IDEMPOTENCY_KEY_INVALID, fields={"Idempotency-Key": ["Invalid."]})
    return key


def reward_redeem(*, reward_id, customer_id, actor: Actor, idempotency_key: str | None = None,
                  partner_id: int | None = None) -> tuple[RewardRedemption, bool]:
    """Spend the reward's points of the customer and issue its voucher, atomically; returns the
    redemption and whether it is the replay of an earlier request with the same key. Errors: 404
    (customer, or a reward the caller cannot see), 409 ``insufficient_points``,
    ``reward_unavailable`` (inactive, or its partner is not active), ``reward_limit_reached``,
    ``idempotency_key_reused``; 400 ``idempotency_key_invalid``."""
    key = idempotency_key_clean(idempotency_key)
    principal = idempotency_principal(actor)
    try:
        return _reward_redeem(reward_id=reward_id, customer_id=customer_id, actor=actor, key=key,
                              principal=principal, partner_id=partner_id)
    except IntegrityError:
        # The same key was used concurrently for another customer (the customer lock did not
        # serialize them): the first one won; answer as a replay or a reuse.
        if not key:
            raise
        previous = RewardRedemption.objects.filter(principal=principal, idempotency_key=key).first()
        if previous is None:
            raise
        return _replay(previous, reward_id=reward_id, customer_id=customer_id)


def _request_hash(reward_id, customer_id) -> str:
    return hashlib.sha256(json.dumps({"reward": str(reward_id), "customer": str(customer_id)}).encode()).hexdigest()


def _replay(previous: RewardRedemption, *, reward_id, customer_id) -> tuple[RewardRedemption, bool]:
    if previous.request_hash != _request_hash(reward_id, customer_id):
        raise Conflict("This Idempotency-Key was used for another redemption; use a new key.",
                       code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return previous, True


@transaction.atomic
def _reward_redeem(*, reward_id, customer_id, actor: Actor, key: str, principal: str,
                   partner_id: int | None) -> tuple[RewardRedemption, bool]:
    rewards = Reward.objects.select_related("partner")
    if partner_id is not None:
        rewards = rewards.filter(partner_id=partner_id)
    reward = get_or_not_found(rewards, reward_id, "Reward not found.")
    customer = customer_current(customer_id, lock=True)  # one redemption of this customer at a time
    if key:
        previous = RewardRedemption.objects.filter(principal=principal, idempotency_key=key).first()
        if previous is not None:
            return _replay(previous, reward_id=reward.pk, customer_id=customer.pk)
    if not reward.is_active or (reward.partner is not None and reward.partner.status != Partner.Status.ACTIVE):
        raise Conflict("This reward is not available.", code=ErrorCode.REWARD_UNAVAILABLE)
    if reward.per_customer_limit and RewardRedemption.objects.filter(
            customer=customer, reward=reward).count() >= reward.per_customer_limit:
        raise Conflict(f"This reward can be redeemed {reward.per_customer_limit} time(s) per customer.",
                       code=ErrorCode.REWARD_LIMIT_REACHED)
    entry = loyalty_points_redeem(customer_id=customer.pk, points=reward.points_cost, actor=actor,
                                  description=f"Reward: {reward.name}"[:255], reference=f"reward:{reward.pk}")
    now = timezone.now()
    voucher = _voucher_create(customer=customer, partner=reward.partner, kind=reward.kind, value=reward.value,
                              item_name=reward.item_name, min_spend=reward.min_spend, valid_from=now,
                              valid_until=now + datetime.timedelta(days=reward.validity_days),
                              origin=Voucher.Origin.REWARD, reward=reward)
    redemption = RewardRedemption.objects.create(
        customer=customer, reward=reward, partner=reward.partner, points=reward.points_cost, ledger_entry=entry,
        voucher=voucher, principal=principal, idempotency_key=key,
        request_hash=_request_hash(reward.pk, customer.pk), created_by=actor.label[:255])
    audit(actor=actor, action=AuditAction.REWARD_REDEEM, resource_type="loyalty_reward", resource_id=reward.pk,
          changes={"customer_id": customer.pk, "points": -reward.points_cost, "voucher_id": voucher.pk,
                   "redemption_id": redemption.pk})
    return redemption, False


@transaction.atomic
def voucher_void(*, voucher_id, actor: Actor, reason: str, partner_id: int | None = None) -> Voucher:
    """Void an issued voucher (it can no longer be used); 409 ``voucher_invalid`` otherwise. The
    points are not given back (staff may adjust them, with a reason)."""
    vouchers = Voucher.objects.all() if partner_id is None else Voucher.objects.filter(partner_id=partner_id)
    voucher = get_or_not_found(vouchers, voucher_id, "Voucher not found.", lock=True)
    reason = (reason or "").strip()
    if not reason:
        raise CoalitionError("A reason is required.", code=ErrorCode.REASON_REQUIRED, fields={"reason": ["Required."]})
    if voucher.status != Voucher.Status.ISSUED:
        raise Conflict(f"This voucher is {voucher.status}.", code=ErrorCode.VOUCHER_INVALID)
    voucher.status = Voucher.Status.VOID
    voucher.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action=AuditAction.VOUCHER_VOID, resource_type="loyalty_voucher", resource_id=voucher.pk,
          changes={"customer_id": voucher.customer_id, "status": ["issued", "void"], "reason": reason})
    return voucher


def vouchers_expire(*, now: datetime.datetime | None = None) -> int:
    """Issued vouchers past ``valid_until`` become expired (one set-based update); returns how many.
    Safe at any time: a use locks its voucher and refuses one past its validity either way."""
    now = now or timezone.now()
    return Voucher.objects.filter(status=Voucher.Status.ISSUED, valid_until__lte=now).update(
        status=Voucher.Status.EXPIRED, updated_at=now)


@transaction.atomic
def voucher_use(*, code: str, amount: Decimal, partner_id: int | None, actor: Actor,
                reference: str = "") -> Voucher:
    """Use a voucher at a partner for a purchase of ``amount``, once. A second use with the same
    ``reference`` (a retried request) returns the voucher as it is; any other is refused with the
    reason (409 ``voucher_invalid``, ``fields.code``)."""
    partner = Partner.objects.filter(pk=partner_id).first() if partner_id is not None else None
    voucher = Voucher.objects.select_for_update().filter(code=voucher_code_normalize(code)).first()
    if (voucher is not None and voucher.status == Voucher.Status.REDEEMED and reference
            and voucher.redeemed_reference == reference):
        return voucher
    reason = voucher_refusal(voucher, amount=amount, partner=partner, now=timezone.now())
    if reason == "not_found":
        raise NotFound("No voucher has this code.", fields={"code": ["not_found"]})
    if reason:
        raise Conflict(f"This voucher cannot be used: {reason.replace('_', ' ')}.", code=ErrorCode.VOUCHER_INVALID,
                       fields={"code": [reason]})
    voucher.status = Voucher.Status.REDEEMED
    voucher.redeemed_at = timezone.now()
    voucher.redeemed_partner = partner
    voucher.redeemed_amount = amount
    voucher.redeemed_reference = reference[:255]
    voucher.save()
    audit(actor=actor, action=AuditAction.VOUCHER_USE, resource_type="loyalty_voucher", resource_id=voucher.pk,
          changes={"customer_id": voucher.customer_id, "amount": str(amount),
                   "partner": partner.slug if partner else None, "reference": reference})
    return voucher

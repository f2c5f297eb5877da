"""Referrals (seed ``referral_codes``): a member's code, and the reward when a new customer's first
counted order carries it.

- ``referral_code`` is read from the order's canonical record (what the ingest keeps in
  ``Order.raw`` for records sent without a ``raw`` of their own).
- Only the referred customer's first counted order counts, and a customer is referred once (the
  ``referred`` column is unique).
- Self-referral (the two share an e-mail, a phone, a document or a street address) and referrals
  over the referrer's cap in 30 days are held for review, not rewarded; staff approve (both get
  their points then) or reject them.
- Rewards are bonus points (``referral_referrer_points``, ``referral_referred_points`` of the
  program), each a ledger entry referenced ``referral:<id>``.
"""

from __future__ import annotations

import datetime
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import Conflict
from cdp.ids import get_or_not_found
from customers.models import Address, Customer, Order
from customers.selectors import counted_statuses
from customers.services.common import audit, customer_current
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import Referral, ReferralCode
from loyalty.selectors import loyalty_program_get, voucher_code_normalize
from loyalty.services.coalition import CODE_ALPHABET
from loyalty.services.points import loyalty_points_bonus

REFERRAL_CODE_LENGTH = 8
CAP_WINDOW = datetime.timedelta(days=30)
SYSTEM = Actor.system("loyalty-referrals")


def referral_code_issue(*, customer_id, actor: Actor) -> tuple[ReferralCode, bool]:
    """The customer's referral code, issued on first request; returns it and whether it is new."""
    customer = customer_current(customer_id)
    for _ in range(5):
        existing = ReferralCode.objects.filter(customer=customer).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                code = ReferralCode.objects.create(
                    customer=customer, code="".join(secrets.choice(CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH)))
                audit(actor=actor, action=AuditAction.REFERRAL_CODE_ISSUE, resource_type="loyalty_referral_code",
                      resource_id=code.pk, changes={"customer_id": customer.pk})
            return code, True
        except IntegrityError:  # a concurrent issue for this customer, or a code clash: look again
            continue
    raise Conflict("Could not issue a referral code; try again.")  # pragma: no cover


def _addresses(customer_id: int) -> set[tuple]:
    return {tuple(row) for row in Address.objects.filter(customer_id=customer_id).exclude(line1="")
            .annotate(street=Lower("line1")).values_list("street", "number", "postal_code", "country")}


def referral_same_person(referrer: Customer, referred: Customer) -> bool:
    """Whether the two records look like one person: the same e-mail, phone, document or address."""
    if referrer.pk == referred.pk:
        return True
    if referrer.email and referrer.email == referred.email:
        return True
    if referrer.phone and referrer.phone == referred.phone:
        return True
    if referrer.document_number and referrer.document_number == referred.document_number:
        return True
    return bool(_addresses(referrer.pk) & _addresses(referred.pk))


def _reward(referral: Referral) -> None:
    program = loyalty_program_get()
    if program.referral_referrer_points:
        referral.referrer_entry = loyalty_points_bonus(
            customer_id=referral.referrer_id, points=program.referral_referrer_points, actor=SYSTEM,
            reason=f"Referral of customer {referral.referred_id}", reference=f"referral:{referral.pk}")
    if program.referral_referred_points:
        referral.referred_entry = loyalty_points_bonus(
            customer_id=referral.referred_id, points=program.referral_referred_points, actor=SYSTEM,
            reason="Welcome: referred by a member", reference=f"referral:{referral.pk}")


def _first_counted(order: Order, counted: tuple[str, ...]) -> bool:
    earlier = Q(order_date__lt=order.order_date) | Q(order_date=order.order_date, pk__lt=order.pk)
    return not Order.objects.filter(customer_id=order.customer_id, status__in=counted).filter(earlier).exists()


@transaction.atomic
def _referral_record(order: Order, code: str, *, counted: tuple[str, ...], now) -> Referral | None:
    referred = Customer.objects.select_for_update().get(pk=order.customer_id)
    if Referral.objects.filter(referred=referred).exists() or not _first_counted(order, counted):
        return None
    owner = ReferralCode.objects.filter(code=voucher_code_normalize(code)).values_list("customer_id", flat=True)
    referrer = Customer.objects.filter(pk__in=owner).first()
    while referrer is not None and referrer.merged_into_id:  # the person is the survivor now
        referrer = Customer.objects.get(pk=referrer.merged_into_id)
    if referrer is None:
        return None
    # The cap counts under the referrer's lock: two referrals of one member are decided in turn.
    Customer.objects.select_for_update().filter(pk=referrer.pk).exists()
    cap = loyalty_program_get().referral_monthly_cap
    reason = ""
    if referral_same_person(referrer, referred):
        reason = "self_referral"
    elif Referral.objects.filter(referrer=referrer, status=Referral.Status.REWARDED,
                                 created_at__gte=now - CAP_WINDOW).count() >= cap:
        reason = "monthly_cap"
    referral = Referral.objects.create(referrer=referrer, referred=referred, code=voucher_code_normalize(code),
                                       order=order, reason=reason,
                                       status=Referral.Status.REVIEW if reason else Referral.Status.REWARDED)
    if not reason:
        _reward(referral)
        referral.save(update_fields=["referrer_entry", "referred_entry", "updated_at"])
    return referral


def referrals_orders_process(*, order_ids, now: datetime.datetime | None = None) -> int:
    """Record the referrals that the given orders carry (see the module docstring); idempotent.
    Returns how many referrals were recorded."""
    now = now or timezone.now()
    counted = counted_statuses()
    recorded = 0
    for order in Order.objects.filter(pk__in=list(order_ids), status__in=counted).order_by("pk"):
        code = order.raw.get("referral_code") if isinstance(order.raw, dict) else None
        if not isinstance(code, str) or not code.strip():
            continue
        try:
            recorded += _referral_record(order, code, counted=counted, now=now) is not None
        except IntegrityError:  # the same customer's referral recorded concurrently
            continue
    return recorded


@transaction.atomic
def referral_review(*, referral_id, approve: bool, actor: Actor) -> Referral:
    """Decide a referral held for review: approved, both get their points; rejected, nobody does.
    409 ``referral_not_in_review`` for one already decided."""
    referral = get_or_not_found(Referral, referral_id, "Referral not found.", lock=True)
    if referral.status != Referral.Status.REVIEW:
        raise Conflict(f"This referral is {referral.status}.", code=ErrorCode.REFERRAL_NOT_IN_REVIEW)
    if approve:
        _reward(referral)
    referral.status = Referral.Status.REWARDED if approve else Referral.Status.REJECTED
    referral.reviewed_by = actor.label[:255]
    referral.reviewed_at = timezone.now()
    referral.save()
    audit(actor=actor, action=AuditAction.REFERRAL_REVIEW, resource_type="loyalty_referral", resource_id=referral.pk,
          changes={"status": ["review", referral.status], "reason": referral.reason,
                   "referrer_id": referral.referrer_id, "referred_id": referral.referred_id})
    return referral

"""B2B credit writes: requests, staff approval, suspension and reinstatement, usage against
orders, payments, and the overdue flag.

Promises kept by every function here:
- Every write locks the account row first (``select_for_update``), so concurrent usages cannot
  together pass the limit.
- ``credit_used`` equals the sum of the open amounts (``amount - amount_paid``) of the account's
  unpaid usages, and 0 ≤ credit_used ≤ credit_limit (also enforced by check constraints).
- Usage needs an approved account and fits the available credit exactly (409 otherwise); an
  order is used at most once. Payments free credit and never exceed what is owed.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound
from customers.models import CreditAccount, CreditPayment, CreditUsage, Customer, Order

Status = CreditAccount.Status
UsageStatus = CreditUsage.Status
CENT = Decimal("0.01")
UNPAID = (UsageStatus.OPEN, UsageStatus.OVERDUE)


class CreditError(ApplicationError):
    code = "invalid_credit_operation"


class CreditConflict(Conflict):
    code = "credit_conflict"


def _tenant():
    tenant = getattr(connection, "tenant", None)
    return tenant if tenant is not None and getattr(tenant, "schema_name", "public") != "public" else None


def _audit(*, actor: Actor, action: str, account: CreditAccount, changes: dict) -> None:
    from tenants.services import audit_record

    audit_record(actor=actor, action=action, resource_type="credit_account", resource_id=account.pk,
                 tenant=_tenant(), changes={"customer_id": account.customer_id, **changes})


def _money(value, *, field: str, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value))
    except Exception:
        raise CreditError("Not a valid amount.", fields={field: ["Not a valid amount."]}) from None
    if not amount.is_finite() or amount != amount.quantize(CENT) or amount < 0 or (amount == 0 and not allow_zero):
        raise CreditError(f"`{field}` must be a positive amount with at most two decimals.",
                          fields={field: ["Must be a positive amount with at most two decimals."]})
    if amount >= Decimal("1e13"):
        raise CreditError("Amount too large.", fields={field: ["Too large."]})
    return amount


def _note(note: str, *, field: str = "note") -> str:
    note = (note or "").strip()
    if not note:
        raise CreditError("A note is required.", code="note_required", fields={field: ["Required."]})
    return note


def _locked(account_id) -> CreditAccount:
    account = (CreditAccount.objects.select_for_update().filter(pk=account_id).first()
               if str(account_id).isdigit() else None)
    if account is None:
        raise NotFound("Credit account not found.")
    return account


@transaction.atomic
def credit_account_request(*, customer_id: int, requested_limit, actor: Actor, payment_term_days: int = 30,
                           currency: str = "", note: str = "") -> CreditAccount:
    """Open a credit request for a customer (one account per customer). A rejected request may
    be made again; any other existing account is a 409 ``credit_account_exists``."""
    customer = Customer.objects.filter(pk=customer_id).first() if str(customer_id).isdigit() else None
    if customer is None:
        raise NotFound("Customer not found.")
    if customer.status == Customer.Status.MERGED:
        raise Conflict(f"This customer was merged into customer {customer.merged_into_id}.", code="customer_merged")
    requested = _money(requested_limit, field="requested_limit")
    if not 1 <= int(payment_term_days) <= 365:
        raise CreditError("The payment term is 1 to 365 days.", fields={"payment_term_days": ["1 to 365."]})
    tenant = _tenant()
    currency = (currency or (tenant.setting("currency") if tenant is not None else "") or "").upper()[:3]
    account = CreditAccount.objects.select_for_update().filter(customer=customer).first()
    if account is not None and account.status != Status.REJECTED:
        raise CreditConflict("This customer already has a credit account.", code="credit_account_exists")
    if account is None:
        try:
            with transaction.atomic():
                account = CreditAccount.objects.create(customer=customer, status=Status.REQUESTED,
                                                       requested_limit=requested, currency=currency,
                                                       payment_term_days=payment_term_days, approval_note=note)
        except IntegrityError:
            raise CreditConflict("This customer already has a credit account.",
                                 code="credit_account_exists") from None
    else:
        account.status = Status.REQUESTED
        account.requested_limit = requested
        account.payment_term_days = payment_term_days
        account.approval_note = note
        account.save(update_fields=["status", "requested_limit", "payment_term_days", "approval_note", "updated_at"])
    _audit(actor=actor, action="credit.request", account=account,
           changes={"requested_limit": str(requested), "payment_term_days": payment_term_days})
    return account


@transaction.atomic
def credit_account_approve(*, account_id: int, credit_limit, note: str, actor: Actor,
                           payment_term_days: int | None = None) -> CreditAccount:
    """Staff approve a requested account with a limit and a note, or change an approved one's
    limit. The limit may not drop below what is in use (409 ``credit_limit_below_used``).
    A suspended account is reinstated, not approved (409 ``credit_account_suspended``)."""
    note = _note(note)
    account = _locked(account_id)
    limit = _money(credit_limit, field="credit_limit", allow_zero=True)
    if account.status == Status.SUSPENDED:
        raise CreditConflict("The account is suspended; reinstate it.", code="credit_account_suspended")
    if limit < account.credit_used:
        raise CreditConflict(f"The limit cannot be below the credit in use ({account.credit_used}).",
                             code="credit_limit_below_used",
                             fields={"credit_limit": [f"At least {account.credit_used}."]})
    if payment_term_days is not None:
        if not 1 <= int(payment_term_days) <= 365:
            raise CreditError("The payment term is 1 to 365 days.", fields={"payment_term_days": ["1 to 365."]})
        account.payment_term_days = payment_term_days
    before = {"status": account.status, "credit_limit": str(account.credit_limit)}
    account.status = Status.APPROVED
    account.credit_limit = limit
    account.approval_note = note
    account.approved_at = timezone.now()
    account.approved_by = actor.label[:255]
    account.save(update_fields=["status", "credit_limit", "approval_note", "approved_at", "approved_by",
                                "payment_term_days", "updated_at"])
    _audit(actor=actor, action="credit.approve", account=account,
           changes={"before": before, "status": account.status, "credit_limit": str(limit), "note": note})
    return account


@transaction.atomic
def credit_account_reject(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff turn down a request (only requested accounts)."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != Status.REQUESTED:
        raise CreditConflict("Only a requested account can be rejected.", code="credit_account_not_requested")
    account.status = Status.REJECTED
    account.approval_note = note
    account.save(update_fields=["status", "approval_note", "updated_at"])
    _audit(actor=actor, action="credit.reject", account=account, changes={"note": note})
    return account


@transaction.atomic
def credit_account_suspend(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff stop new usage on an approved account (payments are still accepted)."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != Status.APPROVED:
        raise CreditConflict(f"Only an approved account can be suspended (this one is {account.status}).",
                             code="credit_account_not_approved")
    account.status = Status.SUSPENDED
    account.suspended_at = timezone.now()
    account.suspension_reason = note
    account.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    _audit(actor=actor, action="credit.suspend", account=account, changes={"note": note})
    return account


@transaction.atomic
def credit_account_reinstate(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff lift a suspension; the limit and the usages are as they were."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != Status.SUSPENDED:
        raise CreditConflict("Only a suspended account can be reinstated.", code="credit_account_not_suspended")
    account.status = Status.APPROVED
    account.suspended_at = None
    account.approval_note = note
    account.save(update_fields=["status", "suspended_at", "approval_note", "updated_at"])
    _audit(actor=actor, action="credit.reinstate", account=account,
           changes={"note": note, "suspension_reason": account.suspension_reason})
    return account


@transaction.atomic
def credit_usage_record(*, account_id: int, order_id: int, actor: Actor, amount=None) -> CreditUsage:
    """Charge an order of the account's customer to its credit (``amount`` defaults to the order
    total), due ``payment_term_days`` from today. 409 when the account is not approved
    (``credit_account_not_approved``) or suspended (``credit_account_suspended``), when the amount
    exceeds the available credit (``credit_limit_exceeded``; exactly the available is fine) and
    when the order was already charged (``credit_usage_exists``)."""
    account = _locked(account_id)
    order = Order.objects.filter(pk=order_id).first() if str(order_id).isdigit() else None
    if order is None or order.customer_id != account.customer_id:
        raise CreditError("The order is not one of this customer's orders.", code="order_not_found",
                          fields={"order_id": ["Not an order of this customer."]})
    if order.status in Order.VOID_STATUSES:
        raise CreditError(f"A {order.status} order cannot be charged.", code="order_not_chargeable",
                          fields={"order_id": [f"The order is {order.status}."]})
    if account.currency and order.currency and account.currency != order.currency:
        raise CreditError(f"The order is in {order.currency}, the account in {account.currency}.",
                          code="currency_mismatch", fields={"order_id": ["Currency differs from the account's."]})
    amount = _money(order.total_amount if amount is None else amount, field="amount")
    if account.status == Status.SUSPENDED:
        raise CreditConflict("The credit account is suspended.", code="credit_account_suspended")
    if account.status != Status.APPROVED:
        raise CreditConflict(f"The credit account is not approved (it is {account.status}).",
                             code="credit_account_not_approved")
    if CreditUsage.objects.filter(order=order).exists():
        raise CreditConflict("This order is already charged to credit.", code="credit_usage_exists")
    available = account.credit_limit - account.credit_used
    if amount > available:
        raise CreditConflict(f"The amount {amount} exceeds the available credit {available}.",
                             code="credit_limit_exceeded", fields={"amount": [f"At most {available}."]})
    due_date = timezone.localdate() + datetime.timedelta(days=account.payment_term_days)
    usage = CreditUsage.objects.create(account=account, order=order, amount=amount, due_date=due_date,
                                       created_by=actor.label[:255])
    CreditAccount.objects.filter(pk=account.pk).update(credit_used=F("credit_used") + amount,
                                                       updated_at=timezone.now())
    account.refresh_from_db(fields=["credit_used", "updated_at"])
    _audit(actor=actor, action="credit.usage", account=account,
           changes={"usage_id": usage.pk, "order_id": order.pk, "amount": str(amount),
                    "credit_used": str(account.credit_used)})
    return usage


@transaction.atomic
def credit_payment_record(*, account_id: int, amount, actor: Actor, usage_id: int | None = None,
                          reference: str = "", paid_at: datetime.datetime | None = None,
                          note: str = "") -> list[CreditPayment]:
    """Record a payment that frees credit. With ``usage_id`` it pays that usage; otherwise it pays
    the unpaid usages oldest due first, one payment row per usage paid (same reference). Partial
    payments leave the usage open (or overdue); a full one marks it paid. Paying more than is
    owed is refused (400 ``credit_overpayment``) and writes nothing."""
    account = _locked(account_id)
    amount = _money(amount, field="amount")
    paid_at = paid_at or timezone.now()
    usages = CreditUsage.objects.select_for_update().filter(account=account, status__in=UNPAID)
    if usage_id is not None:
        usages = usages.filter(pk=usage_id)
        if not usages.exists():
            raise CreditError("No unpaid usage with that id on this account.", code="usage_not_found",
                              fields={"usage_id": ["Not an unpaid usage of this account."]})
    usages = list(usages.order_by("due_date", "id"))
    owed = sum((u.amount - u.amount_paid for u in usages), Decimal(0))
    if amount > owed:
        raise CreditError(f"The payment {amount} exceeds what is owed ({owed}).", code="credit_overpayment",
                          fields={"amount": [f"At most {owed}."]})
    left, payments = amount, []
    for usage in usages:
        if left <= 0:
            break
        part = min(usage.amount - usage.amount_paid, left)
        left -= part
        usage.amount_paid += part
        if usage.amount_paid == usage.amount:
            usage.status = UsageStatus.PAID
            usage.paid_at = paid_at
        usage.save(update_fields=["amount_paid", "status", "paid_at"])
        payments.append(CreditPayment.objects.create(account=account, usage=usage, amount=part, paid_at=paid_at,
                                                     reference=reference[:255], note=note,
                                                     created_by=actor.label[:255]))
    CreditAccount.objects.filter(pk=account.pk).update(credit_used=F("credit_used") - amount,
                                                       updated_at=timezone.now())
    account.refresh_from_db(fields=["credit_used", "updated_at"])
    _audit(actor=actor, action="credit.payment", account=account,
           changes={"amount": str(amount), "reference": reference, "payments": [p.pk for p in payments],
                    "credit_used": str(account.credit_used)})
    return payments


def credit_overdue_flag(*, today: datetime.date | None = None) -> int:
    """Mark open usages whose due date has passed as ``overdue`` (they stay owed and keep using
    credit until paid); returns how many were flagged. Idempotent."""
    today = today or timezone.localdate()
    return CreditUsage.objects.filter(status=UsageStatus.OPEN, due_date__lt=today).update(status=UsageStatus.OVERDUE)

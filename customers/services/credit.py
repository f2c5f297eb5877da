"""B2B credit writes: requests, staff approval, suspension and reinstatement, usage against
orders, payments, and the overdue flag.

Promises kept by every function here:
- Every write locks the account row first (``select_for_update``), so concurrent usages cannot
  together pass the limit.
- ``credit_used`` equals the sum of the open amounts (``amount - amount_paid``) of the account's
  unpaid usages, and 0 ≤ credit_used ≤ credit_limit (also enforced by check constraints).
- Usage needs an approved account and fits the available credit exactly (409 otherwise); an
  order is used at most once. Payments free credit and never exceed what is owed.
- A merge of two customers moves the merged one's account to a survivor without one
  (``credit_accounts_merge``); its undo moves it back (``credit_accounts_merge_undo``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found, parse_id
from customers.codes import AuditAction, ErrorCode
from customers.models import CreditAccount, CreditPayment, CreditUsage, Order
from customers.selectors.tenant import tenant_setting
from customers.services.common import audit, customer_current
from tenants.services import changes_between

AccountStatus = CreditAccount.Status
UsageStatus = CreditUsage.Status
CENT = Decimal("0.01")
UNPAID = (UsageStatus.OPEN, UsageStatus.OVERDUE)


class CreditError(ApplicationError):
    code = ErrorCode.CREDIT_OPERATION_INVALID


class CreditConflict(Conflict):
    code = ErrorCode.CREDIT_CONFLICT


def _audit(*, actor: Actor, action: str, account: CreditAccount, changes: dict) -> None:
    audit(actor=actor, action=action, resource_type="credit_account", resource_id=account.pk,
          changes={"customer_id": account.customer_id, **changes})


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
        raise CreditError("A note is required.", code=ErrorCode.NOTE_REQUIRED, fields={field: ["Required."]})
    return note


def _locked(account_id) -> CreditAccount:
    return get_or_not_found(CreditAccount, account_id, "Credit account not found.", lock=True)


@transaction.atomic
def credit_account_request(*, customer_id: int, requested_limit, actor: Actor, payment_term_days: int = 30,
                           currency: str = "", note: str = "") -> CreditAccount:
    """Open a credit request for a customer (one account per customer). A rejected request may
    be made again; any other existing account is a 409 ``credit_account_exists``."""
    customer = customer_current(customer_id)
    requested = _money(requested_limit, field="requested_limit")
    if not 1 <= int(payment_term_days) <= 365:
        raise CreditError("The payment term is 1 to 365 days.", fields={"payment_term_days": ["1 to 365."]})
    currency = (currency or tenant_setting("currency") or "").upper()[:3]
    account = CreditAccount.objects.select_for_update().filter(customer=customer).first()
    if account is not None and account.status != AccountStatus.REJECTED:
        raise CreditConflict("This customer already has a credit account.", code=ErrorCode.CREDIT_ACCOUNT_EXISTS)
    if account is None:
        try:
            with transaction.atomic():
                account = CreditAccount.objects.create(customer=customer, status=AccountStatus.REQUESTED,
                                                       requested_limit=requested, currency=currency,
                                                       payment_term_days=payment_term_days, approval_note=note)
        except IntegrityError:
            raise CreditConflict("This customer already has a credit account.",
                                 code=ErrorCode.CREDIT_ACCOUNT_EXISTS) from None
    else:
        account.status = AccountStatus.REQUESTED
        account.requested_limit = requested
        account.payment_term_days = payment_term_days
        account.approval_note = note
        account.save(update_fields=["status", "requested_limit", "payment_term_days", "approval_note", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_REQUEST, account=account,
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
    if account.status == AccountStatus.SUSPENDED:
        raise CreditConflict("The account is suspended; reinstate it.", code=ErrorCode.CREDIT_ACCOUNT_SUSPENDED)
    if limit < account.credit_used:
        raise CreditConflict(f"The limit cannot be below the credit in use ({account.credit_used}).",
                             code=ErrorCode.CREDIT_LIMIT_BELOW_USED,
                             fields={"credit_limit": [f"At least {account.credit_used}."]})
    if payment_term_days is not None:
        if not 1 <= int(payment_term_days) <= 365:
            raise CreditError("The payment term is 1 to 365 days.", fields={"payment_term_days": ["1 to 365."]})
        account.payment_term_days = payment_term_days
    before = _approval_values(account)
    account.status = AccountStatus.APPROVED
    account.credit_limit = limit
    account.approval_note = note
    account.approved_at = timezone.now()
    account.approved_by = actor.label[:255]
    account.save(update_fields=["status", "credit_limit", "approval_note", "approved_at", "approved_by",
                                "payment_term_days", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_APPROVE, account=account,
           changes=changes_between(before, _approval_values(account)))
    return account


def _approval_values(account: CreditAccount) -> dict:
    return {"status": account.status, "credit_limit": str(account.credit_limit), "approval_note": account.approval_note,
            "payment_term_days": account.payment_term_days}


@transaction.atomic
def credit_account_reject(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff turn down a request (only requested accounts)."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != AccountStatus.REQUESTED:
        raise CreditConflict("Only a requested account can be rejected.", code=ErrorCode.CREDIT_ACCOUNT_NOT_REQUESTED)
    account.status = AccountStatus.REJECTED
    account.approval_note = note
    account.save(update_fields=["status", "approval_note", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_REJECT, account=account, changes={"note": note})
    return account


@transaction.atomic
def credit_account_suspend(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff stop new usage on an approved account (payments are still accepted)."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != AccountStatus.APPROVED:
        raise CreditConflict(f"Only an approved account can be suspended (this one is {account.status}).",
                             code=ErrorCode.CREDIT_ACCOUNT_NOT_APPROVED)
    account.status = AccountStatus.SUSPENDED
    account.suspended_at = timezone.now()
    account.suspension_reason = note
    account.save(update_fields=["status", "suspended_at", "suspension_reason", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_SUSPEND, account=account, changes={"note": note})
    return account


@transaction.atomic
def credit_account_reinstate(*, account_id: int, note: str, actor: Actor) -> CreditAccount:
    """Staff lift a suspension; the limit and the usages are as they were."""
    note = _note(note)
    account = _locked(account_id)
    if account.status != AccountStatus.SUSPENDED:
        raise CreditConflict("Only a suspended account can be reinstated.", code=ErrorCode.CREDIT_ACCOUNT_NOT_SUSPENDED)
    account.status = AccountStatus.APPROVED
    account.suspended_at = None
    account.approval_note = note
    account.save(update_fields=["status", "suspended_at", "approval_note", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_REINSTATE, account=account,
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
    order_pk = parse_id(order_id)
    order = Order.objects.filter(pk=order_pk).first() if order_pk is not None else None
    if order is None or order.customer_id != account.customer_id:
        raise CreditError("The order is not one of this customer's orders.", code=ErrorCode.ORDER_NOT_FOUND,
                          fields={"order_id": ["Not an order of this customer."]})
    if order.status in Order.VOID_STATUSES:
        raise CreditError(f"A {order.status} order cannot be charged.", code=ErrorCode.ORDER_NOT_CHARGEABLE,
                          fields={"order_id": [f"The order is {order.status}."]})
    if account.currency and order.currency and account.currency != order.currency:
        raise CreditError(f"The order is in {order.currency}, the account in {account.currency}.",
                          code=ErrorCode.CURRENCY_MISMATCH, fields={"order_id": ["Currency differs from the account's."]})
    amount = _money(order.total_amount if amount is None else amount, field="amount")
    if account.status == AccountStatus.SUSPENDED:
        raise CreditConflict("The credit account is suspended.", code=ErrorCode.CREDIT_ACCOUNT_SUSPENDED)
    if account.status != AccountStatus.APPROVED:
        raise CreditConflict(f"The credit account is not approved (it is {account.status}).",
                             code=ErrorCode.CREDIT_ACCOUNT_NOT_APPROVED)
    if CreditUsage.objects.filter(order=order).exists():
        raise CreditConflict("This order is already charged to credit.", code=ErrorCode.CREDIT_USAGE_EXISTS)
    available = account.credit_limit - account.credit_used
    if amount > available:
        raise CreditConflict(f"The amount {amount} exceeds the available credit {available}.",
                             code=ErrorCode.CREDIT_LIMIT_EXCEEDED, fields={"amount": [f"At most {available}."]})
    due_date = timezone.localdate() + datetime.timedelta(days=account.payment_term_days)
    usage = CreditUsage.objects.create(account=account, order=order, amount=amount, due_date=due_date,
                                       created_by=actor.label[:255])
    CreditAccount.objects.filter(pk=account.pk).update(credit_used=F("credit_used") + amount,
                                                       updated_at=timezone.now())
    account.refresh_from_db(fields=["credit_used", "updated_at"])
    _audit(actor=actor, action=AuditAction.CREDIT_USAGE, account=account,
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
            raise CreditError("No unpaid usage with that id on this account.", code=ErrorCode.USAGE_NOT_FOUND,
                              fields={"usage_id": ["Not an unpaid usage of this account."]})
    usages = list(usages.order_by("due_date", "id"))
    owed = sum((u.amount - u.amount_paid for u in usages), Decimal(0))
    if amount > owed:
        raise CreditError(f"The payment {amount} exceeds what is owed ({owed}).", code=ErrorCode.CREDIT_OVERPAYMENT,
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
    _audit(actor=actor, action=AuditAction.CREDIT_PAYMENT, account=account,
           changes={"amount": str(amount), "reference": reference, "payments": [p.pk for p in payments],
                    "credit_used": str(account.credit_used)})
    return payments


def credit_overdue_flag(*, today: datetime.date | None = None) -> int:
    """Mark open usages whose due date has passed as ``overdue`` (they stay owed and keep using
    credit until paid); returns how many were flagged. Idempotent."""
    today = today or timezone.localdate()
    return CreditUsage.objects.filter(status=UsageStatus.OPEN, due_date__lt=today).update(status=UsageStatus.OVERDUE)


# --- merges of two customers (called by customers.services.merge, inside its transaction) --------

def credit_accounts_merge(*, survivor_id: int, merged_id: int) -> dict | None:
    """The merged customer's credit account: moved to a survivor without one; kept where it is, as
    history, when both have one and it owes nothing. With outstanding usage the merge is refused
    (409 ``merge_credit_conflict``): limits are a staff decision per account, so staff settle or
    close one first rather than have us invent a combined limit. Returns what
    ``credit_accounts_merge_undo`` needs (None: the merged customer had no account)."""
    source = CreditAccount.objects.select_for_update().filter(customer_id=merged_id).first()
    if source is None:
        return None
    if not CreditAccount.objects.filter(customer_id=survivor_id).exists():
        CreditAccount.objects.filter(pk=source.pk).update(customer_id=survivor_id)
        return {"mode": "account", "account_id": source.pk}
    if source.credit_used > 0 or source.usages.filter(status__in=UNPAID).exists():
        raise Conflict("Both customers have credit accounts and the merged one has outstanding usage; "
                       "settle or close one of them first.", code=ErrorCode.MERGE_CREDIT_CONFLICT)
    return {"mode": "kept", "account_id": source.pk}


def credit_accounts_merge_undo(*, snapshot: dict | None, merged_id: int) -> None:
    """Give the merged customer back the account ``credit_accounts_merge`` moved, if it moved one."""
    if snapshot and snapshot["mode"] == "account":
        CreditAccount.objects.filter(pk=snapshot["account_id"]).update(customer_id=merged_id,
                                                                       updated_at=timezone.now())

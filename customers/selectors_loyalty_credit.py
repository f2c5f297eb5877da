"""Reads of loyalty and B2B credit for the API and the admin (writes are in
``customers.services.loyalty`` and ``customers.services.credit``)."""

from __future__ import annotations

from django.db.models import QuerySet

from cdp.exceptions import NotFound
from customers.models import (
    CreditAccount,
    CreditPayment,
    CreditUsage,
    Customer,
    LoyaltyAccount,
    LoyaltyTransaction,
)
from customers.selectors import customer_get


def loyalty_account_for_customer(*, customer_id) -> tuple[Customer, LoyaltyAccount]:
    """The customer's account; an unsaved zero account when it has none yet (reads never write)."""
    customer = customer_get(customer_id=customer_id)
    account = LoyaltyAccount.objects.filter(customer_id=customer.pk).first()
    return customer, account or LoyaltyAccount(customer=customer)


def loyalty_ledger(*, customer_id) -> QuerySet[LoyaltyTransaction]:
    """The customer's points ledger, newest first (empty when there is no account)."""
    customer = customer_get(customer_id=customer_id)
    return LoyaltyTransaction.objects.filter(account__customer_id=customer.pk).order_by("-created_at", "-id")


def credit_account_for_customer(*, customer_id) -> CreditAccount:
    customer = customer_get(customer_id=customer_id)
    account = CreditAccount.objects.select_related("customer").filter(customer_id=customer.pk).first()
    if account is None:
        raise NotFound("This customer has no credit account.")
    return account


def credit_account_list() -> QuerySet[CreditAccount]:
    return CreditAccount.objects.select_related("customer").order_by("-created_at", "-id")


def credit_account_get(*, account_id) -> CreditAccount:
    account = (CreditAccount.objects.select_related("customer").filter(pk=account_id).first()
               if str(account_id).isdigit() else None)
    if account is None:
        raise NotFound("Credit account not found.")
    return account


def credit_usages(*, account_id) -> QuerySet[CreditUsage]:
    account = credit_account_get(account_id=account_id)
    return CreditUsage.objects.filter(account_id=account.pk).order_by("due_date", "id")


def credit_payments(*, account_id) -> QuerySet[CreditPayment]:
    account = credit_account_get(account_id=account_id)
    return CreditPayment.objects.filter(account_id=account.pk).order_by("-paid_at", "-id")

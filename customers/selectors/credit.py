"""Reads of B2B credit for the API and the admin (writes are in ``customers.services.credit``)."""

from __future__ import annotations

from django.db.models import QuerySet

from cdp.exceptions import NotFound
from cdp.ids import get_or_not_found
from customers.models import CreditAccount, CreditPayment, CreditUsage
from customers.selectors.profile import customer_get


def credit_account_for_customer(*, customer_id) -> CreditAccount:
    customer = customer_get(customer_id=customer_id)
    account = CreditAccount.objects.select_related("customer").filter(customer_id=customer.pk).first()
    if account is None:
        raise NotFound("This customer has no credit account.")
    return account


def credit_account_list() -> QuerySet[CreditAccount]:
    return CreditAccount.objects.select_related("customer").order_by("-created_at", "-id")


def credit_account_get(*, account_id) -> CreditAccount:
    return get_or_not_found(CreditAccount.objects.select_related("customer"), account_id,
                            "Credit account not found.")


def credit_usages(*, account_id) -> QuerySet[CreditUsage]:
    account = credit_account_get(account_id=account_id)
    return CreditUsage.objects.filter(account_id=account.pk).order_by("due_date", "id")


def credit_payments(*, account_id) -> QuerySet[CreditPayment]:
    account = credit_account_get(account_id=account_id)
    return CreditPayment.objects.filter(account_id=account.pk).order_by("-paid_at", "-id")

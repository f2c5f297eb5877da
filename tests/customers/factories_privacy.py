"""Factories for loyalty and credit rows used by the privacy and merge tests (inside tenant_context)."""

from __future__ import annotations

import datetime
import decimal

import factory
from django.utils import timezone

from customers.models import CreditAccount, CreditPayment, CreditUsage, LoyaltyAccount, LoyaltyTransaction
from tests.customers.factories import CustomerFactory


class LoyaltyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyAccount

    customer = factory.SubFactory(CustomerFactory)


class LoyaltyTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyTransaction

    account = factory.SubFactory(LoyaltyAccountFactory)
    type = LoyaltyTransaction.Type.EARN
    points = 100
    remaining = factory.LazyAttribute(lambda o: max(0, o.points))
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=300))


def loyalty_with_points(customer, *earned: int, tier: str = "bronze") -> LoyaltyAccount:
    """An account whose counters agree with its ledger (balance = sum of points)."""
    account = LoyaltyAccountFactory(customer=customer, tier=tier)
    for points in earned:
        LoyaltyTransactionFactory(account=account, points=points, description="order earn")
    LoyaltyAccount.objects.filter(pk=account.pk).update(points_balance=sum(earned), lifetime_points=sum(earned),
                                                        rolling_points=sum(earned))
    account.refresh_from_db()
    return account


class CreditAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditAccount

    customer = factory.SubFactory(CustomerFactory)
    status = CreditAccount.Status.APPROVED
    credit_limit = decimal.Decimal("1000.00")
    currency = "ARS"


class CreditUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditUsage

    account = factory.SubFactory(CreditAccountFactory)
    amount = decimal.Decimal("200.00")
    due_date = factory.LazyFunction(lambda: timezone.now().date() + datetime.timedelta(days=30))


class CreditPaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditPayment

    account = factory.SubFactory(CreditAccountFactory)
    amount = decimal.Decimal("50.00")
    paid_at = factory.LazyFunction(timezone.now)

"""Factories for the loyalty app (run inside ``tenant_context``). Balances are the services' to
write; ``loyalty_with_points`` makes an account whose counters agree with its ledger."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from loyalty.models import LoyaltyAccount, LoyaltyTransaction
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

"""Factories for loyalty and credit (run inside ``tenant_context``). Balances and credit in use
are written by the services in tests; these factories only create empty accounts."""

from __future__ import annotations

import decimal

import factory

from customers.models import CreditAccount, LoyaltyAccount
from tests.customers.factories import CustomerFactory


class LoyaltyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyAccount

    customer = factory.SubFactory(CustomerFactory)


class CreditAccountFactory(factory.django.DjangoModelFactory):
    """An approved account with nothing in use (``status``/``credit_limit`` may be overridden)."""

    class Meta:
        model = CreditAccount

    customer = factory.SubFactory(CustomerFactory, customer_type="b2b")
    status = CreditAccount.Status.APPROVED
    credit_limit = decimal.Decimal("1000.00")
    currency = "ARS"
    payment_term_days = 30

"""Factories for the customers app (run inside ``tenant_context``): profiles, orders and credit.
Credit in use is the services' to write; the credit factories make nothing in use (loyalty's
factories are in tests/loyalty/factories.py)."""

from __future__ import annotations

import datetime
import decimal

import factory
from django.utils import timezone

from customers.models import (
    Address,
    CreditAccount,
    CreditPayment,
    CreditUsage,
    Customer,
    CustomerIdentity,
    Order,
    OrderItem,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Sequence(lambda n: f"Ana{n}")
    last_name = "Pérez"
    country = "AR"
    source = "vtex"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIdentity

    customer = factory.SubFactory(CustomerFactory)
    source = "vtex"
    external_id = factory.Sequence(lambda n: f"ext-{n}")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    line1 = "Av. Corrientes"
    number = "1234"
    city = "Buenos Aires"
    country = "AR"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    source = "vtex"
    external_order_id = factory.Sequence(lambda n: f"ord-{n}")
    order_date = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))
    currency = "ARS"
    total_amount = decimal.Decimal("100.00")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = "SKU-1"
    name = "Yerba"
    quantity = 1
    unit_price = decimal.Decimal("100.00")
    total_price = decimal.Decimal("100.00")


class CreditAccountFactory(factory.django.DjangoModelFactory):
    """An approved account of a business customer with nothing in use (``status``/``credit_limit``
    may be overridden)."""

    class Meta:
        model = CreditAccount

    customer = factory.SubFactory(CustomerFactory, customer_type="b2b")
    status = CreditAccount.Status.APPROVED
    credit_limit = decimal.Decimal("1000.00")
    currency = "ARS"
    payment_term_days = 30


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


def order_record(n: int | str = 1, person: int | str | None = None, **overrides) -> dict:
    """A valid canonical order record of ``person`` (default: ``n``); ``customer=`` overrides merge
    into the default customer; a value of ``...`` drops the key."""
    person = n if person is None else person
    customer = {"email": f"buyer{person}@example.com", "external_id": f"c-{person}", "first_name": "Lucía",
                "last_name": "Gómez", "country": "AR"}
    customer.update(overrides.pop("customer", {}))
    record = {"source": "vtex", "external_order_id": f"o-{n}", "order_date": "2024-05-01T10:00:00-03:00",
              "status": "completed", "currency": "ARS", "total_amount": "1500.50", "customer": customer,
              "items": [{"sku": "YERBA-1", "name": "Yerba 1kg", "quantity": 2, "unit_price": "750.25"}]}
    record.update(overrides)
    return {key: value for key, value in record.items() if value is not ...}

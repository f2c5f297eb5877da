"""Factories for billing (public schema). SKUs start with ``T-`` so they never meet the demo catalog."""

from __future__ import annotations

from decimal import Decimal

import factory

from billing.models import Category, Coupon, PaymentGateway, PaymentMethod, Product, TaxRate


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"t-cat-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"T-PROD-{n}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    category = factory.SubFactory(CategoryFactory)
    interval = Product.Interval.ONE_TIME
    price = Decimal("100.00")


class PlanProductFactory(ProductFactory):
    sku = factory.Sequence(lambda n: f"T-PLAN-{n}")
    interval = Product.Interval.MONTH
    plan_code = "starter"
    price = Decimal("49.00")


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"TCOUPON{n}")
    kind = Coupon.Kind.PERCENT
    value = Decimal("10.00")


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    name = "VAT"
    country = "AR"
    state = ""
    rate = Decimal("21.0000")
    inclusive = False


def sandbox() -> PaymentGateway:
    return PaymentGateway.objects.get(code="sandbox")


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    gateway = factory.LazyFunction(sandbox)
    reference = "tok_visa"
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2034
    is_default = True

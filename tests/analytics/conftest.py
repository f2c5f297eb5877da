"""Analytics test helpers: order histories built with customers' factories, in a tenant schema."""

from __future__ import annotations

import datetime
import decimal
import zoneinfo

import pytest
from django_tenants.utils import tenant_context

from analytics.services import analytics_run
from tests.customers.factories import CustomerFactory, OrderFactory

SCORED_AS_OF = datetime.date(2025, 6, 30)


@pytest.fixture
def alpha(world):
    """Run the test body inside alpha's schema."""
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def small_thresholds(settings):
    """Model thresholds small enough for a few hundred synthetic customers."""
    settings.ANALYTICS_CHURN_MIN_TRAIN_CUSTOMERS = 100
    settings.ANALYTICS_CHURN_MIN_CLASS_SIZE = 10
    settings.ANALYTICS_CLV_MIN_CUSTOMERS = 10
    settings.ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS = 5
    settings.ANALYTICS_CLV_MAX_SPEND_FREQUENCY_CORR = 0.95


@pytest.fixture
def beta(world):
    return world.beta


def local_dt(tenant, day: datetime.date, hour: int = 12) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(tenant.setting("timezone"))
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=tz)


def add_customer(tenant, purchases, **fields):
    """A customer with counted orders ``purchases = [(date, amount) | (date, amount, status)]``."""
    from customers.models import Customer, Order
    from customers.selectors import counted_statuses

    customer = CustomerFactory(source="test", **fields)
    orders = [OrderFactory.build(customer=customer, source="test", external_order_id=f"t{customer.pk}-{index}",
                                 order_date=local_dt(tenant, purchase[0]),
                                 status=purchase[2] if len(purchase) > 2 else "completed",
                                 total_amount=decimal.Decimal(str(purchase[1])))
              for index, purchase in enumerate(purchases)]
    Order.objects.bulk_create(orders)
    counted = [o for o in orders if o.status in counted_statuses()]
    if counted:
        Customer.objects.filter(pk=customer.pk).update(
            total_orders=len(counted), total_spent=sum(o.total_amount for o in counted),
            first_purchase_at=min(o.order_date for o in counted), last_purchase_at=max(o.order_date for o in counted))
        customer.refresh_from_db()
    return customer


@pytest.fixture
def customer_with():
    return add_customer


def synthetic_history(tenant, *, customers: int, as_of: datetime.date, days: int, seed: int = 7):
    """A reproducible store: each customer buys at their own rate until they (maybe) drop out."""
    import numpy as np

    rng = np.random.default_rng(seed)
    made = []
    for _ in range(customers):
        start = int(rng.integers(0, days - 30))
        rate = float(rng.gamma(0.8, 1 / 25))  # purchases per day
        lifetime = int(rng.geometric(0.004))
        spend = float(rng.gamma(6, 10))
        day, purchases = start, []
        while day <= min(days, start + lifetime):
            purchases.append((as_of - datetime.timedelta(days=days - day), round(spend * rng.uniform(0.7, 1.3), 2)))
            day += max(1, int(rng.exponential(1 / rate if rate > 0 else 10_000)))
        made.append(add_customer(tenant, purchases))
    return made


@pytest.fixture
def scored_alpha(world, actor):
    """Alpha with eight customers scored by a run as of SCORED_AS_OF (the API and portal tests)."""
    with tenant_context(world.alpha):
        customers = [add_customer(world.alpha, [(SCORED_AS_OF - datetime.timedelta(days=3 + k), 10 * (k + 1))]
                                  * (1 + k % 3)) for k in range(8)]
        job = analytics_run(tenant=world.alpha, actor=actor, as_of=SCORED_AS_OF)
        assert job.status == "succeeded", job.error
    return customers

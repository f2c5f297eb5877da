"""Factories for the analytics app (run inside ``tenant_context``): runs, RFM definitions and rows,
CLV and churn logs and rows, segments. Score rows are what a run leaves behind; tests that need
real scores run the steps on an order history instead (``tests/analytics/conftest.py``)."""

from __future__ import annotations

import datetime
import decimal

import factory

from analytics.models import (
    ChurnPredictionLog,
    ClvCalculationLog,
    CustomerChurn,
    CustomerClv,
    CustomerRfm,
    DailyKpi,
    ProcessingJob,
    RfmSegmentDefinition,
    Segment,
)
from tests.customers.factories import CustomerFactory

AS_OF = datetime.date(2025, 6, 30)


class ProcessingJobFactory(factory.django.DjangoModelFactory):
    """A finished run (``status=ProcessingJob.Status.QUEUED`` for one waiting: one per tenant)."""

    class Meta:
        model = ProcessingJob

    as_of = AS_OF
    steps = factory.LazyFunction(lambda: ["rfm"])
    status = ProcessingJob.Status.SUCCEEDED
    requested_by = "tests"


class RfmSegmentDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RfmSegmentDefinition
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"box_{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())
    priority = factory.Sequence(lambda n: 200 + n)


class CustomerRfmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerRfm

    customer = factory.SubFactory(CustomerFactory)
    as_of = AS_OF
    recency_days = 10
    frequency = 3
    monetary = decimal.Decimal("300.00")
    r_score, f_score, m_score = 5, 4, 3
    rfm_score = factory.LazyAttribute(lambda o: f"{o.r_score}{o.f_score}{o.m_score}")
    segment = "champions"


class ClvCalculationLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClvCalculationLog

    as_of = AS_OF
    status = ClvCalculationLog.Status.OK
    message = "Lifetime values predicted from tests."


class CustomerClvFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerClv

    customer = factory.SubFactory(CustomerFactory)
    log = factory.SubFactory(ClvCalculationLogFactory)
    as_of = factory.SelfAttribute("log.as_of")
    frequency = 2
    recency = 20.0
    T = 30.0
    monetary_value = decimal.Decimal("100.00")
    probability_alive = 0.8
    expected_purchases = 1.5
    predicted_value = decimal.Decimal("150.00")
    historical_value = decimal.Decimal("300.00")
    total_clv = factory.LazyAttribute(lambda o: o.predicted_value + o.historical_value)
    tier = CustomerClv.Tier.HIGH
    percentile = 90.0


class ChurnPredictionLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnPredictionLog

    as_of = AS_OF
    method = ChurnPredictionLog.Method.MODEL
    message = "Learned from tests."


class CustomerChurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerChurn

    customer = factory.SubFactory(CustomerFactory)
    log = factory.SubFactory(ChurnPredictionLogFactory)
    as_of = factory.SelfAttribute("log.as_of")
    probability = 0.6
    band = CustomerChurn.Band.AT_RISK
    method = factory.SelfAttribute("log.method")
    days_since_last_purchase = 40
    factors = factory.LazyFunction(list)


class DailyKpiFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyKpi

    date = factory.Sequence(lambda n: AS_OF - datetime.timedelta(days=n))
    revenue = decimal.Decimal("1000.00")
    orders = 10


class SegmentFactory(factory.django.DjangoModelFactory):
    """A segment row as saved (no members materialized: ``segment_materialize`` does that)."""

    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(lambda: {"op": "and", "rules": [
        {"field": "country", "operator": "eq", "value": "AR"}]})
    created_by = "tests"

"""Loyalty's tests share customers' fixtures (ingest, actor, the quota switch)."""

from tests.customers.conftest import _no_plan_quota, customer, ingest  # noqa: F401

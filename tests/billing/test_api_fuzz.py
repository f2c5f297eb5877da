"""Property-based fuzzing of the billing endpoints with an owner's key (billing scope): no 5xx,
every error in the common shape."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.conftest import OperationPicker, tenant_api_operations

# Only billing's operations: the rest of the API has its own fuzz test (tests/test_openapi.py, which
# also checks that every served operation is in these lists).
OPERATIONS = tenant_api_operations(r"^/api/v1/billing/")


@pytest.fixture(params=OPERATIONS, ids=[f"{method} {path}" for method, path in OPERATIONS])
def billing_schema(request, served_tenant_schema):
    """One operation per pytest test, which xdist workers share."""
    pick.current = request.param
    return served_tenant_schema


@pytest.fixture
def wsgi_app(world):
    from django.core.wsgi import get_wsgi_application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


pick = OperationPicker()
schema = schemathesis.pytest.from_fixture("billing_schema").include(pick)


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzzed_billing_requests_never_cause_a_server_error(case, world, wsgi_app, api_key):
    key = api_key(world.alpha, scopes=["read", "write", "billing"])
    response = case.call(app=wsgi_app, base_url="http://alpha.localhost", headers={"Authorization": f"Api-Key {key}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}

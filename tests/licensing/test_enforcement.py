"""A tenant's license decides how much it may grow: the quota guard and the monthly API quota."""

from __future__ import annotations

import pytest

from cdp import registry
from cdp.context import Actor
from cdp.exceptions import QuotaExceeded
from licensing.models import UsageLog
from licensing.selectors import license_entitlements, license_feature_enabled, license_usage
from licensing.services import ai_requests_record, license_suspend
from tenants.models import AuditLog
from tenants.services import tenant_update
from tests.conftest import api_client

ACTOR = Actor.system("tests")


@pytest.fixture
def customers_in_use():
    """Pretend the tenant has ``n`` customers, without depending on the customers app (through the
    registry's public API; the real provider is registered again afterwards)."""
    original = dict(registry.usage_providers()).get("customers")

    def set_count(n: int):
        registry.register_usage_provider("customers", lambda: n)

    yield set_count
    if original is not None:
        registry.register_usage_provider("customers", original)


def test_guard_allows_up_to_the_limit_and_refuses_one_more_whole(world, issue, customers_in_use):
    # given a license allowing 10 customers and 7 in use
    issue(world.alpha, custom_limits={"customers": 10})
    customers_in_use(7)
    # then adding exactly up to the limit passes
    registry.quota_check("customers", tenant=world.alpha, adding=3)
    # and one more is refused, with a clear error and nothing partial
    with pytest.raises(QuotaExceeded) as excinfo:
        registry.quota_check("customers", tenant=world.alpha, adding=4)
    error = excinfo.value
    assert error.code == "quota_exceeded" and error.http_status == 403
    assert "10" in error.message and "customers" in error.fields


def test_guard_writes_warnings_at_80_and_100_percent_once(world, issue, customers_in_use):
    license = issue(world.alpha, custom_limits={"customers": 10})
    customers_in_use(5)
    registry.quota_check("customers", tenant=world.alpha, adding=2)  # 70%: nothing
    assert not UsageLog.objects.filter(tenant=world.alpha, event="warning").exists()
    registry.quota_check("customers", tenant=world.alpha, adding=3)  # 80%
    customers_in_use(8)
    registry.quota_check("customers", tenant=world.alpha, adding=2)  # 100%
    registry.quota_check("customers", tenant=world.alpha, adding=2)  # again: no duplicate
    warnings = UsageLog.objects.filter(tenant=world.alpha, event="warning", resource="customers")
    assert sorted(warnings.values_list("threshold", flat=True)) == [80, 100]
    assert AuditLog.objects.filter(action="license.usage_warning", resource_id=str(license.pk)).count() == 2
    usage = license_usage(tenant=world.alpha)
    row = next(r for r in usage["rows"] if r["resource"] == "customers")
    assert row == row | {"used": 8, "limit": 10, "percent": 80.0, "level": "warning"}
    assert usage["has_warning"] is True


def test_without_a_license_the_tenant_settings_apply(world, customers_in_use):
    tenant_update(tenant=world.beta, actor=ACTOR, settings={"max_customers": 5})
    world.beta.refresh_from_db()
    customers_in_use(5)
    with pytest.raises(QuotaExceeded):
        registry.quota_check("customers", tenant=world.beta, adding=1)
    registry.quota_check("users", tenant=world.beta, adding=100)  # users are not limited without a license
    assert license_entitlements(tenant=world.beta)["plan"] is None


def test_an_inactive_license_refuses_growth(world, issue, customers_in_use):
    license = issue(world.alpha, "enterprise")
    customers_in_use(1)
    registry.quota_check("customers", tenant=world.alpha, adding=1_000_000)  # enterprise: unlimited
    license_suspend(license=license, actor=ACTOR)
    with pytest.raises(QuotaExceeded) as excinfo:
        registry.quota_check("customers", tenant=world.alpha, adding=1)
    assert excinfo.value.code == "license_inactive"


def test_users_limit(world, issue):
    issue(world.alpha, custom_limits={"users": 5})  # alpha has 4 members
    registry.quota_check("users", tenant=world.alpha, adding=1)
    with pytest.raises(QuotaExceeded):
        registry.quota_check("users", tenant=world.alpha, adding=2)


def test_ai_requests_are_metered_against_the_monthly_limit(world, issue):
    issue(world.alpha, custom_limits={"ai_requests_per_month": 5})
    license = ai_requests_record(tenant=world.alpha, amount=4)
    assert license.ai_requests_used == 4
    ai_requests_record(tenant=world.alpha, amount=1)
    with pytest.raises(QuotaExceeded):
        ai_requests_record(tenant=world.alpha, amount=1)
    assert sorted(UsageLog.objects.filter(tenant=world.alpha, event="warning").values_list("threshold", flat=True)) \
        == [80, 100]


def test_features_follow_the_plan(world, issue):
    issue(world.alpha, "starter")
    assert license_feature_enabled(tenant=world.alpha, feature="rfm_analysis") is True
    assert license_feature_enabled(tenant=world.alpha, feature="churn_detection") is False
    issue(world.beta, "starter", custom_features={"churn_detection": True})
    assert license_feature_enabled(tenant=world.beta, feature="churn_detection") is True


def test_monthly_api_quota_answers_429_with_quota_headers(world, issue, api_key):
    # given a license allowing 3 API calls a month
    issue(world.alpha, custom_limits={"api_calls_per_month": 3})
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    # when the tenant calls 3 times
    remaining = []
    for _ in range(3):
        response = client.get("/api/v1/tenant/")
        assert response.status_code == 200
        assert response["X-Quota-Limit"] == "3"
        remaining.append(response["X-Quota-Remaining"])
        reset = int(response["X-Quota-Reset"])
    # then the fourth is refused in the common error shape, with the headers
    refused = client.get("/api/v1/tenant/")
    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "api_quota_exceeded"
    assert refused["X-Quota-Remaining"] == "0" and int(refused["X-Quota-Reset"]) == reset
    assert int(refused["Retry-After"]) > 0
    thresholds = UsageLog.objects.filter(tenant=world.alpha, event="warning", resource="api_calls_per_month")
    assert sorted(thresholds.values_list("threshold", flat=True)) == [80, 100]
    # another tenant is not affected
    beta = api_client("beta.localhost", api_key(world.beta, scopes=["read"])).get("/api/v1/tenant/")
    assert beta.status_code == 200 and beta["X-Quota-Limit"] == "unlimited"


def test_api_quota_follows_a_license_change_at_once(world, issue, api_key):
    from licensing.services import license_update

    license = issue(world.alpha, custom_limits={"api_calls_per_month": 1})
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert client.get("/api/v1/tenant/").status_code == 200
    assert client.get("/api/v1/tenant/").status_code == 429
    license_update(license=license, actor=ACTOR, custom_limits={"api_calls_per_month": 100})
    assert client.get("/api/v1/tenant/").status_code == 200


def test_ingest_beyond_the_licensed_customer_count_is_refused_whole(world, issue, api_key):
    from django_tenants.utils import tenant_context

    from customers.models import Customer, Order

    # given a license for 2 customers (real counts: alpha has none yet in this test)
    issue(world.alpha, custom_limits={"customers": 2})
    client = api_client("alpha.localhost", api_key(world.alpha))

    def order(n):
        return {"source": "shop", "external_order_id": f"lic-{n}", "order_date": "2025-05-01T10:00:00Z",
                "total_amount": "10.00", "customer": {"email": f"buyer{n}@example.com"}}

    # when a batch would create three new customers, it is refused whole
    refused = client.post("/api/v1/orders/ingest/", {"orders": [order(1), order(2), order(3)]},
                          content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "quota_exceeded"
    with tenant_context(world.alpha):
        assert not Customer.objects.exists() and not Order.objects.exists()
    # and a batch within the limit is stored
    accepted = client.post("/api/v1/orders/ingest/", {"orders": [order(1), order(2)]},
                           content_type="application/json")
    assert accepted.status_code == 200 and accepted.json()["created"] == 2

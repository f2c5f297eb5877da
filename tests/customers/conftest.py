import pytest

from cdp import registry as cdp_registry
from cdp.context import Actor


@pytest.fixture
def actor():
    return Actor.system("tests")


@pytest.fixture
def ingest(world, actor):
    """``ingest(records, tenant=world.alpha)`` runs the service in the tenant's schema."""
    from django_tenants.utils import tenant_context

    from customers.services import order_ingest

    def run(records, tenant=None, default_source="api"):
        with tenant_context(tenant or world.alpha):
            return order_ingest(records=records, actor=actor, tenant=tenant or world.alpha,
                                default_source=default_source)

    return run


@pytest.fixture(autouse=True)
def _no_plan_quota():
    """Customers' tests control the quota themselves (licensing's guard is tested by licensing)."""
    with cdp_registry.quota_guards_disabled():
        yield

import pytest
from django_tenants.utils import tenant_context

from cdp import registry as cdp_registry
from customers.services import order_ingest
from tests.customers.factories import AddressFactory, CustomerFactory, IdentityFactory, OrderFactory, OrderItemFactory


@pytest.fixture
def ingest(world, actor):
    """``ingest(records, tenant=world.alpha)`` runs the service in the tenant's schema."""

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


@pytest.fixture
def customer(world):
    """A customer of alpha with a document, an identity, a default address and an order with an item."""
    with tenant_context(world.alpha):
        customer = CustomerFactory(document_type="dni", document_number="30111222")
        IdentityFactory(customer=customer)
        AddressFactory(customer=customer, is_default=True)
        OrderItemFactory(order=OrderFactory(customer=customer))
        return customer

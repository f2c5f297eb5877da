"""Loyalty follows a connector order's life, through the local fakes and the real ingest hook:
points are earned when the order becomes a sale (the tenant's counted-sale rule) and taken back
when it stops being one, once per step, for VTEX and MercadoLibre alike. Also what the connectors
map besides the status: order number, payment status, shipping method, UTM."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django_tenants.utils import tenant_context

from customers.models import Order
from integrations.models import Integration
from loyalty import services as loyalty_services
from loyalty.hooks import loyalty_pending_flush
from loyalty.models import LoyaltyAccount, LoyaltyTransaction
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_ml_integration, make_vtex_integration
from tests.integrations.test_webhooks import hook_post


def _one_point_per_unit(actor):
    loyalty_services.loyalty_program_update(actor=actor, values={"points_per_currency_unit": Decimal("1")})


def _ledger(order: Order) -> list[tuple[str, int]]:
    return list(LoyaltyTransaction.objects.filter(order=order).order_by("id").values_list("type", "points"))


def _balance(order: Order) -> int:
    return LoyaltyAccount.objects.get(customer_id=order.customer_id).points_balance


def test_a_vtex_order_earns_when_paid_keeps_its_points_when_invoiced_and_gives_them_back_when_cancelled(
        world, vtex, actor, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        _one_point_per_unit(actor)
        integration = make_vtex_integration(vtex, actor)
    detail = vtex.add(fakes.vtex_detail(11, created=days_ago(1), status="payment-pending", sla="Expressa",
                                        utm={"source": "google", "medium": "cpc", "campaign": "Inverno"}))
    client = Client(HTTP_HOST="alpha.localhost")

    def notify(state):
        vtex.orders[detail["orderId"]]["status"] = state
        with django_capture_on_commit_callbacks(execute=True):
            assert hook_post(client, integration.pk, {"OrderId": detail["orderId"], "State": state}).status_code == 200
        loyalty_pending_flush()
        with tenant_context(world.alpha):
            return Order.objects.get(source="vtex", external_order_id=detail["orderId"])

    # a placed order waiting for its payment is not a sale: nothing earned
    order = notify("payment-pending")
    with tenant_context(world.alpha):
        assert (order.status, order.payment_status) == ("pending", "pending")
        assert _ledger(order) == []
        # what the store sent besides the status
        assert (order.order_number, order.shipping_method) == ("500011", "Expressa")
        assert (order.utm_source, order.utm_medium, order.utm_campaign) == ("google", "cpc", "Inverno")

    # payment approved: a sale, so it earns its 126 points (12,600 cents)
    order = notify("payment-approved")
    with tenant_context(world.alpha):
        assert (order.status, order.payment_status) == ("paid", "paid")
        assert _ledger(order) == [("earn", 126)] and _balance(order) == 126

    # invoiced (and notified twice): still the same sale, nothing more
    for _ in range(2):
        order = notify("invoiced")
    with tenant_context(world.alpha):
        assert order.status == "invoiced"
        assert _ledger(order) == [("earn", 126)] and _balance(order) == 126

    # cancelled (twice): the points are taken back, once
    for _ in range(2):
        order = notify("canceled")
    with tenant_context(world.alpha):
        assert (order.status, order.payment_status) == ("cancelled", "cancelled")
        assert _ledger(order) == [("earn", 126), ("adjust", -126)] and _balance(order) == 0


def test_a_mercadolibre_order_earns_when_paid_and_gives_back_when_cancelled(
        world, meli, actor, django_capture_on_commit_callbacks):
    from integrations.services import integration_sync

    with tenant_context(world.alpha):
        _one_point_per_unit(actor)
        integration = make_ml_integration(meli, actor)
    meli.orders.append(fakes.ml_order(21, created=days_ago(2), amount=2500.0))

    def sync():
        with tenant_context(world.alpha):
            # read the whole window again: the order changed after the first sync saw it
            Integration.objects.filter(pk=integration.pk).update(cursor={})
            with django_capture_on_commit_callbacks(execute=True):
                assert integration_sync(integration_id=integration.pk).status == "success"
        loyalty_pending_flush()
        with tenant_context(world.alpha):
            return Order.objects.get(source="mercadolibre", external_order_id="2000009876543231")

    # paid (synced twice): earns 2,500 points once
    for _ in range(2):
        order = sync()
    with tenant_context(world.alpha):
        assert (order.status, order.payment_status, order.order_number) == ("paid", "paid", "2000009876543231")
        assert order.shipping_method == "mercadoenvios"
        assert _ledger(order) == [("earn", 2500)] and _balance(order) == 2500

    # the buyer cancels and is refunded (synced twice): the points go back once
    meli.orders[0].update(status="cancelled")
    meli.orders[0]["payments"][0]["status"] = "refunded"
    for _ in range(2):
        order = sync()
    with tenant_context(world.alpha):
        assert (order.status, order.payment_status) == ("cancelled", "refunded")
        assert _ledger(order) == [("earn", 2500), ("adjust", -2500)] and _balance(order) == 0


def test_the_hourly_catch_up_uses_the_same_rule_for_connector_orders(world, meli, actor):
    """An ingest whose events were lost (no after-commit hooks ran): the catch-up earns for the
    paid MercadoLibre order like the hook would have."""
    import datetime

    from django.utils import timezone

    from integrations.services import integration_sync

    with tenant_context(world.alpha):
        _one_point_per_unit(actor)
        integration = make_ml_integration(meli, actor)
        meli.orders.append(fakes.ml_order(22, created=days_ago(2), amount=700.0))
        integration_sync(integration_id=integration.pk)  # on-commit hooks never run here
        order = Order.objects.get(source="mercadolibre")
        assert _ledger(order) == []

        assert loyalty_services.loyalty_catch_up(now=timezone.now() + datetime.timedelta(hours=1)) == 1
        assert _ledger(order) == [("earn", 700)]

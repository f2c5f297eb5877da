"""The operators' billing admin: the catalog is written through audited services with refusals
on the form; what only the billing services write is read-only; orders and subscriptions are
acted on through per-row service actions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.management import call_command

from billing.models import Category, Coupon, Order, Product, Subscription
from billing.services import order_checkout
from cdp.context import Actor
from tenants.models import AuditLog
from tests.billing.factories import CategoryFactory, CouponFactory, PlanProductFactory, ProductFactory

ACTOR = Actor.system("tests")


def product_form(**changes) -> dict:
    return {"sku": "T-ADMIN", "name": "Admin product", "description": "", "category": "", "interval": "one_time",
            "price": "100.00", "original_price": "", "currency": "USD", "plan_code": "", "is_active": "on",
            "features": "[]", **changes}


def test_products_are_created_and_changed_through_the_audited_service(world, public_client):
    client = public_client(world.staff)
    # a refusal of the model's rules is an error on the form, with what was typed
    response = client.post("/admin/billing/product/add/", product_form(original_price="50.00"))
    assert response.status_code == 200 and "original_price" in response.context["adminform"].form.errors
    assert not Product.objects.filter(sku="T-ADMIN").exists()
    # when
    response = client.post("/admin/billing/product/add/", product_form())
    # then
    assert response.status_code == 302
    product = Product.objects.get(sku="T-ADMIN")
    created = AuditLog.objects.get(action="billing_product.create", resource_id=str(product.pk))
    assert created.changes["price"] == [None, "100.00"] and created.tenant is None
    response = client.post(f"/admin/billing/product/{product.pk}/change/", product_form(price="120.00"))
    assert response.status_code == 302
    assert AuditLog.objects.get(action="billing_product.update").changes == {"price": ["100.00", "120.00"]}


def test_coupons_keep_their_redemption_count_and_are_not_deleted(world, public_client):
    coupon = CouponFactory(code="TADMIN", value=D("10.00"))
    client = public_client(world.staff)
    response = client.post(f"/admin/billing/coupon/{coupon.pk}/change/", {
        "code": "TADMIN", "kind": "percent", "value": "15.00", "currency": "USD", "minimum_amount": "0.00",
        "once_per_tenant": "on", "is_active": "on", "times_redeemed": "99"})
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.value == D("15.00") and coupon.times_redeemed == 0
    assert AuditLog.objects.get(action="coupon.update").changes == {"value": ["10.00", "15.00"]}
    assert client.get(f"/admin/billing/coupon/{coupon.pk}/delete/").status_code == 403


def test_a_category_is_deleted_through_the_service_and_its_products_stay(world, public_client):
    category = CategoryFactory(slug="t-gone", name="Gone")
    product = ProductFactory(sku="T-STAYS", category=category)
    response = public_client(world.staff).post(f"/admin/billing/category/{category.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Category.objects.filter(pk=category.pk).exists()
    assert Product.objects.get(pk=product.pk).category is None
    assert AuditLog.objects.get(action="category.delete").changes == {"name": ["Gone", None], "slug": ["t-gone", None]}


@pytest.mark.parametrize("model", ["order", "invoice", "documentcounter", "gatewayevent", "subscription",
                                   "mrrmovement", "couponredemption", "paymentmethod"])
def test_what_only_services_write_cannot_be_added_changed_or_deleted(world, public_client, model):
    client = public_client(world.staff)
    assert client.get(f"/admin/billing/{model}/add/").status_code == 403
    ProductFactory(sku="T-RO")
    order_checkout(tenant=world.alpha, items=[{"sku": "T-RO"}], gateway_code="sandbox", token="tok_visa", actor=ACTOR,
                   save_payment_method=True)
    from django.apps import apps

    row = apps.get_model("billing", model).objects.first()
    if row is None:
        pytest.skip(f"no {model} row from a one-time checkout")
    assert client.get(f"/admin/billing/{model}/{row.pk}/delete/").status_code == 403
    response = client.post(f"/admin/billing/{model}/{row.pk}/change/", {})
    assert response.status_code == 403


def test_staff_cancel_a_subscription_through_the_service(world, public_client):
    PlanProductFactory(sku="T-SUB-ADM")
    order_checkout(tenant=world.beta, items=[{"sku": "T-SUB-ADM"}], gateway_code="sandbox", token="tok_visa",
                   actor=ACTOR, save_payment_method=True)
    subscription = Subscription.objects.get(tenant=world.beta)
    response = public_client(world.staff).post("/admin/billing/subscription/", {
        "action": "cancel_at_period_end", "_selected_action": [subscription.pk]}, follow=True)
    assert "1 subscription(s) set to end." in response.content.decode()
    assert Subscription.objects.get(pk=subscription.pk).cancel_at_period_end
    assert AuditLog.objects.filter(action="subscription.cancel_scheduled", tenant=world.beta).exists()


def test_a_refused_refund_is_reported_with_its_order(world, public_client):
    ProductFactory(sku="T-NOREF")
    with pytest.raises(Exception):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-NOREF"}], gateway_code="sandbox",
                       token="tok_chargeDeclined", actor=ACTOR)
    failed = Order.objects.get(tenant=world.alpha, status="payment_failed")
    response = public_client(world.staff).post("/admin/billing/order/", {
        "action": "refund_orders", "_selected_action": [failed.pk]}, follow=True)
    assert f"{failed.order_number}: Only a paid order can be refunded" in response.content.decode()


def test_the_demo_catalog_is_written_through_services_once(world):
    call_command("load_billing_demo")
    created = AuditLog.objects.filter(action__in=["billing_product.create", "tax_rate.create", "coupon.create",
                                                  "category.create"]).count()
    assert created >= 7 + 6 + 6 + 2
    call_command("load_billing_demo")
    assert AuditLog.objects.filter(action__endswith=".update").filter(
        action__in=["billing_product.update", "tax_rate.update", "coupon.update", "category.update"]).count() == 0
    assert Coupon.objects.get(code="WELCOME10").is_active

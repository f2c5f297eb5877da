"""Checkout through the API on the tenant's host: arithmetic, declines, retries, licenses, PDF,
refunds, cross-tenant isolation and roles."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from billing.models import CouponRedemption, Invoice, Order, PaymentMethod, Subscription
from licensing.models import License
from tests.billing.factories import CouponFactory, PlanProductFactory, ProductFactory, TaxRateFactory


def checkout(api, items, token="tok_visa", coupon=None, address=None, save=False):
    payload = {"items": items, "payment": {"gateway": "sandbox", "token": token, "save": save}}
    if coupon:
        payload["coupon"] = coupon
    if address:
        payload["billing_address"] = address
    return api.post("checkout/", payload)


def test_products_list_shows_sku_price_and_subscription_flag(world, owner_api):
    ProductFactory(sku="T-ONCE", price=D("12.50"))
    PlanProductFactory(sku="T-MONTHLY")
    response = owner_api(role="viewer").get("products/", search="T-")
    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json()["results"]}
    assert rows["T-ONCE"]["price"] == "12.50" and rows["T-ONCE"]["is_subscription"] is False
    assert rows["T-MONTHLY"]["is_subscription"] is True


def test_checkout_with_coupon_and_exclusive_tax_issues_invoice_and_license(world, owner_api):
    # given a plan product, a one-time product, a 10% coupon and Argentina's 21% VAT (exclusive)
    PlanProductFactory(sku="T-PRO", price=D("199.00"), plan_code="professional")
    ProductFactory(sku="T-ADDON", price=D("33.33"))
    CouponFactory(code="SAVE10", value=D("10"))
    TaxRateFactory(country="AR", rate=D("21"))
    # when the owner checks out
    response = checkout(owner_api(), [{"sku": "T-PRO", "quantity": 1}, {"sku": "T-ADDON", "quantity": 3}],
                        coupon="save10", address={"country": "ar"}, save=True)
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "paid"
    assert body["order_number"].startswith("ORD-") and len(body["order_number"].split("-")[2]) == 4
    assert (body["subtotal"], body["discount_amount"]) == ("298.99", "29.90")
    assert body["tax_amount"] == "56.51"  # 21% of 179.10 + 21% of 89.99, rounded per line
    assert body["total"] == "325.60"
    assert D(body["subtotal"]) - D(body["discount_amount"]) + D(body["tax_amount"]) == D(body["total"])
    assert body["invoice"]["total"] == "325.60" and body["invoice"]["pdf"].endswith("/pdf/")
    [lic] = body["licenses"]
    assert lic["plan"] == "professional" and lic["key"]
    license = License.objects.get(tenant=world.alpha, plan__code="professional")
    assert license.expires_at is not None  # a subscription's license runs with its period (plus grace)
    assert Subscription.objects.get(tenant=world.alpha).status == "active"
    assert CouponRedemption.objects.filter(tenant=world.alpha, coupon__code="SAVE10").count() == 1
    assert PaymentMethod.objects.get(tenant=world.alpha).last4 == "4242"
    # and the key is not in any later answer
    assert lic["key"] not in owner_api().get("orders/").content.decode()

    # the coupon is once per tenant
    again = checkout(owner_api(), [{"sku": "T-ADDON", "quantity": 1}], coupon="SAVE10")
    assert again.status_code == 400 and again.json()["error"]["code"] == "coupon_invalid"


def test_inclusive_tax_by_tenant_settings(world, owner_api):
    ProductFactory(sku="T-MX", price=D("116.00"))
    TaxRateFactory(country="MX", rate=D("16"), inclusive=True)
    world.alpha.settings = {**world.alpha.settings, "billing_country": "MX"}
    world.alpha.save(update_fields=["settings"])
    body = checkout(owner_api(), [{"sku": "T-MX", "quantity": 2}]).json()
    assert (body["subtotal"], body["tax_amount"], body["total"]) == ("200.00", "32.00", "232.00")
    assert body["tax_inclusive"] is True


def test_state_rate_wins_over_country_rate(world, owner_api):
    ProductFactory(sku="T-US", price=D("100.00"))
    TaxRateFactory(country="US", state="", rate=D("0"))
    TaxRateFactory(country="US", state="CA", rate=D("7.25"))
    body = checkout(owner_api(), [{"sku": "T-US", "quantity": 1}], address={"country": "US", "state": "CA"}).json()
    assert body["tax_amount"] == "7.25"


def test_declined_payment_keeps_a_failed_order_without_invoice_or_license(world, owner_api):
    PlanProductFactory(sku="T-STARTER")
    response = checkout(owner_api(), [{"sku": "T-STARTER"}], token="tok_chargeDeclinedInsufficientFunds")
    assert response.status_code == 402
    body = response.json()
    assert body["error"]["code"] == "payment_declined"
    assert body["decline_code"] == "insufficient_funds"
    order = Order.objects.get(order_number=body["order"]["order_number"])
    assert order.status == Order.Status.PAYMENT_FAILED
    assert not Invoice.objects.filter(order=order).exists()
    assert not License.objects.filter(tenant=world.alpha).exists()
    assert not Subscription.objects.filter(tenant=world.alpha).exists()

    # a retry with another declining card still leaves nothing behind
    retry = owner_api().post(f"orders/{order.order_number}/retry/", {"token": "tok_chargeDeclined"})
    assert retry.status_code == 402
    assert not Invoice.objects.filter(order=order).exists() and not License.objects.filter(tenant=world.alpha)
    assert order.attempts.count() == 2
    assert len(set(order.attempts.values_list("idempotency_key", flat=True))) == 2

    # a retry with a good card pays the same order: one invoice, one license
    paid = owner_api().post(f"orders/{order.order_number}/retry/", {"token": "tok_visa"})
    assert paid.status_code == 201, paid.content
    assert paid.json()["order_number"] == order.order_number and paid.json()["status"] == "paid"
    assert Invoice.objects.filter(order=order).count() == 1
    assert License.objects.filter(tenant=world.alpha).count() == 1
    # and a paid order cannot be retried
    assert owner_api().post(f"orders/{order.order_number}/retry/", {"token": "tok_visa"}).status_code == 409


def test_second_subscription_is_refused(world, owner_api):
    PlanProductFactory(sku="T-A")
    PlanProductFactory(sku="T-B")
    assert checkout(owner_api(), [{"sku": "T-A"}]).status_code == 201
    response = checkout(owner_api(), [{"sku": "T-B"}])
    assert response.status_code == 409 and response.json()["error"]["code"] == "subscription_exists"


def test_invalid_input(world, owner_api):
    ProductFactory(sku="T-X")
    assert checkout(owner_api(), []).status_code == 400
    assert checkout(owner_api(), [{"sku": "NOPE"}]).json()["error"]["fields"]["items"]
    assert checkout(owner_api(), [{"sku": "T-X", "quantity": 0}]).status_code == 400
    response = owner_api().post("checkout/", {"items": [{"sku": "T-X"}], "payment": {"gateway": "paypal",
                                                                                   "token": "tok_visa"}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "gateway_unknown"


def test_invoice_pdf_contains_number_and_totals(world, owner_api):
    ProductFactory(sku="T-PDF", name="Suite de Análisis", price=D("8900.00"))
    TaxRateFactory(country="CO", rate=D("19"))
    body = checkout(owner_api(), [{"sku": "T-PDF"}], address={"country": "CO"}).json()
    number = body["invoice"]["number"]
    response = owner_api().client.get(body["invoice"]["pdf"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"INVOICE {number}" in text
    assert "8900.00" in text and "1691.00" in text and "10591.00" in text
    assert "Análisis" in text
    assert body["order_number"] in text


def test_staff_refund_issues_credit_note_and_cancels_entitlements(world, owner_api, staff_api):
    PlanProductFactory(sku="T-REF", price=D("100.00"))
    TaxRateFactory(country="AR", rate=D("21"))
    body = checkout(owner_api(), [{"sku": "T-REF"}], address={"country": "AR"}).json()
    number = body["order_number"]
    # the owner cannot refund
    assert owner_api().post(f"orders/{number}/refund/", {}).status_code == 403
    # staff refunds part, then the rest
    part = staff_api().post(f"orders/{number}/refund/", {"amount": "21.00", "reason": "goodwill"})
    assert part.status_code == 201, part.content
    assert part.json()["kind"] == "credit_note" and part.json()["credits"] == body["invoice"]["number"]
    assert (part.json()["subtotal"], part.json()["tax_amount"], part.json()["total"]) == ("17.36", "3.64", "21.00")
    assert Order.objects.get(order_number=number).status == "partially_refunded"
    rest = staff_api().post(f"orders/{number}/refund/", {})
    assert rest.json()["total"] == "100.00"
    order = Order.objects.get(order_number=number)
    assert order.status == "refunded" and order.refunded_amount == order.total
    assert License.objects.get(tenant=world.alpha).status == "cancelled"
    assert Subscription.objects.get(tenant=world.alpha).status == "cancelled"
    assert staff_api().post(f"orders/{number}/refund/", {}).status_code == 409
    invoices = owner_api().get("invoices/").json()["results"]
    assert sorted(i["kind"] for i in invoices) == ["credit_note", "credit_note", "invoice"]


def test_alpha_cannot_see_beta_orders_or_invoices(world, owner_api):
    ProductFactory(sku="T-ISO")
    beta = checkout(owner_api(world.beta), [{"sku": "T-ISO"}]).json()
    alpha = owner_api(world.alpha)
    assert alpha.get("orders/").json()["count"] == 0
    assert alpha.get("invoices/").json()["count"] == 0
    assert alpha.get(f"orders/{beta['order_number']}/").status_code == 404
    assert alpha.get(f"invoices/{beta['invoice']['number']}/pdf/").status_code == 404
    assert alpha.client.get(f"/billing/invoices/{beta['invoice']['number']}.pdf").status_code == 404
    # and beta's owner on alpha's host is not a member there
    intruder = owner_api(world.beta).client
    intruder.defaults["HTTP_HOST"] = "alpha.localhost"
    assert intruder.get("/api/v1/billing/orders/").status_code == 403


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_non_owners_are_refused(world, owner_api, role):
    ProductFactory(sku="T-ROLE")
    api = owner_api(role=role)
    assert checkout(api, [{"sku": "T-ROLE"}]).status_code == 403
    assert api.get("orders/").status_code == 403
    assert api.get("invoices/").status_code == 403
    assert api.get("payment-methods/").status_code == 403
    assert api.get("products/").status_code == 200


def test_api_key_needs_the_billing_scope(world, api_key):
    from tests.conftest import api_client

    ProductFactory(sku="T-KEY")
    payload = {"items": [{"sku": "T-KEY"}], "payment": {"gateway": "sandbox", "token": "tok_visa"}}
    plain = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert plain.post("/api/v1/billing/checkout/", payload, content_type="application/json").status_code == 403
    billing = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "billing"]))
    assert billing.post("/api/v1/billing/checkout/", payload, content_type="application/json").status_code == 201


def test_payment_methods_keep_only_brand_last4_and_expiry(world, owner_api):
    api = owner_api()
    created = api.post("payment-methods/", {"token": "tok_mastercard"})
    assert created.status_code == 201
    assert set(created.json()) == {"id", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default",
                                   "created_at"}
    assert created.json()["last4"] == "4444" and created.json()["is_default"] is True
    assert api.post("payment-methods/", {"token": "4242424242424242"}).status_code == 400
    assert api.client.delete(f"/api/v1/billing/payment-methods/{created.json()['id']}/").status_code == 204
    assert api.get("payment-methods/").json()["count"] == 0


def test_a_declined_checkout_gives_the_coupon_back(world, owner_api):
    ProductFactory(sku="T-CPN")
    coupon = CouponFactory(code="ONCE", kind="fixed", value=D("5.00"), max_redemptions=1)
    declined = checkout(owner_api(), [{"sku": "T-CPN"}], coupon="ONCE", token="tok_chargeDeclined")
    assert declined.status_code == 402
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0 and not CouponRedemption.objects.filter(coupon=coupon).exists()
    paid = checkout(owner_api(), [{"sku": "T-CPN"}], coupon="ONCE")
    assert paid.status_code == 201 and paid.json()["discount_amount"] == "5.00"
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1
    # the maximum is reached: beta is refused before any charge
    refused = checkout(owner_api(world.beta), [{"sku": "T-CPN"}], coupon="ONCE")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "coupon_invalid"
    # retrying alpha's declined order re-reserves the coupon, which is now used up
    retry = owner_api().post(f"orders/{declined.json()['order']['order_number']}/retry/", {"token": "tok_visa"})
    assert retry.status_code == 400 and retry.json()["error"]["code"] == "coupon_invalid"


def test_openapi_documents_billing_without_component_collisions(world):
    import json
    import warnings

    from django.test import Client
    from drf_spectacular.validation import validate_schema

    with warnings.catch_warnings():
        response = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json")
    schema = json.loads(response.content)
    validate_schema(schema)
    for path in ("/api/v1/billing/checkout/", "/api/v1/billing/products/", "/api/v1/billing/orders/",
                 "/api/v1/billing/invoices/{number}/pdf/", "/api/v1/billing/payment-methods/"):
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    assert "BillingCheckoutInputRequest" in components and "BillingOrderOutput" in components

"""MRR figures on a known fixture, the staff revenue page, the operators' admin, the portal and
the demo command."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from billing.metrics import coupon_conversion, mrr_at, revenue_series, revenue_summary
from billing.models import Coupon, MrrMovement, Order, Product, Subscription, TaxRate
from billing.services import order_checkout
from cdp.context import Actor
from tests.billing.factories import CouponFactory, PlanProductFactory, ProductFactory

ACTOR = Actor.system("tests")
UTC = datetime.UTC


def at(month, day):
    return datetime.datetime(2030, month, day, 12, tzinfo=UTC)


@pytest.fixture
def mrr_fixture(world):
    monthly = PlanProductFactory(sku="T-M", price=D("49.00"))
    annual = PlanProductFactory(sku="T-Y", price=D("1200.00"), interval="year")

    def sub(tenant, product, status="active"):
        return Subscription.objects.create(tenant=tenant, product=product, interval=product.interval,
                                           price=product.price, status=status, current_period_start=at(1, 1),
                                           current_period_end=at(12, 1))

    alpha = sub(world.alpha, monthly, status="cancelled")
    beta = sub(world.beta, annual)
    for when, subscription, kind, amount in [
        (at(1, 10), alpha, "new", "49.00"),
        (at(1, 20), beta, "new", "100.00"),  # 1200 a year counts 100 a month
        (at(2, 5), alpha, "expansion", "150.00"),
        (at(3, 3), beta, "contraction", "-50.00"),
        (at(3, 20), alpha, "churn", "-199.00"),
    ]:
        MrrMovement.objects.create(occurred_at=when, tenant=subscription.tenant, subscription=subscription,
                                   kind=kind, amount=D(amount))


def test_mrr_series_on_a_known_fixture(mrr_fixture):
    rows = {row["month"]: row for row in revenue_series(months=4, now=at(3, 25))}
    assert list(rows) == ["2029-12", "2030-01", "2030-02", "2030-03"]
    assert rows["2029-12"]["mrr"] == 0
    jan, feb, mar = rows["2030-01"], rows["2030-02"], rows["2030-03"]
    assert (jan["mrr"], jan["arr"], jan["new"], jan["accounts"], jan["arpa"]) == (
        D("149.00"), D("1788.00"), D("149.00"), 2, D("74.50"))
    assert (feb["mrr"], feb["expansion"], feb["new"], feb["arpa"]) == (D("299.00"), D("150.00"), 0, D("149.50"))
    assert (mar["mrr"], mar["contraction"], mar["churned"], mar["accounts"], mar["arpa"]) == (
        D("50.00"), D("50.00"), D("199.00"), 1, D("50.00"))
    assert mrr_at(moment=at(2, 6)) == D("299.00")


def test_mrr_from_real_checkouts_excludes_tax_and_counts_annual_as_twelfth(world):
    TaxRate.objects.create(name="IVA", country="AR", rate=D("21"))
    PlanProductFactory(sku="T-ANNUAL", price=D("490.00"), interval="year")
    PlanProductFactory(sku="T-MONTH", price=D("199.00"), plan_code="professional")
    order_checkout(tenant=world.alpha, items=[{"sku": "T-ANNUAL"}], gateway_code="sandbox", token="tok_visa",
                   actor=ACTOR, billing_address={"country": "AR"})
    order_checkout(tenant=world.beta, items=[{"sku": "T-MONTH"}], gateway_code="sandbox", token="tok_visa",
                   actor=ACTOR, billing_address={"country": "AR"})
    summary = revenue_summary()
    assert summary["mrr"] == D("40.83") + D("199.00")
    assert summary["arr"] == summary["mrr"] * 12
    assert summary["accounts"] == 2 and summary["arpa"] == D("119.92")


def test_coupon_conversion(world):
    ProductFactory(sku="T-C")
    CouponFactory(code="HALF", value=D("50"))
    order_checkout(tenant=world.alpha, items=[{"sku": "T-C"}], coupon_code="HALF", gateway_code="sandbox",
                   token="tok_visa", actor=ACTOR)
    with pytest.raises(Exception):
        order_checkout(tenant=world.beta, items=[{"sku": "T-C"}], coupon_code="HALF", gateway_code="sandbox",
                       token="tok_chargeDeclined", actor=ACTOR)
    [row] = [r for r in coupon_conversion() if r["code"] == "HALF"]
    assert (row["attempts"], row["paid"], row["conversion"], row["revenue"]) == (2, 1, D("50.00"), D("50.00"))


def test_staff_revenue_page_shows_figures_and_an_inline_svg_chart(world, public_client, mrr_fixture):
    response = public_client(world.staff).get("/admin/billing/revenue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'aria-label="MRR by month"' in html
    assert 'data-metric="mrr"' in html and "http://" not in html.split("<svg")[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", "")
    # members and anonymous users are sent to the admin login
    assert public_client(world.user("alpha_owner")).get("/admin/billing/revenue/").status_code == 302
    assert public_client().get("/admin/billing/revenue/").status_code == 302


def test_operators_admin_lists_every_billing_model(world, public_client):
    ProductFactory(sku="T-ADM")
    order_checkout(tenant=world.alpha, items=[{"sku": "T-ADM"}], gateway_code="sandbox", token="tok_visa",
                   actor=ACTOR, save_payment_method=True)
    client = public_client(world.staff)
    for model in ("category", "product", "review", "coupon", "couponredemption", "taxrate", "paymentgateway",
                  "paymentmethod", "order", "invoice", "documentcounter", "gatewayevent", "subscription",
                  "mrrmovement"):
        response = client.get(f"/admin/billing/{model}/", {"q": "a"})
        assert response.status_code == 200, model
    order = Order.objects.get(tenant=world.alpha)
    assert client.get(f"/admin/billing/order/{order.pk}/change/").status_code == 200


def test_admin_refund_and_retry_actions(world, public_client):
    ProductFactory(sku="T-ACT")
    paid = order_checkout(tenant=world.alpha, items=[{"sku": "T-ACT"}], gateway_code="sandbox", token="tok_visa",
                          actor=ACTOR, save_payment_method=True).order
    with pytest.raises(Exception):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-ACT"}], gateway_code="sandbox",
                       token="tok_chargeDeclined", actor=ACTOR)
    failed = Order.objects.get(tenant=world.alpha, status="payment_failed")
    client = public_client(world.staff)
    client.post("/admin/billing/order/", {"action": "refund_orders", "_selected_action": [paid.pk]})
    client.post("/admin/billing/order/", {"action": "retry_payment", "_selected_action": [failed.pk]})
    paid.refresh_from_db()
    failed.refresh_from_db()
    assert paid.status == "refunded" and paid.invoices.filter(kind="credit_note").count() == 1
    assert failed.status == "paid" and failed.invoices.count() == 1


def test_portal_owner_buys_upgrades_and_downloads(world, alpha_client):
    PlanProductFactory(sku="T-P-START", name="Starter plan", price=D("49.00"))
    PlanProductFactory(sku="T-P-PRO", name="Pro plan", price=D("199.00"), plan_code="professional")
    client = alpha_client(world.user("alpha_owner"))
    page = client.get("/billing/")
    assert page.status_code == 200 and b"No subscription yet" in page.content
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post("/billing/buy/", {"sku": "T-P-START", "token": "tok_visa", "idempotency_key": key})
    html = response.content.decode()
    assert response.status_code == 201 and "data-license-key" in html and "Paid: order" in html
    assert "no-store" in response["Cache-Control"]
    # the key is shown once: on the purchase's own page, never kept in the session
    assert "billing_issued_keys" not in client.session
    assert "data-license-key" not in client.get("/billing/").content.decode()
    response = client.post("/billing/plan/", {"sku": "T-P-PRO"}, follow=True)
    assert "Now on Pro plan" in response.content.decode()
    sub = Subscription.objects.get(tenant=world.alpha)
    assert sub.product.sku == "T-P-PRO"
    invoice = sub.orders.filter(kind="proration").get().invoices.get()
    pdf = client.get(f"/billing/invoices/{invoice.number}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.post("/billing/cards/", {"token": "tok_mastercard"})
    assert "···· 4444" in client.get("/billing/").content.decode()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_portal_is_for_owners(world, alpha_client, role):
    assert alpha_client(world.user(f"alpha_{role}")).get("/billing/").status_code == 403


def test_load_billing_demo_is_idempotent(world, capsys):
    call_command("load_billing_demo")
    call_command("load_billing_demo", "--tenant", "alpha")
    assert Product.objects.filter(sku__startswith="CEL-").count() == 7
    assert Product.objects.filter(sku__startswith="CDP-").exclude(plan_code="").count() == 6
    assert set(TaxRate.objects.values_list("country", flat=True)) >= {"AR", "BR", "MX", "CL", "CO", "US"}
    assert Coupon.objects.filter(code="WELCOME10").exists()
    assert Product.objects.get(sku="CEL-CRM-GLB").is_subscription
    assert "Billing demo data loaded." in capsys.readouterr().out

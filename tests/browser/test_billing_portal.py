"""An owner buys a plan, sees the license key once, upgrades and downloads an invoice, in Chromium.

The live server reads committed rows, so the catalog is committed from a thread before the test
and everything billing wrote for alpha is removed after it."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _committed(fn):
    from django.db import connection

    errors = []

    def run():
        try:
            fn()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not errors, errors


@pytest.fixture
def billing_catalog(_world):
    from billing.models import (
        CouponRedemption, DocumentCounter, Invoice, MrrMovement, Order, OrderItem, PaymentAttempt, PaymentMethod,
        Product, Subscription,
    )
    from licensing.models import License
    from tenants.models import AuditLog

    state = {}

    def setup():
        state["inv"] = DocumentCounter.objects.get_or_create(series="INV")[0].last_number
        state["licenses"] = set(License.objects.filter(tenant=_world.alpha).values_list("id", flat=True))
        for sku, name, price, plan in (("T-BR-START", "Browser Starter", D("49.00"), "starter"),
                                       ("T-BR-PRO", "Browser Pro", D("199.00"), "professional")):
            Product.objects.create(sku=sku, name=name, price=price, interval="month", plan_code=plan)

    def cleanup():
        orders = list(Order.objects.filter(tenant=_world.alpha).values_list("id", flat=True))
        Invoice.objects.filter(order_id__in=orders, kind="credit_note").delete()
        Invoice.objects.filter(order_id__in=orders).delete()
        CouponRedemption.objects.filter(order_id__in=orders).delete()
        PaymentAttempt.objects.filter(order_id__in=orders).delete()
        OrderItem.objects.filter(order_id__in=orders).delete()
        Order.objects.filter(id__in=orders).delete()
        MrrMovement.objects.filter(tenant=_world.alpha).delete()
        Subscription.objects.filter(tenant=_world.alpha).delete()
        PaymentMethod.objects.filter(tenant=_world.alpha).delete()
        License.objects.filter(tenant=_world.alpha).exclude(id__in=state["licenses"]).delete()
        AuditLog.objects.filter(tenant=_world.alpha, resource_type__startswith="billing_").delete()
        Product.objects.filter(sku__startswith="T-BR-").delete()
        DocumentCounter.objects.filter(series="INV").update(last_number=state["inv"])

    _committed(setup)
    yield
    _committed(cleanup)


def test_owner_buys_a_plan_upgrades_and_sees_invoices(page, live_url, billing_catalog):
    base = live_url("alpha.localhost")
    page.goto(f"{base}/billing/")
    page.get_by_label("Email").fill("owner@alpha.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/billing/")
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").is_visible()
    assert page.get_by_role("heading", name="Billing", exact=True).is_visible()

    # buy the starter plan with the sandbox's approving test card
    page.get_by_label("Product").select_option("T-BR-START")
    page.locator("#buy-token").fill("tok_visa")
    page.get_by_role("button", name="Pay").click()
    key = page.locator("[data-license-key]")
    assert key.is_visible() and len(key.inner_text()) > 10
    assert page.locator("[data-current-plan]").inner_text() == "Browser Starter"
    assert page.locator("[data-card='4242']").is_visible()
    assert page.locator("[data-invoice]").count() == 1

    # the key is gone on the next visit (it was only in the answer to the purchase, not in the session)
    page.goto(f"{base}/billing/")
    assert page.locator("[data-license-key]").count() == 0

    # upgrade: prorated charge on the saved card, a second invoice
    page.get_by_role("button", name="Upgrade to Browser Pro").click()
    assert "Now on Browser Pro" in page.get_by_role("status").inner_text()
    assert page.locator("[data-current-plan]").inner_text() == "Browser Pro"
    assert page.locator("[data-invoice]").count() == 2

    # a second subscription is refused (change the plan instead)
    page.get_by_label("Product").select_option("T-BR-START")
    page.locator("#buy-token").fill("tok_chargeDeclined")
    page.get_by_role("button", name="Pay").click()
    assert "already has a subscription" in page.locator(".messages").inner_text()

    with page.expect_download() as download:
        page.locator("[data-invoice]").first.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename.startswith("INV-")


def test_a_viewer_cannot_open_billing(page, live_url, billing_catalog):
    base = live_url("alpha.localhost")
    page.goto(f"{base}/billing/")
    page.get_by_label("Email").fill("viewer@alpha.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "Billing" not in page.locator("h1").first.inner_text()

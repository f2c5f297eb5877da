"""Owners' billing portal on a tenant's host: plan and usage, invoices, cards, upgrade/downgrade."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing.forms import BuyForm, CardForm, PlanChangeForm
from billing.pdf import invoice_pdf
from billing.selectors import invoice_get, invoice_list, order_list, payment_method_list, product_list, \
    subscription_current
from billing.services import (
    PaymentDeclined,
    order_checkout,
    payment_method_add,
    payment_method_delete,
    proration_quote,
    subscription_cancel,
    subscription_change_plan,
    subscription_payment_retry,
)
from cdp.exceptions import ApplicationError
from licensing.selectors import license_usage
from tenants.roles import BILLING
from tenants.services import actor_from_request
from tenants.views import portal_page


def _error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


@portal_page(BILLING)
def overview(request):
    tenant = connection.tenant
    subscription = subscription_current(tenant=tenant)
    plans = list(product_list().filter(plan_code__gt="").exclude(interval="one_time").order_by("price"))
    quotes = []
    if subscription is not None and subscription.status == "active":
        from django.utils import timezone

        now = timezone.now()
        quotes = [(p, proration_quote(subscription=subscription, product=p, now=now)) for p in plans
                  if p.pk != subscription.product_id]
    return render(request, "billing/overview.html", {
        "subscription": subscription,
        "usage": license_usage(tenant=tenant),
        "invoices": list(invoice_list(tenant=tenant).order_by("-issued_at", "-id")[:50]),
        "orders": list(order_list(tenant=tenant).order_by("-created_at", "-id")[:20]),
        "methods": list(payment_method_list(tenant=tenant).order_by("-is_default", "-created_at")),
        "plans": plans, "quotes": quotes,
        "products": list(product_list().order_by("-is_featured", "name")),
        "card_form": CardForm(), "buy_form": BuyForm(), "plan_form": PlanChangeForm(),
        "issued_keys": request.session.pop("billing_issued_keys", []),
    })


@portal_page(BILLING)
@require_POST
def buy(request):
    form = BuyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a product and give a card token.")
        return redirect("billing:overview")
    try:
        result = order_checkout(tenant=connection.tenant, items=[{"sku": form.cleaned_data["sku"].sku, "quantity": 1}],
                                coupon_code=form.cleaned_data["coupon"] or None, gateway_code="sandbox",
                                token=form.cleaned_data["token"], actor=actor_from_request(request),
                                save_payment_method=True)
    except PaymentDeclined as exc:
        messages.error(request, f"Payment declined: {exc.message} (order {exc.order.order_number}).")
    except ApplicationError as exc:
        _error(request, exc)
    else:
        if result.pending:
            messages.info(request, f"Order {result.order.order_number} waits for your bank's confirmation.")
        else:
            messages.success(request, f"Paid: order {result.order.order_number}, invoice {result.invoice.number}.")
            # Shown once on the next page, then gone from the session.
            request.session["billing_issued_keys"] = [{"plan": k.plan, "key": k.key} for k in result.licenses]
    return redirect("billing:overview")


@portal_page(BILLING)
@require_POST
def change_plan(request):
    form = PlanChangeForm(request.POST)
    subscription = subscription_current(tenant=connection.tenant)
    if not form.is_valid() or subscription is None:
        messages.error(request, "Choose a plan (and have a subscription).")
        return redirect("billing:overview")
    try:
        sub, proration, order = subscription_change_plan(subscription=subscription, product=form.cleaned_data["sku"],
                                                         actor=actor_from_request(request))
    except PaymentDeclined as exc:
        messages.error(request, f"Payment declined: {exc.message}. The plan did not change.")
    except ApplicationError as exc:
        _error(request, exc)
    else:
        if order is not None:
            messages.success(request, f"Now on {sub.product.name}: charged {order.total} (prorated).")
        else:
            messages.success(request, f"Now on {sub.product.name}: {-proration.net} credited to your next renewal.")
    return redirect("billing:overview")


@portal_page(BILLING)
@require_POST
def card_add(request):
    form = CardForm(request.POST)
    if form.is_valid():
        try:
            method = payment_method_add(tenant=connection.tenant, gateway_code="sandbox",
                                        token=form.cleaned_data["token"], actor=actor_from_request(request))
        except ApplicationError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"Saved {method}.")
    return redirect("billing:overview")


@portal_page(BILLING)
@require_POST
def card_delete(request, pk: int):
    try:
        payment_method_delete(tenant=connection.tenant, payment_method_id=pk, actor=actor_from_request(request))
    except ApplicationError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Card removed.")
    return redirect("billing:overview")


@portal_page(BILLING)
@require_POST
def pay_now(request):
    subscription = subscription_current(tenant=connection.tenant)
    try:
        if subscription is None:
            raise ApplicationError("No subscription.")
        paid = subscription_payment_retry(subscription=subscription, actor=actor_from_request(request))
    except ApplicationError as exc:
        _error(request, exc)
    else:
        (messages.success if paid else messages.error)(
            request, "Payment received." if paid else "The payment failed again; try another card.")
    return redirect("billing:overview")


@portal_page(BILLING)
@require_POST
def cancel(request):
    subscription = subscription_current(tenant=connection.tenant)
    if subscription is not None:
        subscription_cancel(subscription=subscription, actor=actor_from_request(request))
        messages.success(request, "The subscription ends with the current period.")
    return redirect("billing:overview")


@portal_page(BILLING)
def invoice_download(request, number: str):
    invoice = invoice_get(tenant=connection.tenant, number=number)
    if invoice is None:
        raise Http404("No such invoice.")
    response = HttpResponse(invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response

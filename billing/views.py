"""Owners' billing portal on a tenant's host: plan and usage, invoices, cards, upgrade/downgrade."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.forms import BuyForm, CardForm, PlanChangeForm
from billing.gateways.sandbox import TOKENS
from billing.models import Order, PaymentAttempt
from billing.pdf import invoice_pdf
from billing.selectors import (
    invoice_get,
    invoice_list,
    order_list,
    payment_method_list,
    product_list,
    PORTAL_GATEWAY,
    checkout_test_mode,
    subscription_current,
)
from billing.services import (
    IdempotencyConflict,
    PaymentDeclined,
    PaymentReversed,
    idempotent_run,
    order_checkout,
    payment_method_add,
    payment_method_delete,
    proration_quote,
    subscription_cancel,
    subscription_change_plan,
    subscription_payment_retry,
)
from billing.services.idempotency import idempotency_principal
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from licensing.selectors import license_usage
from tenants.roles import BILLING
from tenants.views import portal_page


def _error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


def _overview(request, *, outcome: dict | None = None, status: int = 200) -> HttpResponse:
    tenant = connection.tenant
    # Keys were once kept here until the next page view; drop any such leftover unseen.
    request.session.pop("billing_issued_keys", None)
    subscription = subscription_current(tenant=tenant)
    plans = list(product_list().filter(plan_code__gt="").exclude(interval="one_time").order_by("price"))
    quotes = []
    if subscription is not None and subscription.status == "active":
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
        "card_form": CardForm(), "plan_form": PlanChangeForm(),
        # One key per rendered form: a double click or a refresh-resubmit of this form buys once.
        "buy_form": BuyForm(initial={"idempotency_key": uuid.uuid4().hex}),
        "outcome": outcome,
        # Test card details appear only when the checkout charges the sandbox (test mode).
        "test_mode": checkout_test_mode(), "test_tokens": list(TOKENS),
    }, status=status)


def overview_section(*, tenant, request) -> dict:
    """The overview's subscription line, under the plan (registered in ``cdp.registry``)."""
    return {"subscription": subscription_current(tenant=tenant), "test_mode": checkout_test_mode()}


@portal_page(BILLING)
def overview(request):
    return _overview(request)


def _buy_answer(result) -> tuple[int, dict]:
    order = result.order
    if result.pending:
        return 202, {"kind": "info", "order_number": order.order_number, "licenses": [],
                     "message": _("Order %(order)s waits for your bank's confirmation.") % {"order": order.order_number}}
    return 201, {"kind": "success", "order_number": order.order_number, "licenses": [
        {"plan": k.plan, "key": k.key} for k in result.licenses],
        "message": _("Paid: order %(order)s, invoice %(invoice)s.") % {
            "order": order.order_number, "invoice": result.invoice.number if result.invoice else "-"}}


def _buy_recover(order: Order) -> tuple[int, dict] | None:
    """What a purchase became when the request that made it ended without an answer."""
    order = Order.objects.get(pk=order.pk)
    number = {"order": order.order_number}
    if order.paid_at is not None:
        return 201, {"kind": "success", "order_number": order.order_number, "licenses": [],
                     "message": _("Paid: order %(order)s.") % number}
    if order.status == Order.Status.PAYMENT_FAILED:
        return 402, {"kind": "error", "order_number": order.order_number, "licenses": [],
                     "message": _("Payment declined (order %(order)s).") % number}
    if order.status == Order.Status.PENDING:
        if order.attempts.filter(status=PaymentAttempt.Status.PENDING).exclude(transaction_id="").exists():
            return 202, {"kind": "info", "order_number": order.order_number, "licenses": [],
                         "message": _("Order %(order)s waits for your bank's confirmation.") % number}
        return None
    return 409, {"kind": "error", "order_number": order.order_number, "licenses": [],
                 "message": _("Order %(order)s could not be completed; the charge was refunded.") % number}


@portal_page(BILLING)
@require_POST
def buy(request):
    """Pay for a product and answer with the billing page showing the result (and any new license
    key) in this response: the keys are never stored in the session. The form's idempotency key makes a double click or a
    refresh-resubmit buy once; the repeat shows the same result."""
    form = BuyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a product and give a card token (reload the page if this persists)."))
        return redirect("billing:overview")
    cleaned = form.cleaned_data
    actor = actor_from_request(request)

    def execute(record_id: int | None) -> tuple[int, dict]:
        try:
            result = order_checkout(tenant=connection.tenant, items=[{"sku": cleaned["sku"].sku, "quantity": 1}],
                                    coupon_code=cleaned["coupon"] or None, gateway_code=PORTAL_GATEWAY,
                                    token=cleaned["token"], actor=actor, save_payment_method=True,
                                    idempotency_record_id=record_id)
        except PaymentDeclined as exc:
            return 402, {"kind": "error", "licenses": [], "order_number": exc.order.order_number if exc.order else "",
                         "message": _("Payment declined: %(reason)s (order %(order)s).") % {
                             "reason": exc.message, "order": exc.order.order_number if exc.order else "-"}}
        except PaymentReversed as exc:
            return 409, {"kind": "error", "licenses": [], "message": exc.message,
                         "order_number": exc.order.order_number if exc.order else ""}
        except ApplicationError as exc:
            return exc.http_status, {"kind": "error", "licenses": [], "order_number": "", "message": exc.message}
        return _buy_answer(result)

    try:
        answer = idempotent_run(tenant=connection.tenant, principal=idempotency_principal(actor),
                                operation="portal_buy", key=cleaned["idempotency_key"],
                                params={"sku": cleaned["sku"].sku, "coupon": cleaned["coupon"], "token": cleaned["token"]},
                                execute=execute, recover=_buy_recover)
    except IdempotencyConflict as exc:
        status, outcome = 409, {"kind": "error", "licenses": [], "order_number": "", "message": exc.message}
    else:
        status, outcome = answer.status, answer.body
    response = _overview(request, outcome=outcome, status=status)
    add_never_cache_headers(response)  # it may show a license key
    return response


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
            method = payment_method_add(tenant=connection.tenant, gateway_code=PORTAL_GATEWAY,
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

"""The member page (``/member/`` on the tenant's host): a member of the loyalty program sees their
points, tier and progress, vouchers, referral code and history, after signing in with a one-time
link (``loyalty.services.member``). No staff account and no password: the member's session holds
only ``{schema, customer_id, until}``, checked against the host's tenant on every request, so a
session or link of one tenant never opens another tenant's page."""

from __future__ import annotations

import time

from django import forms
from django.db import connection
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cdp.ids import parse_id
from loyalty import conf
from loyalty.selectors import member_current, member_overview
from loyalty.services.member import MemberLinkInvalid, member_link_find, member_link_request, member_link_use

SESSION_KEY = "loyalty_member"


class MemberLinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)


def member_signed_in(request) -> int | None:
    """The member this browser signed in as on this tenant's host (None: nobody, expired, another
    tenant's session, or a customer merged away or erased since)."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("schema") != connection.schema_name:
        return None
    if not isinstance(data.get("until"), (int, float)) or data["until"] < time.time():
        return None
    customer_id = parse_id(data.get("customer_id"))
    return customer_id if customer_id is not None and member_current(customer_id=customer_id) else None


@never_cache
@require_http_methods(["GET", "POST"])
def member_home(request):
    """Signed in: the member's page. Otherwise: ask for a sign-in link by e-mail."""
    customer_id = member_signed_in(request)
    if customer_id is not None:
        return render(request, "loyalty/member/home.html", member_overview(customer_id=customer_id))
    form = MemberLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member_link_request(email=form.cleaned_data["email"], scheme=request.scheme, port=request.get_port())
        # The same answer whether or not the address is a member's.
        return render(request, "loyalty/member/link_sent.html")
    return render(request, "loyalty/member/sign_in.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def member_sign_in(request, token: str):
    """The link from the e-mail: a page with one button (mail scanners that open links do not
    spend it); the POST signs the member in."""
    if request.method == "GET":
        if member_link_find(token=token) is None:
            return render(request, "loyalty/member/link_invalid.html", status=410)
        return render(request, "loyalty/member/confirm.html")
    try:
        customer_id = member_link_use(token=token)
    except MemberLinkInvalid:
        return render(request, "loyalty/member/link_invalid.html", status=410)
    request.session.cycle_key()  # a new session id for the signed-in member (no fixation)
    request.session[SESSION_KEY] = {"schema": connection.schema_name, "customer_id": customer_id,
                                    "until": time.time() + 3600 * conf.get("LOYALTY_MEMBER_SESSION_HOURS")}
    return HttpResponseRedirect(reverse("member:home"))


@require_POST
def member_sign_out(request):
    request.session.pop(SESSION_KEY, None)
    return HttpResponseRedirect(reverse("member:home"))

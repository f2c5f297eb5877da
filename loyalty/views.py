"""The member page (``/member/`` on the tenant's host): a member of the loyalty program sees their
points, tier and progress, vouchers, referral code and history, after signing in with a one-time
link (``loyalty.services.member``). No staff account and no password: the member's session holds
only ``{schema, customer_id, until}``, checked against the host's tenant on every request, so a
session or link of one tenant never opens another tenant's page."""

from __future__ import annotations

import datetime
import time

from django import forms
from django.db import connection
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cdp.ids import parse_id
from tenants.roles import ANALYTICS
from tenants.views import portal_page
from loyalty import charts, conf
from loyalty.selectors import member_current, member_overview, program_report
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


# --- staff: the program's figures (portal) ----------------------------------------------------------

class ProgramPeriodForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start must not be after the end."))
        return data


@portal_page(ANALYTICS)
def program_page(request):
    """The loyalty program's figures for a period (default the last 30 days), with the monthly chart."""
    form = ProgramPeriodForm(request.GET or None)
    until = timezone.localdate()
    since = until - datetime.timedelta(days=29)
    if form.is_bound and form.is_valid():
        until = form.cleaned_data.get("until") or until
        since = form.cleaned_data.get("since") or until - datetime.timedelta(days=29)
    report = program_report(since=since, until=until)
    chart = charts.paired_bars(
        [(date_format(row["month"], "M Y"), row["issued"], row["redeemed"]) for row in report["months"]],
        title=gettext("Points issued and redeemed per month"), legend=(gettext("Issued"), gettext("Redeemed")))
    return render(request, "loyalty/program.html", {"report": report, "form": form, "chart": chart},
                  status=400 if form.is_bound and not form.is_valid() else 200)

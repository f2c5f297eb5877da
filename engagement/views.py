"""Portal pages of engagement (campaigns with their results, audience destinations), and the
pages a message's reader opens: the double opt-in confirmation and tracked links' redirect.

The double opt-in confirmation, ``/engagement/opt-in/<token>/``: ``GET`` shows the question and a
button and changes nothing (mail scanners and link previews fetch every URL in a message);
``POST`` confirms. No CSRF check: the signed token is the authorization, the reader has no
session on this host, and all a POST can do is confirm the subscription that token names.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cdp.context import client_ip
from cdp.exceptions import NotFound
from engagement import selectors
from tenants.views import paginate, portal_page
from engagement.services.optin import OptInTokenInvalid, opt_in_confirm, opt_in_token_read
from engagement.services.tracking import notification_click

TEMPLATE = "engagement/opt_in_confirm.html"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def opt_in_confirm_page(request, token: str):
    try:
        pending = opt_in_token_read(token)
        if request.method == "POST":
            pending, _ = opt_in_confirm(token=token, ip_address=client_ip(request.META),
                                        user_agent=request.headers.get("User-Agent", "")[:500])
    except OptInTokenInvalid:
        return render(request, TEMPLATE, {"invalid": True}, status=404)
    return render(request, TEMPLATE, {"done": pending.status == pending.Status.CONFIRMED})


@require_http_methods(["GET", "HEAD"])
def click_redirect(request, token: str):
    """A tracked link: count the click, then go where the message pointed (the signed token says
    where: no open redirect)."""
    try:
        target = notification_click(token=token)
    except NotFound:
        raise Http404("This link is not valid.") from None
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


#: Channel names as the portal shows them (customers' choices are not translated).
CHANNEL_LABELS = {"email": pgettext_lazy("channel", "E-mail"), "whatsapp": pgettext_lazy("channel", "WhatsApp"),
                  "sms": pgettext_lazy("channel", "SMS")}


@portal_page()
def campaign_list_page(request):
    page = paginate(request, selectors.campaign_list())
    for campaign in page:
        campaign.channel_label = CHANNEL_LABELS.get(campaign.template.channel, campaign.template.channel)
    return render(request, "engagement/campaigns.html", {"page": page})


@portal_page()
def campaign_results_page(request, pk: int):
    try:
        campaign = selectors.campaign_get(campaign_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    days = selectors.engagement_settings().attribution_days
    results = selectors.campaign_results(campaign_id=campaign.pk, days=days)
    sent = results["sent"] or 0
    rows = [(label, value, round(100 * value / sent) if sent else 0) for label, value in (
        (_("Sent"), sent), (_("Delivered"), results["counts"]["delivered"] + results["counts"]["read"]),
        (_("Read"), results["counts"]["read"]), (_("Clicked"), results["clicked"]),
        (_("Unsubscribed"), results["unsubscribed"]))]
    return render(request, "engagement/campaign_results.html",
                  {"campaign": campaign, "results": results, "rows": rows})


@portal_page()
def destination_list_page(request):
    return render(request, "engagement/destinations.html",
                  {"page": paginate(request, selectors.audience_destination_list())})

"""Pages a message's reader opens.

The double opt-in confirmation, ``/engagement/opt-in/<token>/``: ``GET`` shows the question and a
button and changes nothing (mail scanners and link previews fetch every URL in a message);
``POST`` confirms. No CSRF check: the signed token is the authorization, the reader has no
session on this host, and all a POST can do is confirm the subscription that token names.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cdp.context import client_ip
from engagement.services.optin import OptInTokenInvalid, opt_in_confirm, opt_in_token_read

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

"""The one-click unsubscribe page, ``/customers/unsubscribe/<token>/`` on the tenant's host.

- ``GET`` shows what the link withdraws and a button: it changes nothing, because mail scanners
  and link previews fetch every URL in a message.
- ``POST`` withdraws: the button, or the mail client's own one-click request (RFC 8058: a POST with
  ``List-Unsubscribe=One-Click`` and no cookies), hence no CSRF check: the signed token is the
  authorization, and it only ever withdraws a consent.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cdp.context import client_ip
from customers.services.consent import ConsentTokenInvalid, consent_unsubscribe, unsubscribe_token_read


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request, token: str):
    try:
        data = unsubscribe_token_read(token)
    except ConsentTokenInvalid:
        return render(request, "customers/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        try:
            consent_unsubscribe(token=token, ip_address=client_ip(request.META),
                                user_agent=request.headers.get("User-Agent", "")[:500])
        except ConsentTokenInvalid:
            return render(request, "customers/unsubscribe.html", {"invalid": True}, status=404)
        done = True
    return render(request, "customers/unsubscribe.html",
                  {"done": done, "channel": data["ch"], "purpose": data["p"], "token": token})

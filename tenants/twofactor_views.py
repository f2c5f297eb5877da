"""Two-factor sign-in pages, on every host (tenants' and the platform's): enrolment with a QR code,
the code step after the password, recovery codes shown once; and the portal page where a tenant's
owners and admins require it of every member. The rules are in tenants/services/twofactor.py."""

from __future__ import annotations

import base64
import binascii

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from tenants.models import RecoveryCodeDevice, Tenant
from tenants.roles import SECURITY
from tenants.selectors import tenant_requires_two_factor, two_factor_enrolled, two_factor_required
from tenants.services.twofactor import (
    recovery_codes_regenerate,
    tenant_two_factor_set,
    totp_enrol,
    totp_pending_device,
    totp_secret_new,
    two_factor_verify,
)
from tenants.views import portal_page

PENDING_KEY = "two_factor_pending_key"  # the secret being enrolled: in the server-side session only


def _host_tenant() -> Tenant | None:
    tenant = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Tenant) and not tenant.is_public else None


def _next_url(request) -> str:
    default = "/" if _host_tenant() else reverse("admin:index")
    candidate = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return default
    return candidate


def _sign_in_redirect(request):
    login_name = "portal:login" if _host_tenant() else "admin:login"
    return redirect(f"{reverse(login_name)}?{urlencode({'next': request.get_full_path()})}")


def _logout_url() -> str:
    return reverse("portal:logout" if _host_tenant() else "admin:logout")


def _credentials(user) -> dict:
    # The account counter of django-axes (tenants/auth.py): the same key a password guess counts under.
    return {"username": user.email}


def _locked_out(request):
    """Too many wrong codes or passwords for this account here: the half-signed-in session ends."""
    if not AxesProxyHandler.is_locked(request, _credentials(request.user)):
        return None
    logout(request)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {"two_factor": True}, status=429)


def _secret_groups(key_hex: str) -> str:
    secret = base64.b32encode(binascii.unhexlify(key_hex)).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _recovery_codes_page(request, codes: list[str]):
    return render(request, "portal/two_factor_codes.html", {"codes": codes, "next": _next_url(request),
                                                            "logout_url": _logout_url()})


@never_cache
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Set up an authenticator app (or, once set up and verified, get new recovery codes)."""
    user = request.user
    if not user.is_authenticated:
        return _sign_in_redirect(request)
    actor, tenant = actor_from_request(request), _host_tenant()
    enrolled = two_factor_enrolled(user=user)
    if enrolled and not user.is_verified():
        return redirect(f"{reverse('twofactor:verify')}?{urlencode({'next': _next_url(request)})}")
    if request.method == "POST" and request.POST.get("action") == "regenerate" and enrolled:
        try:
            codes = recovery_codes_regenerate(user=user, actor=actor, tenant=tenant)
        except ApplicationError as exc:
            return render(request, "portal/two_factor_enrol.html", {"error": exc.as_text(), "enrolled": True,
                                                                     "logout_url": _logout_url()}, status=400)
        return _recovery_codes_page(request, codes)
    if enrolled and request.method == "GET":
        device = RecoveryCodeDevice.objects.filter(user=user).first()
        return render(request, "portal/two_factor_enrol.html", {
            "enrolled": True, "codes_left": device.remaining() if device else 0, "next": _next_url(request),
            "logout_url": _logout_url()})
    key = request.session.get(PENDING_KEY) or totp_secret_new()
    request.session[PENDING_KEY] = key
    error, status = None, 200
    if request.method == "POST":
        try:
            device, codes = totp_enrol(user=user, key=key, token=request.POST.get("token", ""), actor=actor,
                                       tenant=tenant)
        except ApplicationError as exc:
            error, status = exc.fields.get("token", [exc.message])[0], 400
        else:
            request.session.pop(PENDING_KEY, None)
            otp_login(request, device)
            return _recovery_codes_page(request, codes)
    uri = totp_pending_device(user=user, key=key).config_url
    return render(request, "portal/two_factor_enrol.html", {
        "enrolled": False, "qr_svg": segno.make(uri, error="m").svg_inline(scale=5, dark="#111827"),
        "secret": _secret_groups(key), "otpauth_uri": uri, "error": error, "next": _next_url(request),
        "required": two_factor_required(user=user, tenant=getattr(connection, "tenant", None)),
        "logout_url": _logout_url(),
    }, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step after the password: a code from the app, or a recovery code."""
    user = request.user
    if not user.is_authenticated:
        return _sign_in_redirect(request)
    if not two_factor_enrolled(user=user):
        return redirect(f"{reverse('twofactor:enrol')}?{urlencode({'next': _next_url(request)})}")
    if user.is_verified():
        return redirect(_next_url(request))
    locked = _locked_out(request)
    if locked:
        return locked
    error, status = None, 200
    if request.method == "POST":
        try:
            device = two_factor_verify(user=user, token=request.POST.get("token", ""),
                                       actor=actor_from_request(request), tenant=_host_tenant())
        except ApplicationError as exc:
            user_login_failed.send(sender=__name__, credentials={**_credentials(user), "password": "********"},
                                   request=request)
            locked = _locked_out(request)
            if locked:
                return locked
            error, status = exc.fields.get("token", [exc.message])[0], 400
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(request, "portal/two_factor_verify.html", {"error": error, "next": _next_url(request),
                                                             "logout_url": _logout_url()}, status=status)


@portal_page(SECURITY)
@require_http_methods(["GET", "POST"])
def tenant_policy(request):
    """Owners and admins require two-factor sign-in of every member (only owners stop requiring it)."""
    tenant = connection.tenant
    error, status = None, 200
    if request.method == "POST":
        try:
            tenant_two_factor_set(tenant=tenant, required=request.POST.get("required") == "on",
                                  actor=actor_from_request(request))
        except ApplicationError as exc:
            error, status = exc.as_text(), 403 if exc.http_status == 403 else 400
        else:
            return redirect("portal:two_factor_policy")
    return render(request, "portal/two_factor_policy.html", {
        "required": tenant_requires_two_factor(tenant), "error": error,
        "enrolled": two_factor_enrolled(user=request.user)}, status=status)

"""Per-request enforcement and bookkeeping of sign-in sessions (``tenants.models.UserSession``),
and the language and time zone each request is served in."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.auth import logout
from django.db import connection
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from cdp.api.errors import json_error_response
from cdp.context import client_ip
from tenants.codes import ErrorCode
from tenants.locale import supported_language, tenant_language, tenant_timezone
from tenants.models import Tenant, session_key_hash
from tenants.roles import BILLING
from tenants.selectors import maintenance_state, two_factor_enrolled, two_factor_required, user_capabilities, user_session_lookup
from tenants.services.sessions import TOUCH_INTERVAL, SessionEnded, user_session_start, user_session_touch
from tenants.views import suspended_page


class UserSessionMiddleware:
    """Signs out a revoked session on its very next request, records sign-ins, keeps last_seen.

    Placed right after ``AuthenticationMiddleware``. On a request with an authenticated session:

    - one query by the unique ``key_hash`` index (``user_session_lookup``). The check is not
      throttled and not cached: a revoked session must not get one more request through, and a
      database row has no invalidation to get wrong (a Redis copy would need a cross-host,
      tenant-aware key and a delete that can fail). The cost is one index lookup next to the two
      queries Django's session authentication already makes;
    - an ended row (revoked, signed out, expired) -> ``logout()``: the Django session is deleted
      and the request continues anonymous, so the page redirects to sign-in and the API answers
      401, before any view runs;
    - no row (a session from before this feature, or one signed in by the test client) -> it is
      recorded now;
    - ``last_seen_at`` is written at most once a minute per session (``user_session_touch``).

    After the view: if the session key changed while the user is authenticated (a sign-in, or a
    key rotation on password change), the new key is recorded. A rotation re-keys the same row;
    if that row was revoked while the request ran, the request is signed out, so a revoked
    session cannot come back under a new key. Requests without a session cookie cost nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start_key, row_id = self._check(request)
        request.user_session_id = row_id  # the views that show "this session" read it here
        response = self.get_response(request)
        self._record_new_key(request, start_key, row_id)
        return response

    def _check(self, request) -> tuple[str | None, int | None]:
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        if not key:
            return None, None
        user = request.user
        if not user.is_authenticated:
            return key, None
        row = user_session_lookup(key_hash=session_key_hash(key))
        if row is None:
            try:
                return key, self._start(request, key).pk
            except SessionEnded:
                self._sign_out(request)
                return None, None
        if row["ended_at"] is not None or row["user_id"] != user.pk:
            self._sign_out(request)
            return None, None
        if timezone.now() - row["last_seen_at"] >= TOUCH_INTERVAL:
            user_session_touch(session_id=row["id"], ip=client_ip(request.META))
        return key, row["id"]

    def _record_new_key(self, request, start_key: str | None, row_id: int | None) -> None:
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        if key == start_key:
            return
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        if key is None and not session.is_empty():
            # Signing in as someone else flushes the session; Django would give it its new key only
            # after this middleware. Save it now (the later save updates it) so the key is known.
            session.save()
            key = session.session_key
        if not key:
            return
        try:
            self._start(request, key, previous_session_id=row_id)
        except SessionEnded:
            self._sign_out(request)

    def _start(self, request, key: str, previous_session_id: int | None = None):
        return user_session_start(
            user=request.user,
            session_key=key,
            tenant=getattr(connection, "tenant", None),
            ip=client_ip(request.META),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            previous_session_id=previous_session_id,
        )

    @staticmethod
    def _sign_out(request) -> None:
        logout(request)  # flushes (deletes) the Django session and sets request.user anonymous


class TenantStatusMiddleware:
    """The one gate for a tenant that is not active (suspended or cancelled), for every path of
    its host: portal, tenant admin and API alike.

    - the sign-in, sign-out and password-reset pages work, and so does the suspension page;
    - members holding ``billing`` (owners) reach the portal's billing pages, to pay;
    - the API answers 403 ``tenant_inactive`` in its error shape (the VTEX hook included);
    - anyone not signed in is sent to the sign-in page; anyone signed in gets the suspension page
      (403), which says why, for every other page, the tenant admin included.
    Placed after the session middlewares, so ``request.user`` is known."""

    OPEN = frozenset({"portal:login", "portal:logout", "portal:password_reset", "portal:password_reset_done",
                      "portal:password_reset_confirm", "portal:password_reset_complete", "portal:suspended"})
    BILLING_NAMESPACE = "billing"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(connection, "tenant", None)
        if not isinstance(tenant, Tenant) or tenant.is_public or tenant.status == Tenant.Status.ACTIVE:
            return self.get_response(request)
        match = self._resolve(request)
        name = match.view_name if match else ""
        if name in self.OPEN:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return json_error_response(403, ErrorCode.TENANT_INACTIVE, f"This tenant is {tenant.status}.")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")
        if match and match.namespace == self.BILLING_NAMESPACE and self._holds_billing(user, tenant):
            return self.get_response(request)
        return suspended_page(request, status=403)

    @staticmethod
    def _resolve(request):
        try:
            return resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except Resolver404:
            return None

    @staticmethod
    def _holds_billing(user, tenant) -> bool:
        return BILLING in user_capabilities(user=user, tenant=tenant)


API_PREFIX = "/api/"


def request_language(request, tenant) -> str:
    """Who chooses the language of a request, first match wins:

    1. the person's own choice (``User.language``, set with the header's selector);
    2. on the API, the client's ``Accept-Language`` (integrators pick the language of the error
       messages; codes stay the same in every language);
    3. the language cookie the selector sets for people not signed in (the sign-in page);
    4. the tenant's ``language`` setting;
    5. settings.LANGUAGE_CODE.
    A browser's Accept-Language does not override the tenant's choice on the portal: a team sees
    its portal in the language it set, whatever each laptop's system language is."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        chosen = supported_language(getattr(user, "language", ""))
        if chosen:
            return chosen
    if request.path.startswith(API_PREFIX) and request.META.get("HTTP_ACCEPT_LANGUAGE"):
        for code, _quality in translation.trans_real.parse_accept_lang_header(request.META["HTTP_ACCEPT_LANGUAGE"]):
            chosen = supported_language(code)
            if chosen:
                return chosen
    chosen = supported_language(request.COOKIES.get(django_settings.LANGUAGE_COOKIE_NAME))
    if chosen:
        return chosen
    return tenant_language(tenant)


class TenantLocaleMiddleware:
    """Serves each request in its language (``request_language``) and the tenant's time zone.

    Placed after the authentication and session middlewares (it reads the signed-in person's
    choice). Every date and time a template or form shows is then in the tenant's zone (Django
    converts aware datetimes on output with the active zone), and gettext answers in the chosen
    language; both are reset after the response so a thread never carries them to the next request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(connection, "tenant", None)
        language = request_language(request, tenant)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        zone = tenant_timezone(tenant)
        if zone is not None:
            timezone.activate(zone)
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


class TwoFactorMiddleware:
    """The gate of two-factor sign-in, for every path of every host (portal, both admins, the API
    signed in by session): someone who must pass the second step (``two_factor_required``:
    operators always, members of a tenant that requires it, anyone enrolled) and whose session has
    not passed it reaches only the two-factor pages, sign-out and the language switch. Pages
    redirect to enrolment (nobody enrolled yet) or to the code step, with ``next``; the API answers
    403 ``two_factor_required``. API keys are not sessions: they are not asked (DRF authenticates
    them after this middleware, so ``request.user`` is anonymous here). Placed after
    ``OTPMiddleware`` and the session middlewares."""

    OPEN = frozenset({"twofactor:verify", "twofactor:enrol", "portal:logout", "portal:language", "admin:logout",
                      "tenant_admin:logout", "portal:login", "admin:login", "tenant_admin:login"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        tenant = getattr(connection, "tenant", None)
        if not two_factor_required(user=user, tenant=tenant):
            return self.get_response(request)
        match = TenantStatusMiddleware._resolve(request)
        if match and match.view_name in self.OPEN:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return json_error_response(403, ErrorCode.TWO_FACTOR_REQUIRED,
                                       "Two-factor sign-in is required: finish it in the browser first.")
        step = "twofactor:verify" if two_factor_enrolled(user=user) else "twofactor:enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")


class MaintenanceMiddleware:
    """Maintenance mode (the ``maintenance`` system setting): everyone but operators (staff) gets
    503 with ``Retry-After``, a page on the sites and the error shape on the API, on every host;
    the sign-in pages stay open so that operators can sign in, and operators use everything (to
    check the platform before turning it off). The health check and license validation answer
    before this (they are earlier middlewares). Placed before ``TwoFactorMiddleware``."""

    OPEN = frozenset({"portal:login", "portal:logout", "admin:login", "admin:logout", "tenant_admin:login",
                      "tenant_admin:logout", "twofactor:verify", "twofactor:enrol", "portal:language"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = maintenance_state(language=translation.get_language() or "en")
        if state is None:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return self.get_response(request)
        match = TenantStatusMiddleware._resolve(request)
        if match and match.view_name in self.OPEN:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            response = json_error_response(503, ErrorCode.MAINTENANCE,
                                           state["message"] or "The platform is under maintenance.")
        else:
            response = render(request, "503.html", {"maintenance_message": state["message"]}, status=503)
        response["Retry-After"] = str(state["retry_after"])
        return response

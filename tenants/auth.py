"""Sign-in: brute-force limits (django-axes), e-mail sign-in without letter case, and sign-in
forms that count a refusal for "not a member here" as a failed attempt.

How django-axes is set up (settings ``AXES_*`` in ``cdp/settings/base.py``):

- its tables live in the public schema (``axes`` is a shared app), so every host writes and reads
  one set of counters, whichever schema the request switched to;
- two counters, either of which locks: per account (``AXES_ACCOUNT_FAILURE_LIMIT`` failures) and
  per client address (``AXES_IP_FAILURE_LIMIT``, higher, since offices share addresses), each
  over a sliding ``AXES_COOLOFF_TIME``; a locked request gets 429 and the lockout page, and the
  password is not even checked;
- the account counter is per host: ``<host schema>|<email lowercased>``. An e-mail can sign in on
  several tenants' hosts and on the platform host; failures on tenant B's host do not lock the
  person out of tenant A's host (or the operators' admin). Nothing is lost by that: a host where
  the person is not a member refuses even the right password with the same answer, and counts it
  as a failure (``count_refused_sign_in``), so guessing there reveals nothing;
- the address counter is global (an address guessing on many hosts is one attacker);
- success does not reset the counters (``AXES_RESET_ON_SUCCESS = False``): an attacker holding one
  valid account could otherwise wipe its address's failures between guesses.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_lockout_parameters
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from cdp.context import client_ip
from tenants.models import PasswordResetRequest
from tenants.selectors import user_capabilities


class AxesBackend(AxesStandaloneBackend):
    """django-axes' check, first in ``AUTHENTICATION_BACKENDS``. Every sign-in form passes the
    request; a call without one (a management command, the test client's ``login``) is not a
    web sign-in and is left to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def host_label() -> str:
    """The host the request is for, as its schema: tenants' hosts differ, the platform is "public"."""
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "schema_name", None) or settings.PUBLIC_SCHEMA_NAME


def axes_username(request, credentials: dict | None) -> str | None:
    """The account counter's key: ``<host>|<email>``, letter case ignored (as sign-in does)."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = getattr(request, "POST", {}).get("username")
    if not username:
        return None
    return f"{host_label()}|{str(username).strip().lower()}"[:255]


def axes_client_ip(request) -> str | None:
    """The same client address everything else uses (``X-Forwarded-For`` only behind a proxy);
    None when it is not an address at all (a malformed header must not break sign-in)."""
    return valid_client_ip(request)


def valid_client_ip(request) -> str | None:
    try:
        return str(ipaddress.ip_address((client_ip(request.META) or "").strip()))
    except ValueError:
        return None


class CdpAxesHandler(AxesDatabaseHandler):
    """axes' database handler with two limits: its one ``AXES_FAILURE_LIMIT`` applies to the
    account counter, and the address counter is scaled so that it reaches that limit at
    ``AXES_IP_FAILURE_LIMIT`` failures."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials)):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if parameter == "ip_address":
                failures = failures * settings.AXES_FAILURE_LIMIT // settings.AXES_IP_FAILURE_LIMIT
            worst = max(worst, failures)
        return worst


def count_refused_sign_in(form) -> None:
    """A right password from someone not allowed on this host counts as a failed attempt, with
    the same answer as a wrong one: otherwise the counters themselves would tell a right guess."""
    user_login_failed.send(
        sender=__name__, credentials={"username": form.cleaned_data.get("username"), "password": "********"},
        request=form.request,
    )


class MemberAuthenticationForm(AuthenticationForm):
    """Portal sign-in: only members of this tenant (or platform superusers) may sign in on its host."""

    def confirm_login_allowed(self, user):
        try:
            super().confirm_login_allowed(user)
            if not user_capabilities(user=user, tenant=connection.tenant):
                raise self.get_invalid_login_error()
        except Exception:
            count_refused_sign_in(self)
            raise


class CountingAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin sign-in (operators' and tenants'): a refused non-staff account counts as a failure."""

    def confirm_login_allowed(self, user):
        try:
            super().confirm_login_allowed(user)
        except Exception:
            count_refused_sign_in(self)
            raise


RESET_WINDOW = datetime.timedelta(hours=1)
RESET_ROW_RETENTION = datetime.timedelta(days=1)


def password_reset_allowed(*, email: str, ip: str | None) -> str | None:
    """None if a reset e-mail may go out now; ``"ip"`` when this client address asked too often
    (``CDP_PASSWORD_RESET_PER_IP`` an hour, on any host), ``"email"`` when this e-mail was asked
    for too often (``CDP_PASSWORD_RESET_PER_EMAIL``). Every request counts, sent or not."""
    now = timezone.now()
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()
    PasswordResetRequest.objects.filter(created_at__lt=now - RESET_ROW_RETENTION).delete()
    PasswordResetRequest.objects.create(created_at=now, email_hash=digest, ip_address=ip)
    recent = PasswordResetRequest.objects.filter(created_at__gte=now - RESET_WINDOW)
    if ip and recent.filter(ip_address=ip).count() > settings.CDP_PASSWORD_RESET_PER_IP:
        return "ip"
    if recent.filter(email_hash=digest).count() > settings.CDP_PASSWORD_RESET_PER_EMAIL:
        return "email"
    return None

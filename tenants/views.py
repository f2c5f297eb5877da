"""Portal pages on a tenant's host: sign-in, dashboard, members and invitations, API keys,
sessions, password reset and the page a suspended tenant sees."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404
from django.conf import settings as django_settings
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from cdp.admin_mixins import form_errors_add
from cdp.context import actor_from_request, client_ip
from cdp.pagination import EstimatedCountPaginator
from cdp.exceptions import ApplicationError, NotFound, PermissionDenied
from tenants.auth import MemberAuthenticationForm, password_reset_allowed, valid_client_ip
from tenants.filters import ApiKeyFilter, MembershipFilter, OwnSessionFilter, UserSessionFilter
from tenants.models import Domain, Membership, Role, Tenant
from tenants.portal_forms import (
    ApiKeyPortalForm,
    InvitationAcceptExistingForm,
    InvitationAcceptNewForm,
    InvitationForm,
    RoleChangeForm,
)
from tenants.roles import BILLING, KEYS, MEMBERS, SECURITY
from tenants.selectors import (
    api_keys_of,
    invitation_existing_user,
    invitations_open,
    membership_role,
    members_of,
    tenant_usage,
    user_capabilities,
    user_sessions_for_tenant,
    user_sessions_for_user,
)
from tenants.services import (
    InvitationInvalid,
    api_key_create,
    api_key_revoke,
    grantable_roles,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    user_session_revoke,
    user_sessions_revoke_for_user,
)
from tenants.services.invitations import invitation_get_open
from tenants.services.preferences import user_language_set
from tenants.services.jump import jump_consume

__all__ = ["MemberAuthenticationForm", "filtered", "paginate", "portal_page"]


def portal_page(capability: str = "read"):
    """Signed in, on a tenant host, and holding ``capability`` there (members only)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect(f"{reverse('portal:login')}?next={request.get_full_path()}")
            caps = user_capabilities(user=request.user, tenant=connection.tenant)
            if capability not in caps:
                raise DjangoPermissionDenied(_("You are not a member of this organization with that access."))
            request.capabilities = caps
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = MemberAuthenticationForm
    redirect_authenticated_user = True


USAGE_LABELS = {"users": gettext_lazy("Users"), "api_keys": gettext_lazy("API keys"),
                "customers": gettext_lazy("Customers")}


def usage_label(name: str) -> str:
    """A usage counter's name as the reader reads it (apps may add counters: see cdp.registry)."""
    return str(USAGE_LABELS.get(name) or name.replace("_", " ").capitalize())


def filtered(filterset):
    """``(queryset, status)`` of a portal list: an invalid filter (a date that is not one, an unknown
    choice) is shown as an error on its field with no rows and a 400, never as the whole unfiltered
    list passing for the answer."""
    if filterset.is_bound and not filterset.is_valid():
        return filterset.queryset.none(), 400
    return filterset.qs, 200


def paginate(request, queryset, per_page: int = 25):
    """A page of a portal list; the count is exact up to CDP_EXACT_COUNT_LIMIT rows, estimated past
    it (``page.paginator.count_estimated``)."""
    return EstimatedCountPaginator(queryset, per_page).get_page(request.GET.get("page"))


@portal_page()
def dashboard(request):
    tenant = connection.tenant
    return render(request, "portal/dashboard.html", {
        "usage": [(usage_label(name), value) for name, value in tenant_usage(tenant=tenant).items()],
        "role": Role(role).label if (role := membership_role(user=request.user, tenant=tenant)) else None,
        "can_manage_keys": KEYS in request.capabilities,
    })


def _members_page(request, *, invite_form=None, status=200):
    tenant = connection.tenant
    actor = actor_from_request(request)
    roles = grantable_roles(actor=actor, tenant=tenant) if MEMBERS in request.capabilities else []
    filterset = MembershipFilter(request.GET or None, queryset=members_of(tenant=tenant))
    queryset, filter_status = filtered(filterset)
    page = paginate(request, queryset)
    rows = []
    for membership in page:
        # Only the roles this person may act on get controls (the service decides again on POST).
        manageable = bool(roles) and (membership.role in roles)
        rows.append({"membership": membership, "manageable": manageable,
                     "role_form": RoleChangeForm(initial={"role": membership.role}, roles=roles,
                                                 prefix=f"m{membership.pk}") if manageable else None})
    return render(request, "portal/members.html", {
        "filter": filterset, "page": page, "rows": rows, "can_manage": bool(roles),
        "invite_form": invite_form or (InvitationForm(roles=roles) if roles else None),
        "invitations": list(invitations_open(tenant=tenant)[:100]) if roles else [],
        "grantable": roles,
    }, status=status if status != 200 else filter_status)


@portal_page()
def members(request):
    """Everyone may see who belongs to the organization; owners and admins also invite people,
    change roles and remove members, each within the role hierarchy."""
    return _members_page(request)


def _service_call_to_message(request, call, success: str):
    try:
        result = call()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, success)
    return result


@portal_page(MEMBERS)
@require_POST
def member_invite(request):
    tenant = connection.tenant
    form = InvitationForm(request.POST, roles=grantable_roles(actor=actor_from_request(request), tenant=tenant))
    if form.is_valid():
        try:
            invitation = invitation_create(tenant=tenant, actor=actor_from_request(request),
                                           scheme=request.scheme, port=request.get_port(), **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("portal:members")
    return _members_page(request, invite_form=form, status=400)


@portal_page(MEMBERS)
@require_POST
def member_role(request, pk: int):
    form = RoleChangeForm(request.POST, prefix=f"m{pk}",
                          roles=grantable_roles(actor=actor_from_request(request), tenant=connection.tenant))
    if not form.is_valid():
        raise DjangoPermissionDenied(_("You cannot give that role."))
    _service_call_to_message(
        request, lambda: membership_role_change(membership_id=pk, tenant=connection.tenant,
                                                role=form.cleaned_data["role"], actor=actor_from_request(request)),
        _("Role changed."))
    return redirect("portal:members")


@portal_page(MEMBERS)
@require_POST
def member_remove(request, pk: int):
    _service_call_to_message(
        request, lambda: membership_remove(membership_id=pk, tenant=connection.tenant,
                                           actor=actor_from_request(request)),
        _("Member removed."))
    return redirect("portal:members")


@portal_page(MEMBERS)
@require_POST
def invitation_revoke_view(request, pk: int):
    _service_call_to_message(
        request, lambda: invitation_revoke(invitation_id=pk, tenant=connection.tenant,
                                           actor=actor_from_request(request)),
        _("Invitation withdrawn."))
    return redirect("portal:members")


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request, token: str):
    """The link from the invitation e-mail. Signed in as the invited address: one click. An
    existing account signed out: its password (through ``authenticate``, so sign-in limits
    apply). A new person: a name and a password. Every failure is a plain page, never a 500."""
    tenant = connection.tenant
    try:
        invitation = invitation_get_open(token=token, tenant=tenant)
    except InvitationInvalid as exc:
        return render(request, "portal/invitation_invalid.html", {"message": exc.message}, status=410)
    existing = invitation_existing_user(invitation=invitation)
    signed_in_as_invited = (request.user.is_authenticated
                            and request.user.email.lower() == invitation.email.lower())
    signed_in_as_other = request.user.is_authenticated and not signed_in_as_invited
    if signed_in_as_invited:
        form = None
    elif existing is not None:
        form = InvitationAcceptExistingForm(request.POST or None)
    else:
        form = InvitationAcceptNewForm(request.POST or None)
    context = {"invitation": invitation, "form": form, "existing": existing is not None,
               "signed_in_as_other": signed_in_as_other}
    if request.method != "POST" or signed_in_as_other:
        return render(request, "portal/invitation_accept.html", context)
    actor = actor_from_request(request)
    user = request.user if signed_in_as_invited else None
    if form is not None and not form.is_valid():
        return render(request, "portal/invitation_accept.html", context, status=400)
    if existing is not None and user is None:
        user = authenticate(request, username=invitation.email, password=form.cleaned_data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return render(request, "portal/locked_out.html", status=429)
            form.add_error("password", _("This is not the password of %(email)s.") % {"email": invitation.email})
            return render(request, "portal/invitation_accept.html", context, status=400)
    try:
        invitation_accept(token=token, tenant=tenant, actor=actor, user=user,
                          password=form.cleaned_data.get("password1") if user is None else None,
                          full_name=form.cleaned_data.get("full_name", "") if user is None else "")
    except InvitationInvalid as exc:
        return render(request, "portal/invitation_invalid.html", {"message": exc.message}, status=410)
    except ApplicationError as exc:
        if form is None:
            raise DjangoPermissionDenied(exc.message) from exc
        form_errors_add(form, exc)
        return render(request, "portal/invitation_accept.html", context, status=400)
    if user is None:
        user = authenticate(request, username=invitation.email, password=form.cleaned_data["password1"])
    if user is not None and not signed_in_as_invited:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("Welcome to %(name)s.") % {"name": tenant.name})
    return redirect("portal:dashboard")


@portal_page(KEYS)
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """Create (with at most the scopes the person holds), list and revoke keys. A new key is
    shown once, in this response, which no cache may keep."""
    new_key = None
    grantable = request.capabilities
    form = ApiKeyPortalForm(request.POST or None, grantable=grantable)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_key_create(tenant=connection.tenant, actor=actor_from_request(request),
                                    capabilities=request.capabilities, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_add(form, exc)
        else:
            new_key = issued.key
            form = ApiKeyPortalForm(grantable=grantable)
    filterset = ApiKeyFilter(request.GET or None, queryset=api_keys_of(tenant=connection.tenant))
    queryset, filter_status = filtered(filterset)
    response = render(request, "portal/api_keys.html", {
        "form": form, "new_key": new_key, "filter": filterset, "page": paginate(request, queryset),
    }, status=filter_status if request.method == "GET" else 200)
    response["Cache-Control"] = "no-store"
    return response


@portal_page(KEYS)
@require_POST
def api_key_revoke_view(request, pk: int):
    try:
        api_key = api_key_revoke(api_key_id=pk, tenant=connection.tenant, actor=actor_from_request(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Key %(prefix)s… revoked.") % {"prefix": api_key.prefix})
    return redirect("portal:api_keys")


def current_session_id(request) -> int | None:
    """The row of the session making this request (UserSessionMiddleware looked it up)."""
    return getattr(request, "user_session_id", None)


def _active_by_default(request):
    """Session lists open on the active ones; ``?active=unknown`` shows every session."""
    data = request.GET.copy()
    data.setdefault("active", "true")
    return data


@portal_page()
def sessions(request):
    """The signed-in person's own sessions on every host, to sign out the ones they do not trust."""
    filterset = OwnSessionFilter(_active_by_default(request), queryset=user_sessions_for_user(user=request.user))
    queryset, status = filtered(filterset)
    return render(request, "portal/sessions.html", {
        "filter": filterset, "page": paginate(request, queryset), "current_id": current_session_id(request),
        "can_manage": SECURITY in request.capabilities,
    }, status=status)


@portal_page(SECURITY)
def member_sessions(request):
    """Admins and owners: the members' sessions on this tenant's host, each revocable."""
    queryset = user_sessions_for_tenant(tenant=connection.tenant)
    filterset = UserSessionFilter(_active_by_default(request), queryset=queryset)
    queryset, status = filtered(filterset)
    return render(request, "portal/member_sessions.html", {
        "filter": filterset, "page": paginate(request, queryset), "current_id": current_session_id(request),
    }, status=status)


def _service_errors_to_http(call):
    """Run a session service; not-found and refusals become the portal's 404 and 403 pages."""
    try:
        return call()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc


@portal_page()
@require_POST
def session_revoke_view(request, pk: int):
    """Revoke one session: one's own (any member), or a member's (``security`` holders; the
    service decides, so another tenant's session is a 404 and a viewer gets a 403)."""
    current_id = current_session_id(request)
    session = _service_errors_to_http(lambda: user_session_revoke(
        session_id=pk, actor=actor_from_request(request), tenant=connection.tenant))
    if session.pk == current_id:
        logout(request)
        return redirect("portal:login")
    messages.success(request, _("The session of %(email)s from %(address)s is signed out.") % {
        "email": session.user.email, "address": session.ip_address or _("an unknown address")})
    return redirect("portal:sessions" if session.user_id == request.user.pk else "portal:member_sessions")


@portal_page()
@require_POST
def sessions_revoke_others(request):
    """"Sign out other sessions": every session of the signed-in person except this one."""
    count = _service_errors_to_http(lambda: user_sessions_revoke_for_user(
        user_id=request.user.pk, actor=actor_from_request(request), tenant=connection.tenant,
        keep_session_id=current_session_id(request)))
    messages.success(request, ngettext("%(count)d other session signed out.", "%(count)d other sessions signed out.", count) % {"count": count})
    return redirect("portal:sessions")


@portal_page(SECURITY)
@require_POST
def member_sessions_revoke_user(request, user_id: int):
    """Sign a member out everywhere on this host (the admin's own current session is kept)."""
    keep = current_session_id(request) if user_id == request.user.pk else None
    count = _service_errors_to_http(lambda: user_sessions_revoke_for_user(
        user_id=user_id, actor=actor_from_request(request), tenant=connection.tenant, keep_session_id=keep))
    messages.success(request, ngettext("%(count)d session signed out.", "%(count)d sessions signed out.", count) % {"count": count})
    return redirect("portal:member_sessions")


def admin_jump(request):
    """Land a superuser coming from the operators' admin in this tenant's admin."""
    try:
        user = jump_consume(token=request.GET.get("token", ""), tenant=connection.tenant,
                            ip=client_ip(request.META))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # The token was issued from the operators' admin, which only a session verified by two-factor
    # sign-in reaches (tenants.middleware.TwoFactorMiddleware): the jump carries that verification.
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        otp_login(request, device)
    return redirect("tenant_admin:index")


def suspended_page(request, status: int = 200):
    """What members of a suspended or cancelled tenant see instead of the portal: why, and for
    those holding ``billing`` (owners), the way to billing to pay."""
    tenant = connection.tenant
    if tenant.status == Tenant.Status.ACTIVE:
        return redirect("portal:dashboard")
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:login')}?next={reverse('portal:suspended')}")
    can_pay = BILLING in user_capabilities(user=request.user, tenant=tenant)
    return render(request, "portal/suspended.html", {"can_pay": can_pay}, status=status)


class HostPasswordResetForm(PasswordResetForm):
    """Reset links go only to people who belong where the request came in: on a tenant's host, to
    its members who are not platform staff; on the platform's host, to staff only. Anyone else
    gets the same "sent" page and no e-mail."""

    def get_users(self, email):
        tenant = connection.tenant
        on_platform = not isinstance(tenant, Tenant) or tenant.is_public
        for user in super().get_users(email):
            if on_platform:
                if user.is_staff:
                    yield user
            elif not (user.is_staff or user.is_superuser) and Membership.objects.filter(
                    user=user, tenant=tenant).exists():
                yield user


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, limited per e-mail and per client address, with the link on the host of
    the tenant the person belongs to (checked against its domains, never taken on trust)."""

    template_name = "portal/password_reset_form.html"
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")
    form_class = HostPasswordResetForm

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        verdict = password_reset_allowed(email=email, ip=valid_client_ip(self.request))
        if verdict == "ip":
            return render(self.request, "portal/locked_out.html", {"reset": True}, status=429)
        if verdict == "email":
            # Same page as a sent link: the answer must not tell which addresses exist or are throttled.
            return redirect(self.get_success_url())
        tenant = connection.tenant
        host = self.request.get_host()
        if not Domain.objects.filter(tenant=tenant, domain=host.split(":")[0].lower()).exists():
            primary = tenant.get_primary_domain()
            port = self.request.get_port()
            host = primary.domain if port in ("80", "443") else f"{primary.domain}:{port}"
        form.save(domain_override=host, use_https=self.request.is_secure(), token_generator=self.token_generator,
                  from_email=self.from_email, email_template_name=self.email_template_name,
                  subject_template_name=self.subject_template_name, request=self.request,
                  html_email_template_name=self.html_email_template_name,
                  extra_email_context={"site_name": tenant.name})
        return redirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/password_reset_confirm.html", success_url=reverse_lazy("portal:password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/password_reset_complete.html"
)


@require_POST
def language_set(request):
    """The header's language selector: a signed-in person's choice is stored on their account
    (it follows them to every device and tenant); anyone else's in the language cookie. Back to
    the page it was sent from (a local path only)."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if request.user.is_authenticated:
        try:
            user_language_set(user=request.user, language=language, actor=actor_from_request(request))
        except ApplicationError as exc:
            messages.error(request, exc.as_text())
            return response
    elif language not in (code for code, _name in django_settings.LANGUAGES):
        return response
    if language:
        response.set_cookie(django_settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax",
                            max_age=365 * 24 * 3600, secure=request.is_secure(), httponly=True)
    else:
        response.delete_cookie(django_settings.LANGUAGE_COOKIE_NAME)
    return response

"""Portal pages on a tenant's host: sign-in, dashboard, members, API keys and sessions."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cdp.context import client_ip
from cdp.exceptions import ApplicationError, NotFound, PermissionDenied
from tenants.filters import ApiKeyFilter, MembershipFilter, OwnSessionFilter, UserSessionFilter
from tenants.models import ApiKey, Membership
from tenants.portal_forms import ApiKeyPortalForm
from tenants.roles import KEYS, SECURITY
from tenants.selectors import (
    tenant_usage,
    user_capabilities,
    user_sessions_for_tenant,
    user_sessions_for_user,
)
from tenants.services import (
    actor_from_request,
    api_key_create,
    api_key_revoke,
    user_session_revoke,
    user_sessions_revoke_for_user,
)
from tenants.services.jump import jump_consume


def portal_page(capability: str = "read"):
    """Signed in, on a tenant host, and holding ``capability`` there (members only)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect(f"{reverse('portal:login')}?next={request.get_full_path()}")
            caps = user_capabilities(user=request.user, tenant=connection.tenant)
            if capability not in caps:
                raise DjangoPermissionDenied("You are not a member of this organization with that access.")
            request.capabilities = caps
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class MemberAuthenticationForm(AuthenticationForm):
    """Only members of this tenant (or platform superusers) may sign in on its host."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user_capabilities(user=user, tenant=connection.tenant):
            raise self.get_invalid_login_error()


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = MemberAuthenticationForm
    redirect_authenticated_user = True


def paginate(request, queryset, per_page: int = 25):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@portal_page()
def dashboard(request):
    tenant = connection.tenant
    return render(request, "portal/dashboard.html", {
        "usage": [(name.replace("_", " ").capitalize(), value) for name, value in tenant_usage(tenant=tenant).items()],
        "role": Membership.objects.filter(user=request.user, tenant=tenant).values_list("role", flat=True).first(),
        "can_manage_keys": KEYS in request.capabilities,
    })


@portal_page()
def members(request):
    qs = Membership.objects.filter(tenant=connection.tenant).select_related("user").order_by("user__email")
    filterset = MembershipFilter(request.GET, queryset=qs)
    return render(request, "portal/members.html", {"filter": filterset, "page": paginate(request, filterset.qs)})


@portal_page(KEYS)
@require_http_methods(["GET", "POST"])
def api_keys(request):
    new_key = None
    form = ApiKeyPortalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_key_create(tenant=connection.tenant, actor=actor_from_request(request), **form.cleaned_data)
        except ApplicationError as exc:
            for field, errors in exc.fields.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            new_key = issued.key
            form = ApiKeyPortalForm()
    qs = ApiKey.objects.filter(tenant=connection.tenant).order_by("-created_at", "-id")
    filterset = ApiKeyFilter(request.GET, queryset=qs)
    return render(request, "portal/api_keys.html", {
        "form": form, "new_key": new_key, "filter": filterset, "page": paginate(request, filterset.qs),
    })


@portal_page(KEYS)
@require_POST
def api_key_revoke_view(request, pk: int):
    try:
        api_key = api_key_revoke(api_key_id=pk, tenant=connection.tenant, actor=actor_from_request(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key {api_key.prefix}… revoked.")
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
    return render(request, "portal/sessions.html", {
        "filter": filterset, "page": paginate(request, filterset.qs), "current_id": current_session_id(request),
        "can_manage": SECURITY in request.capabilities,
    })


@portal_page(SECURITY)
def member_sessions(request):
    """Admins and owners: the members' sessions on this tenant's host, each revocable."""
    queryset = user_sessions_for_tenant(tenant=connection.tenant)
    filterset = UserSessionFilter(_active_by_default(request), queryset=queryset)
    return render(request, "portal/member_sessions.html", {
        "filter": filterset, "page": paginate(request, filterset.qs), "current_id": current_session_id(request),
    })


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
    messages.success(request, f"The session of {session.user.email} from {session.ip_address or 'an unknown address'} "
                              "is signed out.")
    return redirect("portal:sessions" if session.user_id == request.user.pk else "portal:member_sessions")


@portal_page()
@require_POST
def sessions_revoke_others(request):
    """"Sign out other sessions": every session of the signed-in person except this one."""
    count = _service_errors_to_http(lambda: user_sessions_revoke_for_user(
        user_id=request.user.pk, actor=actor_from_request(request), tenant=connection.tenant,
        keep_session_id=current_session_id(request)))
    messages.success(request, f"{count} other session(s) signed out.")
    return redirect("portal:sessions")


@portal_page(SECURITY)
@require_POST
def member_sessions_revoke_user(request, user_id: int):
    """Sign a member out everywhere on this host (the admin's own current session is kept)."""
    keep = current_session_id(request) if user_id == request.user.pk else None
    count = _service_errors_to_http(lambda: user_sessions_revoke_for_user(
        user_id=user_id, actor=actor_from_request(request), tenant=connection.tenant, keep_session_id=keep))
    messages.success(request, f"{count} session(s) signed out.")
    return redirect("portal:member_sessions")


def admin_jump(request):
    """Land a superuser coming from the operators' admin in this tenant's admin."""
    try:
        user = jump_consume(token=request.GET.get("token", ""), tenant=connection.tenant,
                            ip=client_ip(request.META))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("tenant_admin:index")


password_reset = auth_views.PasswordResetView.as_view(
    template_name="portal/password_reset_form.html",
    email_template_name="portal/password_reset_email.txt",
    subject_template_name="portal/password_reset_subject.txt",
    success_url=reverse_lazy("portal:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/password_reset_confirm.html", success_url=reverse_lazy("portal:password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/password_reset_complete.html"
)

"""Portal pages on a tenant's host: sign-in, dashboard, members and API keys."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cdp.context import client_ip
from cdp.exceptions import ApplicationError, PermissionDenied
from tenants.filters import ApiKeyFilter, MembershipFilter
from tenants.models import ApiKey, Membership
from tenants.portal_forms import ApiKeyPortalForm
from tenants.roles import KEYS
from tenants.selectors import tenant_usage, user_capabilities
from tenants.services import actor_from_request, api_key_create, api_key_revoke
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

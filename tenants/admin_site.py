"""The admin a tenant's owners and admins see on their own host (``<slug>.localhost/admin/``).

It shows only the tenant's own rows: tenant-schema models are isolated by the schema itself,
and the shared models registered here go through ``TenantScopedAdmin``, which filters by the
current tenant and sets it on save. Platform staff (superusers) may enter any tenant's admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from cdp.pagination import EstimatedCountPaginator
from tenants.admin_history import RedactedHistoryMixin
from tenants.auth import count_refused_sign_in
from tenants.models import Role
from tenants.selectors import membership_role, user_capabilities

ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def can_manage_tenant(user) -> bool:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public" or not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return membership_role(user=user, tenant=tenant) in ADMIN_ROLES


def holds(user, capability: str | None) -> bool:
    """Inside the tenant admin and holding ``capability`` there (None: entering is enough)."""
    if not can_manage_tenant(user):
        return False
    return capability is None or capability in user_capabilities(user=user, tenant=connection.tenant)


class TenantAdminAuthenticationForm(AuthenticationForm):
    """The tenant admin's own sign-in: for this tenant's owners and admins (and superusers),
    not Django's "staff only" rule. A refused account counts as a failed attempt (django-axes)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Please enter the e-mail and password of an owner or admin of this organization."),
    }

    def confirm_login_allowed(self, user):
        try:
            super().confirm_login_allowed(user)
            if not can_manage_tenant(user):
                raise self.get_invalid_login_error()
        except Exception:
            count_refused_sign_in(self)
            raise


class TenantAdminSite(admin.AdminSite):
    site_header = "CDP · tenant administration"
    site_title = "CDP tenant admin"
    index_title = "Your organization"
    login_form = TenantAdminAuthenticationForm

    def has_permission(self, request) -> bool:
        return can_manage_tenant(request.user)

    def each_context(self, request):
        context = super().each_context(request)
        tenant = getattr(connection, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · administration"
        return context


class TenantModelAdmin(RedactedHistoryMixin, admin.ModelAdmin):
    """Permissions come from the membership role, not Django's per-model permissions: entering
    the tenant admin (owners, admins), and holding ``required_capability`` when a page guards
    one (keys, members, audit, security...). History entries are the tenant's own and carry no
    secrets (``tenants.admin_history``)."""

    required_capability: str | None = None
    # Exact counts up to CDP_EXACT_COUNT_LIMIT rows, the planner's estimate past them: a changelist
    # of millions of orders does not count them all on every page.
    paginator = EstimatedCountPaginator

    def has_module_permission(self, request) -> bool:
        return holds(request.user, self.required_capability)

    def has_view_permission(self, request, obj=None) -> bool:
        return holds(request.user, self.required_capability)

    def has_add_permission(self, request) -> bool:
        return holds(request.user, self.required_capability)

    def has_change_permission(self, request, obj=None) -> bool:
        return holds(request.user, self.required_capability)

    def has_delete_permission(self, request, obj=None) -> bool:
        return holds(request.user, self.required_capability)


class ShowSecretOnceAdminMixin:
    """For admins that create a secret (API keys, webhook signing secrets): the secret is shown
    once, on the page answering the "add" form, and kept nowhere else: not in a message (the
    messages cookie or session row), not in a cache (``Cache-Control: no-store``)."""

    secret_template = "tenants/admin_secret_once.html"

    def show_secret_once(self, request, *, label: str, secret: str) -> None:
        request._cdp_secret_once = (label, secret)

    def response_add(self, request, obj, post_url_continue=None):
        once = getattr(request, "_cdp_secret_once", None)
        if once is None:
            return super().response_add(request, obj, post_url_continue)
        label, secret = once
        opts = self.model._meta
        context = {**self.admin_site.each_context(request), "opts": opts, "object": obj, "label": label,
                   "secret": secret, "title": _("Copy the secret now")}
        response = TemplateResponse(request, self.secret_template, context)
        response["Cache-Control"] = "no-store"
        return response


class TenantScopedAdmin(TenantModelAdmin):
    """For shared (public-schema) models with a ``tenant`` foreign key."""

    tenant_field = "tenant"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{self.tenant_field: connection.tenant})

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), self.tenant_field]


tenant_admin_site = TenantAdminSite(name="tenant_admin")

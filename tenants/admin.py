"""Operators' admin (public host) and the tenant-scoped pages of each tenant's admin."""

from __future__ import annotations

import copy
import functools

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name

from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    form_changes,
    service_action,
)
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from tenants.admin_site import ShowSecretOnceAdminMixin, TenantScopedAdmin, holds, tenant_admin_site
from tenants.auth import CountingAdminAuthenticationForm
from tenants.forms import (
    AdminPasswordChangeForm,
    ApiKeyCreateForm,
    InvitationAdminForm,
    TenantProvisionForm,
    UserChangeForm,
    UserCreationForm,
)
from tenants.models import (
    ApiKey,
    AuditLog,
    Domain,
    FeatureFlag,
    Invitation,
    Membership,
    SystemConfig,
    SystemEvent,
    Tenant,
    User,
    UserSession,
)
from tenants.portal_forms import role_choices, scope_choices
from tenants.roles import AUDIT, CAPABILITIES, KEYS, MEMBERS, SECURITY
from tenants.selectors import (
    system_events_daily,
    system_events_with_occurrences,
    user_capabilities,
    user_sessions_all,
    user_sessions_for_tenant,
)
from tenants.services import (
    api_key_create,
    api_key_revoke,
    domain_create,
    domain_delete,
    domain_update,
    feature_flag_create,
    feature_flag_delete,
    feature_flag_update,
    grantable_roles,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    membership_set,
    system_config_create,
    system_config_delete,
    system_config_update,
    tenant_provision,
    tenant_update,
    user_create,
    user_session_revoke,
    user_update,
)
from tenants.services.domains import DOMAIN_EDITABLE
from tenants.services.flags import FEATURE_FLAG_EDITABLE
from tenants.services.jump import jump_url
from tenants.services.twofactor import two_factor_reset
from tenants.services.memberships import USER_EDITABLE, check_may_manage, membership_authority
from tenants.services.provisioning import EDITABLE_FIELDS as TENANT_EDITABLE
from tenants.services.system_config import SYSTEM_CONFIG_EDITABLE
from tenants.useragent import user_agent_label

# The operators' sign-in counts a refused (non-staff) account as a failed attempt (django-axes).
admin.site.login_form = CountingAdminAuthenticationForm


class DomainInline(ReadOnlyInline):
    """Read-only here: host names change through the Domain admin, which audits them."""

    model = Domain
    fields = ("domain", "is_primary")
    readonly_fields = fields
    show_change_link = True


class MembershipInline(ReadOnlyInline):
    """Read-only here: memberships change through the Membership admin, which audits them."""

    model = Membership
    fields = ("user", "tenant", "role", "created_at")
    readonly_fields = fields
    show_change_link = True


def _host_tenant() -> Tenant | None:
    """The tenant whose admin this is (None in the operators' admin, on the platform's host)."""
    tenant = connection.tenant
    return None if tenant.schema_name == get_public_schema_name() else tenant


@admin.register(Tenant)
class TenantAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    add_form = TenantProvisionForm
    list_display = ("name", "slug", "type", "status", "primary_domain", "member_count", "created_at", "open_admin")
    list_filter = ("type", "status", "onboarding_completed")
    search_fields = ("name", "slug", "domains__domain")
    readonly_fields = ("schema_name", "created_at", "updated_at", "open_admin")
    inlines = (DomainInline, MembershipInline)
    actions = ("suspend", "activate")
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains", "memberships")

    def has_delete_permission(self, request, obj=None):
        # A tenant is cancelled, never deleted from here: its schema holds the customer data.
        return False

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ("name", "slug", "type", "domain")})]
        return [
            (None, {"fields": ("name", "slug", "schema_name", "type", "status", "status_reason",
                               "onboarding_completed")}),
            ("Settings and branding", {"fields": ("settings", "branding")}),
            ("Metadata", {"fields": ("created_at", "updated_at", "open_admin")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.readonly_fields, "slug")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    @admin.display(description="Primary domain")
    def primary_domain(self, obj):
        primary = next((d.domain for d in obj.domains.all() if d.is_primary), "")
        return primary

    @admin.display(description="Members")
    def member_count(self, obj):
        return len(obj.memberships.all())

    @admin.display(description="Tenant admin")
    def open_admin(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:tenants_tenant_jump", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">Open admin ↗</a>', url)

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return tenant_update(tenant=obj, actor=actor, **form_changes(form, change=True, fields=TENANT_EDITABLE))
        data = form.cleaned_data
        return tenant_provision(slug=data["slug"], name=data["name"], type=data["type"], actor=actor,
                                domain=data.get("domain") or None)

    def get_urls(self):
        return [
            path("<id:pk>/jump/", self.admin_site.admin_view(self.jump_view), name="tenants_tenant_jump"),
            *super().get_urls(),
        ]

    def jump_view(self, request, pk):
        """Send a superuser to this tenant's admin, signed in there by a one-time token."""
        if not request.user.is_superuser:
            raise PermissionDenied("Only superusers can enter a tenant's admin.")
        tenant = self.get_object(request, str(pk))  # never the platform's own (public) tenant
        if tenant is None:
            raise Http404("No such tenant.")
        return HttpResponseRedirect(jump_url(user=request.user, tenant=tenant, request=request))

    @service_action(description="Suspend selected tenants", done="tenant(s) suspended")
    def suspend(tenant, *, actor, request):
        tenant_update(tenant=tenant, actor=actor, status=Tenant.Status.SUSPENDED)

    @service_action(description="Activate selected tenants", done="tenant(s) activated")
    def activate(tenant, *, actor, request):
        tenant_update(tenant=tenant, actor=actor, status=Tenant.Status.ACTIVE)


@admin.register(Domain)
class DomainAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, admin.ModelAdmin):
    """A tenant's host names, written through the domain services (audited on the tenant's trail)."""

    list_display = ("domain", "tenant", "is_primary")
    list_filter = ("is_primary",)
    search_fields = ("domain", "tenant__name", "tenant__slug")
    autocomplete_fields = ("tenant",)

    def get_readonly_fields(self, request, obj=None):
        return ("tenant",) if obj is not None else ()

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return domain_update(host=obj, actor=actor, **form_changes(form, change=True, fields=DOMAIN_EDITABLE))
        data = form.cleaned_data
        return domain_create(tenant=data["tenant"], domain=data["domain"], is_primary=data["is_primary"],
                             actor=actor)

    def service_delete(self, request, obj):
        domain_delete(host=obj, actor=actor_from_request(request))


@admin.register(User)
class UserAdmin(ServiceFormAdminMixin, BaseUserAdmin):
    """Operators' user admin: created by ``user_create``, changed by ``user_update`` and given a
    password by ``user_password_set``, each audited (who made whom staff or superuser)."""

    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_staff", "is_superuser", "is_active", "tenant_list", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__role")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)
    actions = ("reset_two_factor",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__tenant")

    @admin.display(description="Tenants")
    def tenant_list(self, obj):
        return ", ".join(f"{m.tenant.slug} ({m.role})" for m in obj.memberships.all())

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return user_update(user=obj, actor=actor, **form_changes(form, change=True, fields=USER_EDITABLE))
        data = form.cleaned_data
        return user_create(email=data["email"], password=data.get("password1") or None,
                           full_name=data.get("full_name", ""), actor=actor)

    def save_related(self, request, form, formsets, change):
        # The service wrote the groups and permissions (no form.save_m2m()); the memberships inline
        # is read-only, its formset saves nothing but is "saved" for the admin's change message.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @service_action(description="Reset two-factor sign-in (lost phone and codes)", done="user(s) reset",
                    permissions=("change",))
    def reset_two_factor(user, *, actor, request):
        two_factor_reset(user=user, actor=actor)

    def user_change_password(self, request, id, form_url=""):
        # Django builds the form as ``change_password_form(user, data)``: a copy of this admin for
        # this request binds the actor the password service audits.
        per_request = copy.copy(self)
        per_request.change_password_form = functools.partial(AdminPasswordChangeForm,
                                                             actor=actor_from_request(request))
        return BaseUserAdmin.user_change_password(per_request, request, id, form_url)


@admin.register(Membership)
class MembershipAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, admin.ModelAdmin):
    """Operators may attach any user and give any role (the last-owner rule still holds)."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__email", "tenant__slug", "tenant__name")
    autocomplete_fields = ("user", "tenant")
    list_select_related = ("user", "tenant")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "created_at") if obj is not None else ()

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return membership_role_change(membership_id=obj.pk, tenant=obj.tenant, role=form.cleaned_data["role"],
                                          actor=actor)
        return membership_set(user=form.cleaned_data["user"], tenant=form.cleaned_data["tenant"],
                              role=form.cleaned_data["role"], actor=actor)

    def service_delete(self, request, obj):
        membership_remove(membership_id=obj.pk, tenant=obj.tenant, actor=actor_from_request(request))


class InvitationAdminMixin:
    list_display = ("email", "role", "invitation_status", "invited_by_label", "created_at", "expires_at")
    list_filter = ("role", "accepted_at", "revoked_at")
    search_fields = ("email",)
    readonly_fields = ("email", "role", "invited_by_label", "created_at", "expires_at", "accepted_at",
                       "accepted_by", "revoked_at", "invitation_status")
    fields = readonly_fields
    actions = ("revoke_invitations",)

    @admin.display(description=gettext_lazy("Status"))
    def invitation_status(self, obj):
        return obj.status

    def has_change_permission(self, request, obj=None):
        return False  # view only; withdrawing is the action

    def has_delete_permission(self, request, obj=None):
        return False

    @service_action(description=gettext_lazy("Withdraw selected invitations"),
                    done=gettext_lazy("invitation(s) withdrawn"))
    def revoke_invitations(invitation, *, actor, request):
        # The tenant admin lists its own invitations only, so the row's tenant is the host's.
        invitation_revoke(invitation_id=invitation.pk, tenant=invitation.tenant, actor=actor)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, InvitationAdminMixin, admin.ModelAdmin):
    """Operators look and withdraw; tenants invite from their portal or admin."""

    list_display = ("email", "tenant", "role", "invitation_status", "invited_by_label", "created_at", "expires_at")
    list_filter = ("role", "tenant")
    list_select_related = ("tenant",)


class ApiKeyAdminMixin(ShowSecretOnceAdminMixin, ServiceFormAdminMixin):
    """Keys are created through the service (the secret is shown once, on the page answering the
    form, never in a message) and never edited; revoking is an action. The hash is never
    displayed. The scopes offered, and accepted, are those the person holds."""

    list_display = ("name", "prefix", "scopes", "key_status", "last_used_at", "created_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "scopes", "created_by", "last_used_at", "revoked_at", "created_at", "expires_at")
    exclude = ("hashed_key",)
    actions = ("revoke",)

    @admin.display(description="Status")
    def key_status(self, obj):
        if obj.revoked_at:
            return "revoked"
        return "active" if obj.is_active else "expired"

    add_form = ApiKeyCreateForm

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form_class
        grantable = self.grantable_scopes(request)

        class ScopedForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if "scopes" in self.fields:  # a per-instance copy: the class's field is never changed
                    self.fields["scopes"].choices = scope_choices(grantable)
                    self.fields["scopes"].initial = [c for c in self.fields["scopes"].initial or [] if c in grantable]

        return ScopedForm

    def grantable_scopes(self, request):
        """What the person may grant; None for the service to decide from the actor alone."""
        return None

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (*self.readonly_fields, "name", "tenant")

    def get_exclude(self, request, obj=None):
        return ("hashed_key",) if obj is not None else ()

    def key_tenant(self, request, form):
        return form.cleaned_data["tenant"]

    def service_save(self, request, obj, form, change):
        if change:
            return obj  # keys are never edited
        issued = api_key_create(
            tenant=self.key_tenant(request, form), name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"], expires_at=form.cleaned_data.get("expires_at"),
            actor=actor_from_request(request), capabilities=self.grantable_scopes(request),
        )
        self.show_secret_once(request, label=_("Your new API key"), secret=issued.key)
        return issued.api_key

    @service_action(description="Revoke selected keys", done="key(s) revoked")
    def revoke(api_key, *, actor, request):
        # The tenant admin lists its own keys only, so the row's tenant is the host's.
        api_key_revoke(api_key_id=api_key.pk, tenant=api_key.tenant, actor=actor)


@admin.register(ApiKey)
class ApiKeyAdmin(ApiKeyAdminMixin, admin.ModelAdmin):
    def grantable_scopes(self, request):
        return CAPABILITIES  # operators holding the model permission grant any scope
    list_display = ("name", "tenant", "prefix", "scopes", "key_status", "last_used_at", "created_at")
    list_filter = ("tenant", "revoked_at", "created_at")
    search_fields = ("name", "prefix", "tenant__slug")
    list_select_related = ("tenant",)


class AuditLogAdminMixin(ReadOnlyAdminMixin):
    list_display = ("created_at", "actor_label", "action", "resource_type", "resource_id", "ip_address")
    list_filter = ("action", "resource_type", "created_at")
    search_fields = ("actor_label", "action", "resource_type", "resource_id")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "tenant", "actor", "actor_label", "action", "resource_type", "resource_id",
                       "changes", "ip_address")


@admin.register(AuditLog)
class AuditLogAdmin(AuditLogAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "tenant", "actor_label", "action", "resource_type", "resource_id", "ip_address")
    list_filter = ("action", "resource_type", "tenant", "created_at")
    list_select_related = ("tenant",)


class UserSessionStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), *UserSession.EndReason.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "active":
            return queryset.active()
        if value == UserSession.EndReason.EXPIRED:
            # Idle past the cookie's age counts as expired before the sweep marks it.
            return queryset.inactive().exclude(end_reason__in=[UserSession.EndReason.LOGOUT,
                                                               UserSession.EndReason.REVOKED])
        if value in UserSession.EndReason.values:
            return queryset.filter(end_reason=value)
        return queryset


class UserSessionAdminMixin(ReadOnlyAdminMixin):
    """Sign-in sessions: written only by the middleware and services, so read-only here; the
    one change is the "Revoke selected sessions" action, which calls ``user_session_revoke``.
    The key hash is never shown."""

    list_display = ("user", "tenant", "ip_address", "short_user_agent", "created_at", "last_seen_at",
                    "session_status")
    list_filter = (UserSessionStatusFilter, "tenant")
    search_fields = ("user__email", "ip_address", "last_ip")
    list_select_related = ("user", "tenant")
    fields = ("user", "tenant", "ip_address", "last_ip", "user_agent", "created_at", "last_seen_at",
              "session_status", "ended_at", "end_reason", "revoked_by")
    readonly_fields = fields
    actions = ("revoke_sessions",)
    date_hierarchy = "created_at"

    @admin.display(description="Browser and system")
    def short_user_agent(self, obj):
        return user_agent_label(obj.user_agent)

    @admin.display(description="Status")
    def session_status(self, obj):
        return obj.status

    def has_revoke_permission(self, request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or user.has_perm("tenants.change_usersession"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A session outside this admin's scope is a plain 404, not a redirect that hints at it.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such session.")
        return super().change_view(request, object_id, form_url, extra_context)

    @service_action(description="Revoke selected sessions", done="session(s) revoked (an ended one stays ended)",
                    permissions=("revoke",))
    def revoke_sessions(session, *, actor, request):
        user_session_revoke(session_id=session.pk, actor=actor, tenant=_host_tenant())


@admin.register(UserSession)
class UserSessionAdmin(UserSessionAdminMixin, admin.ModelAdmin):
    def get_queryset(self, request):
        return user_sessions_all()


@admin.register(FeatureFlag)
class FeatureFlagAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, admin.ModelAdmin):
    """Flags are written through the flag services (audited), from the form and the list alike."""

    list_display = ("key", "enabled", "rollout_percentage", "description", "updated_at")
    list_filter = ("enabled",)
    list_editable = ("enabled", "rollout_percentage")
    search_fields = ("key", "description")
    filter_horizontal = ("tenants",)

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        fields = form_changes(form, change=change, fields=FEATURE_FLAG_EDITABLE)
        if change:
            return feature_flag_update(flag=obj, actor=actor, **fields)
        return feature_flag_create(actor=actor, **fields)

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote the flag's tenants

    def service_delete(self, request, obj):
        feature_flag_delete(flag=obj, actor=actor_from_request(request))


@admin.register(SystemConfig)
class SystemConfigAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, admin.ModelAdmin):
    list_display = ("key", "description", "updated_at")
    search_fields = ("key", "description")

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        fields = form_changes(form, change=change, fields=SYSTEM_CONFIG_EDITABLE)
        if change:
            return system_config_update(config=obj, actor=actor, **fields)
        return system_config_create(actor=actor, **fields)

    def service_delete(self, request, obj):
        system_config_delete(config=obj, actor=actor_from_request(request))


# --- The tenant's own admin ---------------------------------------------------------------------


class GrantableRolesFormMixin:
    """A tenant admin form whose ``role`` offers only the roles the person may grant on this tenant."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        roles = grantable_roles(actor=actor_from_request(request), tenant=connection.tenant)

        class RoleForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if "role" in self.fields:
                    self.fields["role"].choices = role_choices(roles)

        return RoleForm


class TenantMembershipAdmin(GrantableRolesFormMixin, ServiceFormAdminMixin, ServiceDeleteAdminMixin,
                            TenantScopedAdmin):
    """The tenant's members. Nobody is picked from the platform's users: "Add" sends to the
    invitation form; a change is a role change within the hierarchy; the user never changes."""

    required_capability = MEMBERS
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__full_name")
    list_select_related = ("user",)
    fields = ("user", "role")
    readonly_fields = ("user",)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _may(self, request, obj) -> bool:
        if obj is None:
            return True
        authority = membership_authority(actor=actor_from_request(request), tenant=connection.tenant)
        try:
            check_may_manage(authority, current_role=obj.role)
        except ApplicationError:
            return False
        return True

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may(request, obj)

    def add_view(self, request, form_url="", extra_context=None):
        # "Add membership" is "invite by e-mail": the invitation form, served (and posted) here.
        return self.admin_site._registry[Invitation].add_view(request, form_url, extra_context)

    def service_save(self, request, obj, form, change):
        return membership_role_change(membership_id=obj.pk, tenant=connection.tenant, role=form.cleaned_data["role"],
                                      actor=actor_from_request(request))

    def service_delete(self, request, obj):
        membership_remove(membership_id=obj.pk, tenant=connection.tenant, actor=actor_from_request(request))


class TenantInvitationAdmin(GrantableRolesFormMixin, InvitationAdminMixin, ServiceFormAdminMixin, TenantScopedAdmin):
    """Invite by e-mail (what "Add membership" leads to); pending ones can be withdrawn."""

    required_capability = MEMBERS
    list_filter = ("role",)
    form = InvitationAdminForm

    def get_fields(self, request, obj=None):
        return ("email", "role") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def service_save(self, request, obj, form, change):
        return invitation_create(tenant=connection.tenant, email=form.cleaned_data["email"],
                                 role=form.cleaned_data["role"], actor=actor_from_request(request),
                                 scheme=request.scheme, port=request.get_port())

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Invitation sent to %(email)s.") % {"email": obj.email}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("tenant_admin:tenants_invitation_changelist"))


class TenantApiKeyAdmin(ApiKeyAdminMixin, TenantScopedAdmin):
    required_capability = KEYS

    def key_tenant(self, request, form):
        return connection.tenant

    def grantable_scopes(self, request):
        return user_capabilities(user=request.user, tenant=connection.tenant)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None and "tenant" in form.base_fields:
            del form.base_fields["tenant"]
        return form


class TenantAuditLogAdmin(AuditLogAdminMixin, TenantScopedAdmin):
    required_capability = AUDIT

    def has_view_permission(self, request, obj=None) -> bool:
        return holds(request.user, AUDIT)

    def has_module_permission(self, request) -> bool:
        return holds(request.user, AUDIT)


class TenantUserSessionAdmin(UserSessionAdminMixin, TenantScopedAdmin):
    """The members' sessions on this tenant's host (see ``user_session_scope_q``)."""

    list_display = ("user", "ip_address", "short_user_agent", "created_at", "last_seen_at", "session_status")
    list_filter = (UserSessionStatusFilter,)
    list_select_related = ("user",)
    fields = tuple(f for f in UserSessionAdminMixin.fields if f != "tenant")
    readonly_fields = fields

    def get_queryset(self, request):
        return user_sessions_for_tenant(tenant=connection.tenant)

    required_capability = SECURITY

    def has_view_permission(self, request, obj=None) -> bool:
        return holds(request.user, SECURITY)

    def has_module_permission(self, request) -> bool:
        return holds(request.user, SECURITY)

    def has_revoke_permission(self, request) -> bool:
        return holds(request.user, SECURITY)


tenant_admin_site.register(Membership, TenantMembershipAdmin)
tenant_admin_site.register(Invitation, TenantInvitationAdmin)
tenant_admin_site.register(ApiKey, TenantApiKeyAdmin)
tenant_admin_site.register(AuditLog, TenantAuditLogAdmin)
tenant_admin_site.register(UserSession, TenantUserSessionAdmin)


@admin.register(SystemEvent)
class SystemEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The operators' screen of system events: deployments, migrations, configuration changes and
    unhandled errors, filtered and counted per day; an error row says how often its cause (its
    fingerprint) occurred in the last 30 days. Written only by tenants.services.system_events."""

    change_list_template = "admin/tenants/systemevent/change_list.html"
    list_display = ("created_at", "kind", "level", "title", "occurrences", "tenant", "user", "request_id", "release")
    list_filter = ("kind", "level", "created_at", "release", "tenant")
    list_select_related = ("tenant", "user")
    search_fields = ("title", "fingerprint", "request_id", "path")
    date_hierarchy = "created_at"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            daily = system_events_daily(events=changelist.queryset)
            peak = max((row["total"] for row in daily), default=0) or 1
            for index, row in enumerate(daily):  # bar geometry of the chart, 70 px high
                row["height"] = round(70 * row["total"] / peak)
                row["x"], row["y"] = index * 34 + 4, 70 - row["height"]
            response.context_data["daily"] = daily
            response.context_data["chart_width"] = len(daily) * 34 + 8
        return response

    def get_queryset(self, request):
        return system_events_with_occurrences(events=super().get_queryset(request))

    @admin.display(description=gettext_lazy("Occurrences (30 days)"))
    def occurrences(self, obj) -> str:
        return str(obj.occurrences) if obj.fingerprint else ""


# django-otp registers an admin for TOTP devices that shows each secret and its QR code: a secret
# is never shown again after enrolment. Operators reset a person's second factor with the user
# admin's "Reset two-factor sign-in" action instead.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)

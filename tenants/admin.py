"""Operators' admin (public host) and the tenant-scoped pages of each tenant's admin."""

from __future__ import annotations

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

from cdp.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin
from cdp.exceptions import ApplicationError
from tenants.admin_site import ShowSecretOnceAdminMixin, TenantScopedAdmin, holds, tenant_admin_site
from tenants.auth import CountingAdminAuthenticationForm
from tenants.forms import (
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
    Tenant,
    User,
    UserSession,
)
from tenants.portal_forms import role_choices, scope_choices
from tenants.roles import AUDIT, KEYS, MEMBERS, SECURITY
from tenants.selectors import user_capabilities, user_sessions_all, user_sessions_for_tenant
from tenants.services import (
    actor_from_request,
    api_key_create,
    api_key_revoke,
    grantable_roles,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    membership_set,
    tenant_provision,
    tenant_update,
    user_session_revoke,
)
from tenants.services.jump import jump_url
from tenants.services.memberships import check_may_manage, membership_authority
from tenants.services.provisioning import EDITABLE_FIELDS as TENANT_EDITABLE
from tenants.useragent import user_agent_label

# The operators' sign-in counts a refused (non-staff) account as a failed attempt (django-axes).
admin.site.login_form = CountingAdminAuthenticationForm


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")


class MembershipInline(admin.TabularInline):
    """Read-only here: memberships change through the Membership admin, which audits them."""

    model = Membership
    extra = 0
    fields = ("user", "tenant", "role", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
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

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantProvisionForm
        return super().get_form(request, obj, **kwargs)

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

    def save_model(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in TENANT_EDITABLE}
            saved = tenant_update(tenant=obj, actor=actor, **fields)
        else:
            saved = tenant_provision(slug=obj.slug, name=obj.name, type=obj.type, actor=actor,
                                     domain=form.cleaned_data.get("domain") or None)
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def get_urls(self):
        return [
            path("<id:pk>/jump/", self.admin_site.admin_view(self.jump_view), name="tenants_tenant_jump"),
            *super().get_urls(),
        ]

    def jump_view(self, request, pk):
        """Send a superuser to this tenant's admin, signed in there by a one-time token."""
        if not request.user.is_superuser:
            raise PermissionDenied("Only superusers can enter a tenant's admin.")
        tenant = Tenant.objects.get(pk=pk)
        return HttpResponseRedirect(jump_url(user=request.user, tenant=tenant, request=request))

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Tenant.Status.SUSPENDED)

    @admin.action(description="Activate selected tenants")
    def activate(self, request, queryset):
        self._set_status(request, queryset, Tenant.Status.ACTIVE)

    def _set_status(self, request, queryset, status):
        actor = actor_from_request(request)
        for tenant in queryset:
            tenant_update(tenant=tenant, actor=actor, status=status)
        self.message_user(request, f"{queryset.count()} tenant(s) set to {status}.")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    list_filter = ("is_primary",)
    search_fields = ("domain", "tenant__name", "tenant__slug")
    autocomplete_fields = ("tenant",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_staff", "is_superuser", "is_active", "tenant_list", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__role")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)
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


def _refusal_to_403(call):
    """A refusal raised where the admin cannot show a form error (delete) becomes its 403 page."""
    try:
        return call()
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc


@admin.register(Membership)
class MembershipAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    """Operators may attach any user and give any role (the last-owner rule still holds)."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__email", "tenant__slug", "tenant__name")
    autocomplete_fields = ("user", "tenant")
    list_select_related = ("user", "tenant")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "created_at") if obj is not None else ()

    def get_actions(self, request):
        # Bulk delete would skip the service (and its last-owner rule and audit entry).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return membership_role_change(membership_id=obj.pk, tenant=obj.tenant, role=form.cleaned_data["role"],
                                          actor=actor)
        return membership_set(user=form.cleaned_data["user"], tenant=form.cleaned_data["tenant"],
                              role=form.cleaned_data["role"], actor=actor)

    def delete_model(self, request, obj):
        _refusal_to_403(lambda: membership_remove(membership_id=obj.pk, tenant=obj.tenant,
                                                  actor=actor_from_request(request)))


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

    def invitation_tenant(self, request, obj):
        return obj.tenant

    @admin.action(description=gettext_lazy("Withdraw selected invitations"))
    def revoke_invitations(self, request, queryset):
        actor = actor_from_request(request)
        done = 0
        for invitation in queryset.select_related("tenant"):
            try:
                invitation_revoke(invitation_id=invitation.pk, tenant=self.invitation_tenant(request, invitation),
                                  actor=actor)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{invitation.email}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(count)d invitation(s) withdrawn.") % {"count": done})


@admin.register(Invitation)
class InvitationAdmin(InvitationAdminMixin, admin.ModelAdmin):
    list_display = ("email", "tenant", "role", "invitation_status", "invited_by_label", "created_at", "expires_at")
    list_filter = ("role", "tenant")
    list_select_related = ("tenant",)

    def has_add_permission(self, request):
        return False  # tenants invite from their portal or admin


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

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
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

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        actor = actor_from_request(request)
        for api_key in queryset:
            api_key_revoke(api_key_id=api_key.pk, tenant=api_key.tenant, actor=actor)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")


@admin.register(ApiKey)
class ApiKeyAdmin(ApiKeyAdminMixin, admin.ModelAdmin):
    def grantable_scopes(self, request):
        from tenants.roles import CAPABILITIES

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

    def revoke_tenant(self, request) -> Tenant | None:
        """The host the admin acts on (None: the platform)."""
        return None

    def has_revoke_permission(self, request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or user.has_perm("tenants.change_usersession"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A session outside this admin's scope is a plain 404, not a redirect that hints at it.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such session.")
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_sessions(self, request, queryset):
        actor = actor_from_request(request)
        tenant = self.revoke_tenant(request)
        revoked = already_ended = 0
        for session in queryset.order_by("pk"):
            was_open = session.ended_at is None
            try:
                user_session_revoke(session_id=session.pk, actor=actor, tenant=tenant)
            except ApplicationError as exc:
                self.message_user(request, f"{session}: {exc.message}", messages.ERROR)
                continue
            revoked += was_open
            already_ended += not was_open
        note = f" ({already_ended} had already ended)" if already_ended else ""
        self.message_user(request, f"{revoked} session(s) revoked{note}.")


@admin.register(UserSession)
class UserSessionAdmin(UserSessionAdminMixin, admin.ModelAdmin):
    def get_queryset(self, request):
        return user_sessions_all()


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    list_display = ("key", "enabled", "rollout_percentage", "description", "updated_at")
    list_filter = ("enabled",)
    list_editable = ("enabled", "rollout_percentage")
    search_fields = ("key", "description")
    filter_horizontal = ("tenants",)


@admin.register(SystemConfig)
class SystemConfigAdmin(admin.ModelAdmin):
    list_display = ("key", "description", "updated_at")
    search_fields = ("key", "description")


# --- The tenant's own admin ---------------------------------------------------------------------


class TenantMembershipAdmin(ServiceFormAdminMixin, TenantScopedAdmin):
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        roles = grantable_roles(actor=actor_from_request(request), tenant=connection.tenant)

        class RoleForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if "role" in self.fields:
                    self.fields["role"].choices = role_choices(roles)

        return RoleForm

    def service_save(self, request, obj, form, change):
        return membership_role_change(membership_id=obj.pk, tenant=connection.tenant, role=form.cleaned_data["role"],
                                      actor=actor_from_request(request))

    def delete_model(self, request, obj):
        _refusal_to_403(lambda: membership_remove(membership_id=obj.pk, tenant=connection.tenant,
                                                  actor=actor_from_request(request)))


class TenantInvitationAdmin(InvitationAdminMixin, ServiceFormAdminMixin, TenantScopedAdmin):
    """Invite by e-mail (what "Add membership" leads to); pending ones can be withdrawn."""

    required_capability = MEMBERS
    list_filter = ("role",)
    form = InvitationAdminForm

    def get_fields(self, request, obj=None):
        return ("email", "role") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def invitation_tenant(self, request, obj):
        return connection.tenant

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        roles = grantable_roles(actor=actor_from_request(request), tenant=connection.tenant)

        class RoleForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if "role" in self.fields:
                    self.fields["role"].choices = role_choices(roles)

        return RoleForm

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

    def revoke_tenant(self, request):
        return connection.tenant

    def has_revoke_permission(self, request) -> bool:
        return holds(request.user, SECURITY)


tenant_admin_site.register(Membership, TenantMembershipAdmin)
tenant_admin_site.register(Invitation, TenantInvitationAdmin)
tenant_admin_site.register(ApiKey, TenantApiKeyAdmin)
tenant_admin_site.register(AuditLog, TenantAuditLogAdmin)
tenant_admin_site.register(UserSession, TenantUserSessionAdmin)

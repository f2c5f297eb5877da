"""Operators' admin for plans, licenses, machines, logs, releases and ownership.

Writes go through the services (each audited), with refusals on the form; logs are read-only. Key
hashes and the signing key are never shown: a new key appears once, on the page answering the
"add" form (never in a message, which would keep it in a cookie or the session).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline, ServiceFormAdminMixin, form_changes, service_action
from cdp.context import actor_from_request
from licensing.models import (
    Asset,
    Collision,
    Download,
    License,
    Machine,
    Plan,
    Product,
    Release,
    StorageMeasurement,
    UsageLog,
    ValidationLog,
)
from licensing.selectors import license_usage, validation_stats
from licensing.services import (
    asset_grant,
    asset_revoke,
    collision_resolve,
    license_issue,
    license_reinstate,
    license_suspend,
    license_update,
    machine_ban,
    machine_release,
    machine_unban,
    plan_update,
    product_create,
    product_update,
    release_create,
    release_update,
    validation_log_flush,
)
from licensing.services.licenses import LICENSE_EDITABLE, PLAN_EDITABLE
from licensing.services.releases import PRODUCT_EDITABLE, RELEASE_EDITABLE
from tenants.admin_site import ShowSecretOnceAdminMixin


@admin.register(Plan)
class PlanAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "price_monthly", "limit_users", "limit_customers", "limit_api_calls_per_month",
                    "limit_ai_requests_per_month", "limit_storage_gb", "default_max_machines", "collision_action",
                    "license_count", "is_active")
    list_filter = ("is_active", "collision_action")
    search_fields = ("code", "name")
    readonly_fields = ("code", "license_count", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "description", "price_monthly", "currency", "is_active", "sort_order")}),
        ("Limits (empty = unlimited)", {"fields": ("limit_users", "limit_customers", "limit_api_calls_per_month",
                                                   "limit_ai_requests_per_month", "limit_storage_gb")}),
        ("Features and machines", {"fields": ("features", "default_max_machines", "trial_days",
                                              "require_fingerprint")}),
        ("Collision policy", {"fields": ("collision_window_minutes", "collision_ip_allowance",
                                         "collision_fingerprint_slack", "collision_action")}),
        ("Metadata", {"fields": ("license_count", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_licenses=Count("licenses"))

    @admin.display(description="Licenses", ordering="_licenses")
    def license_count(self, obj):
        return getattr(obj, "_licenses", None) if hasattr(obj, "_licenses") else obj.licenses.count()

    def has_add_permission(self, request):
        return False  # the three plans are seeded; codes are part of the API

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        return plan_update(plan=obj, actor=actor_from_request(request),
                           **form_changes(form, change=True, fields=PLAN_EDITABLE))


class MachineInline(ReadOnlyInline):
    model = Machine
    fields = ("fingerprint", "status", "first_ip", "last_ip", "last_seen_at", "created_at")
    readonly_fields = fields
    show_change_link = True


class LicenseAddForm(forms.ModelForm):
    max_machines = forms.IntegerField(min_value=1, required=False, help_text="Empty: the plan's default.")
    status = forms.ChoiceField(choices=[(License.Status.ACTIVE, "Active"), (License.Status.TRIAL, "Trial")])

    class Meta:
        model = License
        fields = ("tenant", "plan", "status", "expires_at", "max_machines", "custom_limits", "custom_features",
                  "notes")

    def _post_clean(self):
        # The key fields do not exist yet; license_issue validates the rest.
        pass

    def clean(self):
        data = super().clean()
        plan, expires_at = data.get("plan"), data.get("expires_at")
        if plan is not None and not plan.is_active:
            self.add_error("plan", "This plan is not offered any more.")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "The expiry must be in the future.")
        if data.get("tenant") is not None and data["tenant"].is_public:
            self.add_error("tenant", "Licenses belong to a tenant, not to the platform.")
        return data


@admin.register(License)
class LicenseAdmin(ShowSecretOnceAdminMixin, ServiceFormAdminMixin, admin.ModelAdmin):
    add_form = LicenseAddForm
    list_display = ("key_prefix", "tenant", "plan", "status", "validity", "expires_at", "machine_count",
                    "api_calls_used", "last_validated_at", "created_at")
    list_filter = ("status", "plan", "expires_at", "created_at")
    search_fields = ("key_prefix", "tenant__slug", "tenant__name", "notes")
    list_select_related = ("tenant", "plan")
    autocomplete_fields = ("tenant",)
    readonly_fields = ("key_prefix", "tenant", "validity", "machine_count", "usage_summary", "validation_summary",
                       "suspended_reason", "usage_period_start", "api_calls_used", "ai_requests_used",
                       "last_validated_at", "created_at", "updated_at")
    exclude = ("key_hash",)
    inlines = (MachineInline,)
    actions = ("suspend", "reinstate")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_machines=Count("machines"))

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": LicenseAddForm.Meta.fields})]
        return [
            (None, {"fields": ("key_prefix", "tenant", "plan", "status", "validity", "suspended_reason",
                               "expires_at", "max_machines", "machine_count")}),
            ("Overrides", {"fields": ("custom_limits", "custom_features", "notes")}),
            ("Usage", {"fields": ("usage_summary", "usage_period_start", "api_calls_used", "ai_requests_used",
                                  "validation_summary", "last_validated_at")}),
            ("Metadata", {"fields": ("created_at", "updated_at")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    @admin.display(description="Valid now", boolean=True)
    def validity(self, obj):
        return obj.is_usable()

    @admin.display(description="Machines", ordering="_machines")
    def machine_count(self, obj):
        count = getattr(obj, "_machines", None)
        count = obj.machines.count() if count is None else count
        return f"{count} / {obj.max_machines}"

    @admin.display(description="Usage against limits")
    def usage_summary(self, obj):
        rows = license_usage(tenant=obj.tenant)["rows"]
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}: {} of {} ({})</li>",
            ((row["label"], "–" if row["used"] is None else row["used"],
              "unlimited" if row["limit"] is None else row["limit"], row["level"]) for row in rows)))

    @admin.display(description="Validations by answer")
    def validation_summary(self, obj):
        stats = validation_stats(license=obj)
        return ", ".join(f"{code}: {count}" for code, count in sorted(stats.items())) or "none yet"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        validation_log_flush()  # the summary counts what is still buffered in Redis, too
        return super().change_view(request, object_id, form_url, extra_context)

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return license_update(license=obj, actor=actor, **form_changes(form, change=True, fields=LICENSE_EDITABLE))
        data = form.cleaned_data
        issued = license_issue(tenant=data["tenant"], plan_code=data["plan"].code, actor=actor, status=data["status"],
                               expires_at=data.get("expires_at"), max_machines=data.get("max_machines"),
                               custom_limits=data.get("custom_limits"), custom_features=data.get("custom_features"),
                               notes=data.get("notes") or "")
        self.show_secret_once(request, label=_("The license key"), secret=issued.key)
        return issued.license

    @service_action(description="Suspend selected licenses", done="license(s) suspended")
    def suspend(license, *, actor, request):
        license_suspend(license=license, actor=actor, reason="Suspended by an operator.")

    @service_action(description="Reinstate selected licenses", done="license(s) reinstated")
    def reinstate(license, *, actor, request):
        license_reinstate(license=license, actor=actor)

    def has_delete_permission(self, request, obj=None):
        return False  # cancel or suspend instead: the logs refer to it


@admin.register(Machine)
class MachineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Machines bind through validation; banning, unbanning and releasing a seat are the actions."""

    list_display = ("fingerprint", "license", "tenant", "status", "first_ip", "last_ip", "last_seen_at", "created_at")
    list_filter = ("status", "license__plan", "created_at")
    search_fields = ("fingerprint", "license__key_prefix", "license__tenant__slug", "last_ip")
    list_select_related = ("license__tenant",)
    readonly_fields = ("license", "fingerprint", "status", "first_ip", "last_ip", "last_seen_at", "created_at",
                       "updated_at")
    fields = ("license", "fingerprint", "name", "status", "first_ip", "last_ip", "last_seen_at", "created_at")
    actions = ("ban", "unban", "release")

    @admin.display(description="Tenant", ordering="license__tenant__slug")
    def tenant(self, obj):
        return obj.license.tenant.slug

    @service_action(description="Ban selected machines", done="machine(s) banned")
    def ban(machine, *, actor, request):
        machine_ban(machine=machine, actor=actor)

    @service_action(description="Lift the ban on selected machines", done="machine(s) unbanned")
    def unban(machine, *, actor, request):
        machine_unban(machine=machine, actor=actor)

    @service_action(description="Release selected machines (free their seats)", done="machine(s) released")
    def release(machine, *, actor, request):
        machine_release(machine=machine, actor=actor)


@admin.register(ValidationLog)
class ValidationLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "key_prefix", "code", "valid", "fingerprint", "ip_address", "license")
    list_filter = ("code", "valid", "created_at")
    search_fields = ("key_prefix", "fingerprint", "ip_address")
    list_select_related = ("license",)
    date_hierarchy = "created_at"

    def changelist_view(self, request, extra_context=None):
        validation_log_flush()  # show what is still buffered in Redis, too
        return super().changelist_view(request, extra_context)


@admin.register(Collision)
class CollisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("detected_at", "license", "tenant", "kind", "distinct_count", "allowance", "action",
                    "is_resolved")
    list_filter = ("kind", "action", "resolved_at", "detected_at")
    search_fields = ("license__key_prefix", "license__tenant__slug")
    list_select_related = ("license__tenant",)
    readonly_fields = ("detected_at", "license", "kind", "window_started_at", "window_minutes", "distinct_count",
                       "allowance", "evidence_list", "action", "resolved_at", "resolved_by")
    exclude = ("evidence",)
    actions = ("resolve",)

    @admin.display(description="Tenant", ordering="license__tenant__slug")
    def tenant(self, obj):
        return obj.license.tenant.slug

    @admin.display(description="Resolved", boolean=True, ordering="resolved_at")
    def is_resolved(self, obj):
        return obj.resolved_at is not None

    @admin.display(description="Evidence")
    def evidence_list(self, obj):
        values = (obj.evidence or {}).get("values", [])
        return format_html("<ul>{}</ul>", format_html_join("", "<li><code>{}</code></li>", ((v,) for v in values)))

    @service_action(description="Mark selected collisions as reviewed", done="collision(s) marked reviewed")
    def resolve(collision, *, actor, request):
        collision_resolve(collision=collision, actor=actor)


@admin.register(UsageLog)
class UsageLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "tenant", "resource", "event", "threshold", "used", "limit", "period_start")
    list_filter = ("event", "resource", "threshold", "created_at")
    search_fields = ("tenant__slug", "tenant__name", "resource")
    list_select_related = ("tenant",)
    date_hierarchy = "created_at"


@admin.register(StorageMeasurement)
class StorageMeasurementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Daily storage per tenant (schema tables + media) that counts against limit_storage_gb."""

    list_display = ("measured_on", "tenant", "database_mb", "media_mb", "measured_at")
    list_filter = ("measured_on",)
    search_fields = ("tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    date_hierarchy = "measured_on"

    @admin.display(description="Database (MB)")
    def database_mb(self, obj):
        return round(obj.database_bytes / 10**6, 1)

    @admin.display(description="Media (MB)")
    def media_mb(self, obj):
        return round(obj.media_bytes / 10**6, 1)


@admin.register(Product)
class ProductAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "is_active", "release_count", "owner_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    readonly_fields = ("release_count", "owner_count", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _releases=Count("releases", distinct=True), _owners=Count("assets", distinct=True))

    @admin.display(description="Releases", ordering="_releases")
    def release_count(self, obj):
        return getattr(obj, "_releases", "-")

    @admin.display(description="Owners", ordering="_owners")
    def owner_count(self, obj):
        return getattr(obj, "_owners", "-")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else (*self.readonly_fields, "code")

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return product_update(product=obj, actor=actor, **form_changes(form, change=True, fields=PRODUCT_EDITABLE))
        data = form.cleaned_data
        return product_create(code=data["code"], name=data["name"], description=data.get("description") or "",
                              actor=actor)


class ReleaseAddForm(forms.ModelForm):
    sha256 = forms.CharField(required=False, max_length=64, help_text="Computed from the file when one is uploaded.")

    class Meta:
        model = Release
        fields = ("product", "version", "status", "is_critical", "changelog", "artifact", "download_url", "sha256")

    def _post_clean(self):
        pass  # release_create validates (and computes the SHA-256 first)


@admin.register(Release)
class ReleaseAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    add_form = ReleaseAddForm
    list_display = ("product", "version", "status", "is_critical", "short_sha256", "size_bytes", "download_count",
                    "published_at")
    list_filter = ("status", "is_critical", "product")
    search_fields = ("version", "product__code", "product__name", "sha256")
    list_select_related = ("product",)
    readonly_fields = ("product", "version", "artifact", "sha256", "size_bytes", "download_count", "published_at",
                       "created_at", "updated_at")
    actions = ("mark_stable", "mark_deprecated")

    @admin.display(description="SHA-256")
    def short_sha256(self, obj):
        return f"{obj.sha256[:12]}…"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ReleaseAddForm.Meta.fields
        return ("product", "version", "status", "is_critical", "changelog", "artifact", "download_url", "sha256",
                "size_bytes", "download_count", "published_at", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # deprecate instead: downloads refer to it

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            return release_update(release=obj, actor=actor, **form_changes(form, change=True, fields=RELEASE_EDITABLE))
        data = form.cleaned_data
        return release_create(product=data["product"], version=data["version"], status=data["status"],
                              is_critical=data["is_critical"], changelog=data["changelog"],
                              artifact=data.get("artifact") or None, download_url=data.get("download_url") or "",
                              sha256=data.get("sha256") or "", actor=actor)

    @service_action(description="Mark selected releases stable", done="release(s) marked stable")
    def mark_stable(release, *, actor, request):
        release_update(release=release, actor=actor, status=Release.Status.STABLE)

    @service_action(description="Mark selected releases deprecated", done="release(s) marked deprecated")
    def mark_deprecated(release, *, actor, request):
        release_update(release=release, actor=actor, status=Release.Status.DEPRECATED)


@admin.register(Asset)
class AssetAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("tenant", "product", "license", "is_active", "created_at", "revoked_at")
    list_filter = ("product", "revoked_at")
    search_fields = ("tenant__slug", "tenant__name", "product__code", "product__name")
    list_select_related = ("tenant", "product", "license")
    autocomplete_fields = ("tenant",)
    fields = ("tenant", "product", "license")
    actions = ("revoke",)

    @admin.display(description="Active", boolean=True, ordering="revoked_at")
    def is_active(self, obj):
        return obj.revoked_at is None

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("tenant", "product", "license")

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        if change:
            return obj  # nothing is edited: an ownership is granted or revoked
        data = form.cleaned_data
        return asset_grant(tenant=data["tenant"], product=data["product"], license=data.get("license"),
                           actor=actor_from_request(request))

    @service_action(description="Revoke selected ownerships", done="ownership(s) revoked")
    def revoke(asset, *, actor, request):
        asset_revoke(asset=asset, actor=actor)


@admin.register(Download)
class DownloadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "release", "tenant", "license", "actor_label", "ip_address")
    list_filter = ("created_at", "release__product")
    search_fields = ("tenant__slug", "actor_label", "release__version", "release__product__code")
    list_select_related = ("release__product", "tenant", "license")
    date_hierarchy = "created_at"

"""Analytics in the tenant's admin: runs and logs are read-only records; definitions and segments
are edited through the services (validated and audited, refusals shown on the form); actions start
runs and materialize."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import (
    ExportRequest,
    ChurnPredictionLog,
    ClvCalculationLog,
    DataQualityCheck,
    ProcessingJob,
    RfmSegmentDefinition,
    Segment,
)
from analytics.rules import RuleError, rules_to_q
from analytics.services.exports import export_request_approve, export_request_reject
from analytics.services import (
    analytics_run_enqueue,
    rfm_definition_update,
    segment_create,
    segment_delete,
    segment_restore,
    segment_materialize,
    segment_update,
)
from analytics.services.rfm import EDITABLE_FIELDS
from analytics.services.segments import FIELDS as SEGMENT_FIELDS
from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    model_field_names,
    service_action,
)
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from cdp.softdelete import SoftDeleteAdminMixin
from tenants.admin_site import TenantModelAdmin, tenant_admin_site
from tenants.roles import EXPORT


@admin.register(ProcessingJob, site=tenant_admin_site)
class ProcessingJobAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("id", "as_of", "status", "requested_by", "created_at", "duration_seconds")
    list_filter = ("status",)
    search_fields = ("requested_by",)
    date_hierarchy = "created_at"
    readonly_fields = ("job_type", "as_of", "steps", "status", "requested_by", "started_at", "finished_at",
                       "step_timings", "row_counts", "summary", "error")
    actions = ["run_again"]

    @admin.action(description="Start a new run for the same as-of date")
    def run_again(self, request, queryset):
        # One run per tenant at a time: the newest selected run's date, not one run per row.
        job = queryset.order_by("-created_at").first()
        if job is None:
            return
        try:
            new = analytics_run_enqueue(tenant=connection.tenant, actor=actor_from_request(request), as_of=job.as_of)
        except ApplicationError as exc:
            self.message_user(request, exc.as_text(), messages.ERROR)
        else:
            self.message_user(request, f"Run {new.pk} started for {new.as_of}.")


@admin.register(ClvCalculationLog, site=tenant_admin_site)
class ClvCalculationLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("as_of", "status", "time_unit", "customers_used", "repeat_customers", "log_likelihood",
                    "created_at")
    list_filter = ("status", "time_unit")
    readonly_fields = ("job", "as_of", "status", "message", "time_unit", "horizon_months", "discount_rate",
                       "model_params", "spend_params", "log_likelihood", "spend_log_likelihood", "customers_used",
                       "repeat_customers", "distinct_rows", "spend_frequency_corr", "timings")


@admin.register(ChurnPredictionLog, site=tenant_admin_site)
class ChurnPredictionLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("as_of", "method", "auc", "brier", "train_customers", "test_customers", "scored_customers")
    list_filter = ("method",)
    readonly_fields = ("job", "as_of", "method", "message", "cutoff", "window_days", "train_customers",
                       "test_customers", "churn_rate", "auc", "brier", "calibration", "coefficients",
                       "scored_customers", "timings")


@admin.register(DataQualityCheck, site=tenant_admin_site)
class DataQualityCheckAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("as_of", "code", "severity", "checked", "failed")
    list_filter = ("severity", "code")
    readonly_fields = ("as_of", "code", "label", "target", "severity", "checked", "failed", "sample_ids")


@admin.register(RfmSegmentDefinition, site=tenant_admin_site)
class RfmSegmentDefinitionAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    """The defaults are created by the first run; editing one changes the next run (never added or
    deleted here: a run needs every cell of the grid covered)."""

    list_display = ("name", "code", "priority", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "is_active")
    list_editable = ("is_active",)
    readonly_fields = ("code",)
    fields = ("code", *EDITABLE_FIELDS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS}
        return rfm_definition_update(definition_id=obj.pk, data=data, actor=actor_from_request(request),
                                     tenant=connection.tenant)


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = SEGMENT_FIELDS

    def clean_rules(self):
        try:
            rules_to_q(self.cleaned_data["rules"])
        except RuleError as exc:
            raise ValidationError(exc.message) from None
        return self.cleaned_data["rules"]


@admin.register(Segment, site=tenant_admin_site)
class SegmentAdmin(SoftDeleteAdminMixin, ServiceFormAdminMixin, ServiceDeleteAdminMixin, TenantModelAdmin):
    """Deleting hides a segment; the "deleted" filter lists the restorable ones and "Restore"
    brings them back (cdp/softdelete.py)."""

    form = SegmentAdminForm
    list_display = ("name", "is_active", "member_count", "materialized_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    readonly_fields = ("member_count", "materialized_at", "created_by")
    fields = (*SEGMENT_FIELDS, "member_count", "materialized_at", "created_by")
    actions = ["materialize", "restore"]

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data if name in SEGMENT_FIELDS}
            return segment_update(segment_id=obj.pk, data=data, actor=actor, tenant=connection.tenant)
        return segment_create(**{name: form.cleaned_data[name] for name in SEGMENT_FIELDS}, actor=actor,
                              tenant=connection.tenant)

    def service_delete(self, request, obj):
        segment_delete(segment_id=obj.pk, actor=actor_from_request(request), tenant=connection.tenant)

    @service_action(description="Restore selected deleted segments", done="segment(s) restored")
    def restore(segment, *, actor, request):
        segment_restore(segment_id=segment.pk, actor=actor, tenant=connection.tenant)

    @service_action(description="Recompute members now", done="segment(s) recomputed")
    def materialize(segment, *, actor, request):
        segment_materialize(segment=segment, as_of=timezone.localdate())


@service_action(description=_("Approve the selected export requests"), done=_("export request(s) approved"))
def approve_exports(request_row, *, actor, request):
    export_request_approve(request_id=request_row.pk, actor=actor, note="admin")


@service_action(description=_("Reject the selected export requests"), done=_("export request(s) rejected"))
def reject_exports(request_row, *, actor, request):
    export_request_reject(request_id=request_row.pk, actor=actor, note="admin")


@admin.register(ExportRequest, site=tenant_admin_site)
class ExportRequestAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Exports waiting for a second person (the ``export`` capability); decisions through the service."""

    required_capability = EXPORT
    list_display = ("id", "segment", "rows", "status", "requested_by", "decided_by", "expires_at", "downloads",
                    "created_at")
    list_filter = ("status",)
    actions = (approve_exports, reject_exports)
    readonly_fields = model_field_names(ExportRequest)

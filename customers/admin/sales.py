"""The counted-sale rule in the tenant's admin: changed through the service (which records a
recomputation), and the recomputations themselves, read-only with their progress."""

from __future__ import annotations

from django import forms
from django.db import connection
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin
from cdp.context import actor_from_request
from customers.models import CountedSaleRule, Order
from customers.services.sales import counted_statuses_set
from tenants.admin_site import TenantModelAdmin


class CountedSaleRuleForm(forms.ModelForm):
    statuses = forms.MultipleChoiceField(
        choices=[(value, label) for value, label in Order.Status.choices if value not in Order.VOID_STATUSES],
        widget=forms.CheckboxSelectMultiple, label=_("Order statuses that count as a sale"),
        help_text=_("Saving recomputes every customer's totals, loyalty points and the analytics; the progress "
                    "shows under Sales recomputations."))

    class Meta:
        model = CountedSaleRule
        fields = ("statuses",)


class CountedSaleRuleAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    form = CountedSaleRuleForm
    list_display = ("__str__", "changed_by", "updated_at")
    readonly_fields = ("changed_by", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not CountedSaleRule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False  # deleting would silently fall back to the default without a recomputation

    def service_save(self, request, obj, form, change):
        counted_statuses_set(statuses=form.cleaned_data["statuses"], actor=actor_from_request(request),
                             tenant=connection.tenant)
        return CountedSaleRule.objects.get(key="sales")


class SalesRecomputeJobAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("id", "created_at", "status", "current_step", "statuses_before", "statuses_after", "requested_by")
    list_filter = ("status",)
    readonly_fields = ("statuses_before", "statuses_after", "steps", "status", "current_step", "progress",
                       "requested_by", "started_at", "finished_at", "error")
    fields = readonly_fields

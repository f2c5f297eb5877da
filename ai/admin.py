"""Operators' admin of the AI mesh (platform host): providers, models, the key pool (masked, health,
reinstate), master prompts with their A/B results, tenants' policies, and processed tasks
(read-only) with spend per tenant and provider and margin per client.

Every write goes through ``ai.services`` (audited); a key's value is typed into a password field,
encrypted by the service and never shown again (only its last four characters)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from ai import selectors, services
from ai.models import (
    CAPABILITIES,
    AiModel,
    MasterPrompt,
    ProcessedTask,
    Provider,
    ProviderKey,
    TaskBatch,
    TenantPolicy,
)
from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceFormAdminMixin,
    model_field_names,
    service_action,
)
from cdp.context import actor_from_request
from licensing.selectors import month_start


class ProviderKeyInline(ReadOnlyInline):
    model = ProviderKey
    fields = ("label", "masked", "is_active", "health", "rpm_limit", "tpm_limit", "last_success_at", "last_error")
    readonly_fields = fields


@admin.register(Provider)
class ProviderAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "base_url", "is_active", "priority")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "base_url")
    fields = ("name", "kind", "base_url", "is_active", "priority")
    inlines = [ProviderKeyInline]

    def service_save(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in self.fields}
        current = Provider.objects.get(pk=obj.pk) if change else None
        return services.provider_save(actor=actor_from_request(request), provider=current, **values)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: tasks keep their provider's name


class AiModelForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(choices=[(c, c) for c in CAPABILITIES],
                                             widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = AiModel
        fields = ("provider", "model_id", "capabilities", "context_window", "input_cost_per_1k", "output_cost_per_1k",
                  "status", "priority")


@admin.register(AiModel)
class AiModelAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    form = AiModelForm
    list_display = ("model_id", "provider", "capabilities", "input_cost_per_1k", "output_cost_per_1k", "status",
                    "priority")
    list_filter = ("status", "provider")
    search_fields = ("model_id",)

    def service_save(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in AiModelForm.Meta.fields}
        current = AiModel.objects.get(pk=obj.pk) if change else None
        return services.model_save(actor=actor_from_request(request), model=current, **values)

    def has_delete_permission(self, request, obj=None):
        return False


class ProviderKeyForm(forms.ModelForm):
    api_key = forms.CharField(label=_("API key"), required=False, strip=True,
                              widget=forms.PasswordInput(render_value=False),
                              help_text=_("Write-only: stored encrypted, shown as its last four characters. "
                                          "Leave empty to keep the current key."))

    class Meta:
        model = ProviderKey
        fields = ("provider", "label", "is_active", "rpm_limit", "tpm_limit")


@admin.register(ProviderKey)
class ProviderKeyAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    form = ProviderKeyForm
    list_display = ("label", "provider", "masked", "is_active", "health", "rpm_limit", "tpm_limit",
                    "requests_total", "failures_total", "last_success_at")
    list_filter = ("provider", "is_active")
    search_fields = ("label",)
    readonly_fields = ("masked", "health", "rest_until", "rest_reason", "consecutive_failures", "last_error",
                       "last_used_at", "last_success_at", "requests_total", "failures_total")
    actions = ["reinstate"]

    def get_fields(self, request, obj=None):
        return ("provider", "label", "api_key", "is_active", "rpm_limit", "tpm_limit", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "provider") if obj else self.readonly_fields

    def service_save(self, request, obj, form, change):
        data, actor = form.cleaned_data, actor_from_request(request)
        if change:
            return services.key_update(actor=actor, key=ProviderKey.objects.get(pk=obj.pk),
                                       api_key=data.get("api_key") or None,
                                       **{name: data[name] for name in ("label", "is_active", "rpm_limit", "tpm_limit")})
        return services.key_add(actor=actor, provider=data["provider"], api_key=data.get("api_key") or "",
                                label=data["label"], rpm_limit=data["rpm_limit"], tpm_limit=data["tpm_limit"])

    @service_action(description=_("Reinstate now (end a rest or an open circuit)"), done=_("key(s) reinstated"))
    def reinstate(key, *, actor, request):
        services.key_update(actor=actor, key=key, reinstate=True)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: tasks' attempts name keys by id


class MasterPromptForm(forms.ModelForm):
    variables = forms.CharField(required=False, help_text=_("Comma-separated names the template uses."))

    class Meta:
        model = MasterPrompt
        fields = ("feature", "language", "system", "template", "variables", "capability", "weight", "is_active")

    def clean_variables(self):
        return [name.strip() for name in (self.cleaned_data.get("variables") or "").split(",") if name.strip()]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.variables, list):
            self.initial["variables"] = ", ".join(self.instance.variables)


@admin.register(MasterPrompt)
class MasterPromptAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    form = MasterPromptForm
    list_display = ("feature", "language", "version", "weight", "is_active", "tasks", "succeeded", "cost_usd")
    list_filter = ("feature", "language", "is_active")
    search_fields = ("feature", "template")
    readonly_fields = ("version",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_tasks=Count("tasks"), n_succeeded=Count("tasks", filter=Q(tasks__status=ProcessedTask.Status.SUCCEEDED)),
            spend=Coalesce(Sum("tasks__cost_usd"), Value(0), output_field=DecimalField()))

    @admin.display(description=_("tasks"), ordering="n_tasks")
    def tasks(self, obj):
        return obj.n_tasks

    @admin.display(description=_("succeeded"), ordering="n_succeeded")
    def succeeded(self, obj):
        return obj.n_succeeded

    @admin.display(description=_("cost (USD)"), ordering="spend")
    def cost_usd(self, obj):
        return obj.spend

    def service_save(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in MasterPromptForm.Meta.fields}
        current = MasterPrompt.objects.get(pk=obj.pk) if change else None
        return services.prompt_save(actor=actor_from_request(request), prompt=current, **values)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: tasks keep the version they used


@admin.register(TenantPolicy)
class TenantPolicyAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    list_display = ("tenant", "enabled", "monthly_budget_usd", "allow_personal_data", "price_per_request_usd")
    list_filter = ("enabled", "allow_personal_data")
    search_fields = ("tenant__slug", "tenant__name")
    fields = ("tenant", "enabled", "monthly_budget_usd", "allowed_providers", "allow_personal_data",
              "price_per_request_usd")
    filter_horizontal = ("allowed_providers",)

    def get_readonly_fields(self, request, obj=None):
        return ("tenant",) if obj else ()

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        tenant = obj.tenant if change else data["tenant"]
        return services.policy_save(actor=actor_from_request(request), tenant=tenant,
                                    allowed_providers=list(data["allowed_providers"]),
                                    **{name: data[name] for name in ("enabled", "monthly_budget_usd",
                                                                     "allow_personal_data", "price_per_request_usd")})

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaskBatch)
class TaskBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tenant", "feature", "total", "progress", "created_at")
    list_filter = ("feature",)
    search_fields = ("tenant__slug", "feature")
    readonly_fields = (*model_field_names(TaskBatch), "progress")
    list_select_related = ("tenant",)

    @admin.display(description=_("progress"))
    def progress(self, obj):
        p = selectors.batch_progress(batch=obj)
        return f"{p['percent']}% · {p['succeeded']} succeeded, {p['failed']} failed, USD {p['cost_usd']}"


@admin.register(ProcessedTask)
class ProcessedTaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tenant", "feature", "prompt_version", "status", "provider_name", "model_name", "tokens_in",
                    "tokens_out", "cost_usd", "latency_ms", "created_at")
    list_filter = ("status", "feature", "provider_name", "tenant")
    search_fields = ("feature", "tenant__slug", "error_code")
    date_hierarchy = "created_at"
    readonly_fields = model_field_names(ProcessedTask)
    list_select_related = ("tenant",)

    def get_urls(self):
        return [path("spend/", self.admin_site.admin_view(self.spend_view), name="ai_processedtask_spend"),
                *super().get_urls()]

    def spend_view(self, request):
        """Spend per tenant and provider this month, and revenue and margin per client."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        since = month_start()
        by_provider = (ProcessedTask.objects.filter(created_at__date__gte=since)
                       .values("tenant__slug", "provider_name")
                       .annotate(tasks=Count("id"), cost=Coalesce(Sum("cost_usd"), Value(0),
                                                                  output_field=DecimalField()))
                       .order_by("tenant__slug", "provider_name"))
        context = {**self.admin_site.each_context(request), "title": _("AI spend and margin"), "since": since,
                   "by_provider": by_provider, "margins": selectors.margin_by_tenant(since=since),
                   "prompts": selectors.prompt_results(), "opts": self.model._meta}
        return TemplateResponse(request, "admin/ai/spend.html", context)

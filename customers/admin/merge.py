"""Merges in the tenant's admin: the "Merge into…" action of the customers' list (with its
confirmation page), merges (read-only, with "Undo") and duplicate suggestions (read-only, with
"Dismiss" and "Merge pair"). Every action calls a service per row (``service_action``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, model_field_names, service_action
from cdp.ids import parse_id
from customers.masking import mask_customer, request_visibility
from customers.models import CustomerMerge, DuplicateCandidate
from customers.services.duplicates import duplicate_dismiss
from customers.services.merge import customer_merge, merge_undo
from tenants.admin_site import TenantModelAdmin

MERGE_INTO_TEMPLATE = "customers/admin/merge_into.html"


@admin.action(description=_("Merge into…"))
def merge_customers_into(modeladmin, request, queryset):
    """First the confirmation page (choose the survivor among the selected), then one merge per
    other selected customer."""
    customers = list(queryset.order_by("pk"))
    if len(customers) < 2:
        modeladmin.message_user(request, _("Select at least two customers to merge."), level=messages.WARNING)
        return None
    if request.POST.get("confirm") != "yes":
        visibility = request_visibility(request)
        shown = [mask_customer(customer, visibility) for customer in customers]
        context = {**modeladmin.admin_site.each_context(request), "customers": shown,
                   "title": _("Merge customers")}
        return TemplateResponse(request, MERGE_INTO_TEMPLATE, context)
    survivor_id = parse_id(request.POST.get("survivor") or customers[0].pk)
    if survivor_id not in {customer.pk for customer in customers}:
        modeladmin.message_user(request, _("Choose the surviving customer among the selected ones."),
                                level=messages.ERROR)
        return None

    @service_action(description=_("Merge into…"), done=_("customer(s) merged into #%(id)s") % {"id": survivor_id})
    def merge_into_survivor(customer, *, actor, request):
        customer_merge(survivor_id=survivor_id, merged_id=customer.pk, actor=actor, reason="admin action")

    return merge_into_survivor(modeladmin, request, queryset.exclude(pk=survivor_id))


@service_action(description=_("Undo selected merges"), done=_("merge(s) undone"), ordering=("-created_at", "-pk"))
def undo_merges(merge, *, actor, request):
    """Newest first: a merge whose survivor was merged away since can be undone after that one."""
    merge_undo(merge_id=merge.pk, actor=actor)


class CustomerMergeAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Read-only: merges are made and undone by the services (the action here)."""

    list_display = ("id", "created_at", "survivor", "merged", "merged_by", "reason", "undone_at", "undone_by")
    list_filter = ("undone_at",)
    search_fields = ("=survivor__id", "=merged__id")
    list_select_related = ("survivor", "merged")
    exclude = ("snapshot",)  # internal undo data, personal values included
    readonly_fields = model_field_names(CustomerMerge, exclude=("snapshot",))
    actions = (undo_merges,)
    ordering = ("-created_at",)


@service_action(description=_("Not duplicates: dismiss"), done=_("pair(s) dismissed"))
def dismiss_pairs(candidate, *, actor, request):
    duplicate_dismiss(candidate_id=candidate.pk, actor=actor)


@service_action(description=_("Merge each pair (the older customer survives)"), done=_("pair(s) merged"))
def _merge_pair(candidate, *, actor, request):
    customer_merge(survivor_id=candidate.customer_a_id, merged_id=candidate.customer_b_id, actor=actor,
                   reason=f"duplicate suggestion {candidate.pk}")


@admin.action(description=_("Merge each pair (the older customer survives)"))
def merge_pairs(modeladmin, request, queryset):
    """Only pending pairs: dismissed and merged ones are settled."""
    return _merge_pair(modeladmin, request, queryset.filter(status=DuplicateCandidate.Status.PENDING))


class DuplicateCandidateAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Suggestions are computed by ``duplicates_recompute``; people dismiss or merge them."""

    list_display = ("id", "customer_a", "customer_b", "score", "status", "reviewed_by", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("=customer_a__id", "=customer_b__id")
    list_select_related = ("customer_a", "customer_b")
    ordering = ("-score", "id")
    readonly_fields = model_field_names(DuplicateCandidate)
    actions = (dismiss_pairs, merge_pairs)

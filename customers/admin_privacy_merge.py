"""Tenant admin for privacy and merges: merges (read-only, with "Undo"), duplicate suggestions
(with "Dismiss" and "Merge pair"), and the "Pseudonymize" and "Merge into…" actions added to the
customers' admin. Every action calls a service (logged and audited) and reports per row."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template import engines
from django.template.response import TemplateResponse

from cdp.admin_mixins import ReadOnlyAdminMixin
from cdp.exceptions import ApplicationError
from customers.models import Customer, CustomerMerge, DuplicateCandidate
from customers.services.duplicates import duplicate_dismiss
from customers.services.merge import customer_merge, merge_undo
from customers.services.privacy import customer_pseudonymize
from tenants.admin_site import TenantModelAdmin, tenant_admin_site
from tenants.services import actor_from_request


def _run(modeladmin, request, rows, call, done: str) -> None:
    ok = 0
    for row in rows:
        try:
            call(row)
            ok += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{row}: {exc.message}", level=messages.ERROR)
    if ok:
        modeladmin.message_user(request, f"{ok} {done}.", level=messages.SUCCESS)


@admin.action(description="Pseudonymize selected customers (irreversible)")
def pseudonymize_customers(modeladmin, request, queryset):
    actor = actor_from_request(request)
    _run(modeladmin, request, queryset.order_by("pk"),
         lambda c: customer_pseudonymize(customer_id=c.pk, actor=actor, reason="admin action"),
         "customer(s) pseudonymized")


MERGE_INTO_TEMPLATE = engines["django"].from_string("""{% extends "admin/base_site.html" %}
{% block content %}
<h1>Merge customers</h1>
<p>Choose the customer that survives. The others are folded into it (orders, identities, addresses,
loyalty, credit and change log move; it can be undone from <em>Customer merges</em>).</p>
<form method="post">{% csrf_token %}
  {% for c in customers %}
  <p><label><input type="radio" name="survivor" value="{{ c.pk }}" {% if forloop.first %}checked{% endif %}>
     #{{ c.pk }} {{ c }} ({{ c.email|default:"no email" }}, {{ c.total_orders }} orders)</label>
     <input type="hidden" name="_selected_action" value="{{ c.pk }}"></p>
  {% endfor %}
  <input type="hidden" name="action" value="merge_customers_into">
  <input type="hidden" name="confirm" value="yes">
  <input type="submit" value="Merge">
</form>
{% endblock %}""")


@admin.action(description="Merge into…")
def merge_customers_into(modeladmin, request, queryset):
    customers = list(queryset.order_by("pk"))
    if len(customers) < 2:
        modeladmin.message_user(request, "Select at least two customers to merge.", level=messages.WARNING)
        return None
    if request.POST.get("confirm") != "yes":
        context = {**modeladmin.admin_site.each_context(request), "customers": customers, "title": "Merge customers"}
        return TemplateResponse(request, MERGE_INTO_TEMPLATE, context)
    survivor_id = int(request.POST.get("survivor") or customers[0].pk)
    actor = actor_from_request(request)
    _run(modeladmin, request, [c for c in customers if c.pk != survivor_id],
         lambda c: customer_merge(survivor_id=survivor_id, merged_id=c.pk, actor=actor, reason="admin action"),
         f"customer(s) merged into #{survivor_id}")
    return None


# The customers' admin is the core's; the actions are added to its registered instance.
_customer_admin = tenant_admin_site._registry.get(Customer)
if _customer_admin is not None:
    _customer_admin.actions = [*(_customer_admin.actions or ()), pseudonymize_customers, merge_customers_into]


@admin.register(CustomerMerge, site=tenant_admin_site)
class CustomerMergeAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Read-only: merges are made and undone by the services (actions here)."""

    list_display = ("id", "created_at", "survivor", "merged", "merged_by", "reason", "undone_at", "undone_by")
    list_filter = ("undone_at",)
    search_fields = ("=survivor__id", "=merged__id")
    list_select_related = ("survivor", "merged")
    exclude = ("snapshot",)
    actions = ("undo_merges",)
    ordering = ("-created_at",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CustomerMerge._meta.fields if field.name != "snapshot"]

    def get_actions(self, request):
        # Actions normally need change permission; undo is gated by the tenant-admin role instead.
        actions = super().get_actions(request)
        if "undo_merges" not in actions and self.has_view_permission(request):
            actions["undo_merges"] = self.get_action("undo_merges")
        return actions

    @admin.action(description="Undo selected merges")
    def undo_merges(self, request, queryset):
        actor = actor_from_request(request)
        _run(self, request, queryset.order_by("-created_at"),
             lambda m: merge_undo(merge_id=m.pk, actor=actor), "merge(s) undone")


@admin.register(DuplicateCandidate, site=tenant_admin_site)
class DuplicateCandidateAdmin(TenantModelAdmin):
    list_display = ("id", "customer_a", "customer_b", "score", "status", "reviewed_by", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("=customer_a__id", "=customer_b__id")
    list_select_related = ("customer_a", "customer_b")
    ordering = ("-score", "id")
    actions = ("dismiss_pairs", "merge_pairs")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in DuplicateCandidate._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Not duplicates: dismiss")
    def dismiss_pairs(self, request, queryset):
        actor = actor_from_request(request)
        _run(self, request, queryset, lambda d: duplicate_dismiss(candidate_id=d.pk, actor=actor), "pair(s) dismissed")

    @admin.action(description="Merge each pair (the older customer survives)")
    def merge_pairs(self, request, queryset):
        actor = actor_from_request(request)
        _run(self, request, queryset.filter(status=DuplicateCandidate.Status.PENDING),
             lambda d: customer_merge(survivor_id=d.customer_a_id, merged_id=d.customer_b_id, actor=actor,
                                      reason=f"duplicate suggestion {d.pk}"), "pair(s) merged")

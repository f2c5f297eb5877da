"""Portal pages: customer search and list, the Customer 360 and the change history."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404, HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cdp.admin_mixins import form_errors_add
from cdp.context import actor_from_request
from cdp.csv import csv_lines
from cdp.exceptions import ApplicationError, NotFound
from customers import registry, selectors
from customers.access import Action, log_access, log_list, request_query
from customers.filters import CustomerListFilter
from customers.filters.profile import SORT_LABELS
from customers.filters.access import DataAccessLogFilter
from customers.forms import AttributesForm, CustomerEditForm, LeadForm
from customers.masking import mask_change, mask_customer, request_visibility
from customers.models import DataAccessLog
from customers.selectors.attributes import attribute_definition_list, attribute_value_text, customer_attribute_values
from customers.services import customer_update
from customers.services.attributes import customer_attributes_set
from customers.services.leads import customer_ingest
from customers.services.views import customer_view_delete, customer_view_save
from tenants.roles import AUDIT, EXPORT, WRITE
from tenants.services import data_export_record
from tenants.views import filtered, paginate, portal_page


#: The list's filters that stay in the main row; the others fold under "More filters".
MAIN_FILTERS = ("q", "sort")
#: Columns of the CSV export (the list's, and what a campaign tool imports).
EXPORT_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "document_type", "document_number", "country",
                  "city", "status", "customer_type", "marketing_consent", "total_orders", "total_spent",
                  "last_purchase_at", "created_at")


def _list_query(request, filterset, **changes) -> str:
    """The list's query string (its own filters only, no page), with ``changes`` applied."""
    params = {key: value for key, value in request.GET.items() if key in filterset.filters and value}
    params.update(changes)
    return urlencode({key: value for key, value in params.items() if value})


def _sort_columns(request, filterset) -> dict:
    current = request.GET.get("sort", "") if filterset.is_bound and "sort" not in filterset.errors else ""
    columns = {}
    for column in SORT_LABELS:
        state = "ascending" if current == column else "descending" if current == f"-{column}" else None
        following = f"-{column}" if state == "ascending" else column
        columns[column] = {"href": "?" + _list_query(request, filterset, sort=following), "state": state}
    return columns


def _customer_list_filter(data):
    return CustomerListFilter(data or None, queryset=selectors.customer_list())


@portal_page()
def customer_list_page(request):
    """Search and filters (the API's FilterSet), sortable columns, the person's saved views and, for
    holders of ``export``, a CSV of exactly what is filtered."""
    filterset = _customer_list_filter(request.GET)
    queryset, status = filtered(filterset)
    page = paginate(request, queryset)
    visibility = request_visibility(request)
    page.object_list = [mask_customer(c, visibility) for c in page.object_list]
    log_list(request, rows=len(page.object_list))
    query = _list_query(request, filterset)
    form = filterset.form
    more = [form[name] for name in form.fields if name not in MAIN_FILTERS]
    return render(request, "customers/list.html", {
        "filter": filterset, "page": page, "query": query, "columns": _sort_columns(request, filterset),
        "main_fields": [form[name] for name in MAIN_FILTERS if name in form.fields], "more_fields": more,
        "more_open": any(request.GET.get(field.name) for field in more) or any(field.errors for field in more),
        "views": selectors.customer_views_of(user_id=request.user.pk),
        "can_export": EXPORT in request.capabilities and status == 200,
    }, status=status)


@portal_page()
@require_POST
def customer_view_save_view(request):
    """Save the list's current filters and sort under a name (the person's own view)."""
    filterset = _customer_list_filter(QueryDict(request.POST.get("query", "")))
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, _("These filters are not valid: correct them before saving the view."))
        return redirect(reverse("customers:list") + "?" + request.POST.get("query", "")[:2000])
    query = urlencode({key: value for key, value in filterset.data.items() if key in filterset.filters and value})
    try:
        view = customer_view_save(actor=actor_from_request(request), name=request.POST.get("name", ""), query=query)
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
        return redirect(reverse("customers:list") + (f"?{query}" if query else ""))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(reverse("customers:list") + (f"?{query}" if query else ""))


@portal_page()
@require_POST
def customer_view_delete_view(request, pk: int):
    try:
        customer_view_delete(actor=actor_from_request(request), view_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("View deleted."))
    return redirect("customers:list")


@portal_page(EXPORT)
def customer_export_view(request):
    """The customers of the current filter as CSV (``cdp.csv``: UTF-8 with BOM, formula cells
    neutralised), for holders of ``export``. Checked against the export guards (the approval
    threshold), then audited and logged before the first byte, streamed; masked for a reader
    without ``unmask``; dates in the tenant's time zone."""
    filterset = _customer_list_filter(request.GET)
    queryset, status = filtered(filterset)
    if status != 200:
        return HttpResponseBadRequest(_("These filters are not valid: correct them on the customer list."),
                                      content_type="text/plain; charset=utf-8")
    rows = queryset.order_by().count()
    try:
        registry.export_check(rows=rows, tenant=connection.tenant)
    except ApplicationError as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    query = request_query(request)
    log_access(request, action=Action.EXPORT, rows=rows, query={**query, "format": "csv"})
    data_export_record(actor=actor_from_request(request), tenant=connection.tenant, resource_type="customer_list",
                       resource_id="", rows=rows, fmt="csv", details={"filters": query})
    visibility = request_visibility(request)

    def lines():
        yield EXPORT_COLUMNS
        for customer in queryset.iterator(chunk_size=2000):
            mask_customer(customer, visibility)
            yield [_cell(getattr(customer, column)) for column in EXPORT_COLUMNS]

    response = StreamingHttpResponse(csv_lines(lines()), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


def _cell(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")  # the tenant's time zone
    if value is None:
        return ""
    return value


@portal_page()
def customer_detail_page(request, pk: int):
    try:
        view = selectors.customer_360(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    visibility = request_visibility(request)
    mask_customer(view["customer"], visibility)
    for address in view["addresses"]:
        mask_customer(address, visibility)
    log_access(request, action=Action.PROFILE_READ, resource_id=pk, rows=1)
    # Other apps' sections (analytics scores...) render with their own template when they ship
    # one as templates/customer_sections/<name>.html; otherwise as a plain list of values.
    sections = [
        (name, data, select_template([f"customer_sections/{name}.html", "customers/_section_generic.html"]))
        for name, data in view["sections"].items()
    ]
    return render(request, "customers/detail.html", {"c": view["customer"], "view": view, "sections": sections})


@portal_page(WRITE)
def customer_edit_page(request, pk: int):
    """Edit a profile (holders of ``write``): only the fields the person changed go to
    ``customer_update`` (change log, audit, events); its refusals land on their fields. E-mail and
    phone are editable only by who sees them unmasked, document and birth date only with
    ``sensitive``."""
    try:
        customer = selectors.customer_get(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    visibility = request_visibility(request)
    initial = CustomerEditForm.initial_of(customer)
    form = CustomerEditForm(request.POST or None, initial=initial, visibility=visibility)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                customer_update(customer_id=pk, data=data, actor=actor_from_request(request), reason="portal edit")
            except ApplicationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, _("Customer saved.") if data else _("Nothing changed."))
                return redirect("customers:detail", pk=pk)
        status = 400
    log_access(request, action=Action.PROFILE_READ, resource_id=customer.pk, rows=1, query={"section": "edit"})
    mask_customer(customer, visibility)
    return render(request, "customers/edit.html", {"c": customer, "form": form}, status=status)


@portal_page()
def customer_changes_page(request, pk: int):
    try:
        customer = selectors.customer_get(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    visibility = request_visibility(request)
    mask_customer(customer, visibility)
    page = paginate(request, selectors.customer_changes(customer_id=pk), 50)
    page.object_list = [mask_change(change, visibility) for change in page.object_list]
    log_access(request, action=Action.CHANGES_READ, resource_id=pk, rows=1)
    return render(request, "customers/changes.html", {"c": customer, "page": page})


@portal_page(AUDIT)
def access_log_page(request):
    """The data-access log, filterable, for owners and admins (the ``audit`` capability)."""
    queryset = DataAccessLog.objects.order_by("-created_at", "-id")
    filterset = DataAccessLogFilter(request.GET or None, queryset=queryset)
    if filterset.is_bound and filterset.is_valid():
        queryset = filterset.qs
    return render(request, "customers/access_log.html", {"filter": filterset, "page": paginate(request, queryset, 50)})


@portal_page(WRITE)
def lead_create_page(request):
    """Add a lead or a subscriber by hand: the lead ingest's rules (an existing person is found by
    e-mail and completed, not duplicated), source ``portal``."""
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = customer_ingest(records=[form.record()], actor=actor_from_request(request), tenant=connection.tenant,
                                 default_source="portal")
        outcome = result.results[0]
        if outcome.status != "rejected":
            return redirect("customers:detail", pk=outcome.customer_id)
        form_errors_add(form, ApplicationError(_("The customer record is invalid."), fields=outcome.errors))
    return render(request, "customers/lead_form.html", {"form": form}, status=400 if form.errors else 200)


@portal_page()
def customer_attributes_page(request, pk: int):
    """A customer's custom attributes; members who may write change them here (checked, logged)."""
    try:
        customer = selectors.customer_get(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    definitions = [d for d in attribute_definition_list() if d.is_active]
    values = customer_attribute_values(customer_id=customer.pk)
    initial = {key: attribute_value_text(value) for key, value in values.items()}
    may_edit = WRITE in request.capabilities and not customer.is_pseudonymized
    form = AttributesForm(request.POST or None, initial=initial, definitions=definitions)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise DjangoPermissionDenied(_("Changing custom attributes needs the write capability."))
        if form.is_valid():
            changed = {key: value for key, value in form.cleaned_data.items() if value != initial.get(key, "")}
            try:
                customer_attributes_set(customer_id=customer.pk, values=changed, actor=actor_from_request(request),
                                        reason="manual edit (portal)")
                return redirect("customers:attributes", pk=customer.pk)
            except ApplicationError as exc:
                form_errors_add(form, exc, prefix="attributes.")
        status = 400
    log_access(request, action=Action.PROFILE_READ, resource_id=customer.pk, rows=1, query={"section": "attributes"})
    mask_customer(customer, request_visibility(request))
    return render(request, "customers/attributes.html", {"c": customer, "form": form, "may_edit": may_edit,
                                                         "definitions": definitions}, status=status)

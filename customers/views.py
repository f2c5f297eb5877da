"""Portal pages: customer search and list, the Customer 360 and the change history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.utils.translation import gettext as _

from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError, NotFound
from customers import selectors
from customers.filters import CustomerFilter
from customers.access import Action, log_access, log_list
from customers.filters.access import DataAccessLogFilter
from customers.forms import AttributesForm, CustomerEditForm, LeadForm, add_service_errors
from customers.masking import mask_change, mask_customer, request_visibility
from customers.models import DataAccessLog
from customers.selectors.attributes import attribute_definition_list, attribute_value_text, customer_attribute_values
from customers.services import customer_update
from customers.services.attributes import customer_attributes_set
from customers.services.leads import customer_ingest
from tenants.roles import AUDIT, WRITE
from tenants.views import filtered, paginate, portal_page


@portal_page()
def customer_list_page(request):
    filterset = CustomerFilter(request.GET or None, queryset=selectors.customer_list())
    queryset, status = filtered(filterset)
    page = paginate(request, queryset)
    visibility = request_visibility(request)
    page.object_list = [mask_customer(c, visibility) for c in page.object_list]
    log_list(request, rows=len(page.object_list))
    return render(request, "customers/list.html", {"filter": filterset, "page": page}, status=status)


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
        add_service_errors(form, ApplicationError(_("The customer record is invalid."), fields=outcome.errors))
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
                add_service_errors(form, exc, prefix="attributes.")
        status = 400
    log_access(request, action=Action.PROFILE_READ, resource_id=customer.pk, rows=1, query={"section": "attributes"})
    mask_customer(customer, request_visibility(request))
    return render(request, "customers/attributes.html", {"c": customer, "form": form, "may_edit": may_edit,
                                                         "definitions": definitions}, status=status)


@portal_page(WRITE)
def customer_edit_page(request, pk: int):
    """A person's edit of a profile through ``customer_update``: the identity fields (e-mail, phone,
    document) only for readers who see them in full; the service's field errors (an invalid
    document, a taken e-mail) on their fields, nothing written."""
    try:
        customer = selectors.customer_get(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    full = request_visibility(request).is_full
    initial = {name: getattr(customer, name) or "" for name in CustomerEditForm.base_fields}
    form = CustomerEditForm(request.POST or None, initial=initial, full=full)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer_id=customer.pk, data=form.changes(), actor=actor_from_request(request),
                            reason="manual edit (portal)")
        except ApplicationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=customer.pk)
    elif request.method == "POST":
        status = 400
    log_access(request, action=Action.PROFILE_READ, resource_id=customer.pk, rows=1)
    return render(request, "customers/edit.html", {"c": mask_customer(customer, request_visibility(request)),
                                                   "form": form}, status=status)

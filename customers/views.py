"""Portal pages: customer search and list, the Customer 360 and the change history."""

from __future__ import annotations

from django.http import Http404
from django.template.loader import select_template
from django.shortcuts import render

from cdp.exceptions import NotFound
from customers import selectors
from customers.filters import CustomerFilter
from tenants.views import filtered, paginate, portal_page


@portal_page()
def customer_list_page(request):
    filterset = CustomerFilter(request.GET or None, queryset=selectors.customer_list())
    queryset, status = filtered(filterset)
    return render(request, "customers/list.html", {"filter": filterset, "page": paginate(request, queryset)},
                  status=status)


@portal_page()
def customer_detail_page(request, pk: int):
    try:
        view = selectors.customer_360(customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
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
    changes = selectors.customer_changes(customer_id=pk)
    return render(request, "customers/changes.html", {"c": customer, "page": paginate(request, changes, 50)})

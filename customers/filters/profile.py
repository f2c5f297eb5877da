"""The customers' FilterSet, shared by the API list and the portal list."""

from __future__ import annotations

import django_filters
from django.db.models import F
from django.db.models.expressions import OrderBy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cdp.filters import IsoDateTimeFilter
from customers import registry
from customers.models import Customer
from customers.search import customer_search
from customers.search import customer_by_document
from customers.services.normalize import email_normalize


class CustomerFilter(django_filters.FilterSet):
    """Search and filters for customers. Apps may add filters through
    ``customers.registry.register_customer_filter`` (analytics adds ``segment``)."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search (email, name, document)"))
    email = django_filters.CharFilter(method="filter_email", label=_("Email (any case)"))
    name = django_filters.CharFilter(method="filter_name", label=_("Name"))
    document = django_filters.CharFilter(method="filter_document", label=_("Document number"))
    country = django_filters.CharFilter(method="filter_country", label=_("Country (ISO code)"))
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices, label=_("Status"))
    customer_type = django_filters.ChoiceFilter(choices=Customer.Type.choices, label=_("Customer type"))
    source = django_filters.CharFilter(field_name="identities__source", distinct=True, label=_("Known to source"))
    last_purchase_after = IsoDateTimeFilter(field_name="last_purchase_at", lookup_expr="gte",
                                            label=_("Last purchase from"))
    last_purchase_before = IsoDateTimeFilter(field_name="last_purchase_at", lookup_expr="lt",
                                             label=_("Last purchase before"))
    spent_min = django_filters.NumberFilter(field_name="total_spent", lookup_expr="gte", label=_("Spent at least"))
    spent_max = django_filters.NumberFilter(field_name="total_spent", lookup_expr="lte", label=_("Spent at most"))
    orders_min = django_filters.NumberFilter(field_name="total_orders", lookup_expr="gte", label=_("Orders at least"))

    class Meta:
        model = Customer
        fields = ["q", "email", "name", "document", "country", "status", "customer_type", "source",
                  "last_purchase_after", "last_purchase_before", "spent_min", "spent_max", "orders_min"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, factory in registry.customer_filters():
            extra = factory()
            extra.parent = self
            extra.model = Customer
            self.filters[name] = extra

    def filter_q(self, queryset, name, value):
        # Accent- and case-insensitive word prefixes over names, e-mail and phone; a whole document.
        return customer_search(queryset, value)

    def filter_email(self, queryset, name, value):
        # Stored emails are normalized, so normalizing the input is a case-insensitive, indexed match.
        return queryset.filter(email=email_normalize(value)) if value.strip() else queryset

    def filter_name(self, queryset, name, value):
        return customer_search(queryset, value)

    def filter_document(self, queryset, name, value):
        # Exact match on the keyed hash: the numbers are sealed (customers/documents.py).
        return customer_by_document(queryset, value) if value.strip() else queryset

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value.strip().upper()) if value.strip() else queryset


#: The portal list's sortable columns: ``?sort=spent`` or ``?sort=-spent``; the id last keeps the
#: pages stable when values tie, and a missing date sorts after the dates.
SORTS = {
    "name": (F("last_name").asc(), F("first_name").asc(), F("id").asc()),
    "email": (F("email").asc(nulls_last=True), F("id").asc()),
    "country": (F("country").asc(), F("id").asc()),
    "orders": (F("total_orders").asc(), F("id").asc()),
    "spent": (F("total_spent").asc(), F("id").asc()),
    "last_purchase": (F("last_purchase_at").asc(nulls_last=True), F("id").asc()),
}


def _descending(expressions):
    return tuple(e.expression.desc(nulls_last=True) if isinstance(e, OrderBy) else e for e in expressions)


SORT_LABELS = {"name": _("Name"), "email": _("Email"), "country": _("Country"), "orders": _("Orders"),
               "spent": _("Spent"), "last_purchase": _("Last purchase")}


class CustomerListFilter(CustomerFilter):
    """The portal list: the shared filters and a sort over its columns (an unknown sort is a field
    error, never the default order passing for the one asked)."""

    sort = django_filters.ChoiceFilter(
        method="filter_sort", label=_("Sort by"),
        choices=[choice for name, label in SORT_LABELS.items() for choice in (
            (name, format_lazy(_("{column}, ascending"), column=label)),
            (f"-{name}", format_lazy(_("{column}, descending"), column=label)))])

    class Meta(CustomerFilter.Meta):
        fields = [*CustomerFilter.Meta.fields, "sort"]

    def filter_sort(self, queryset, name, value):
        column = value.lstrip("-")
        order = SORTS[column] if not value.startswith("-") else _descending(SORTS[column])
        return queryset.order_by(*order)

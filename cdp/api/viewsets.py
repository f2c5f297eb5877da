"""Base viewsets: every list is paginated, ordered and filterable; unsafe querysets are loud.

- ``ordering``: every view declares its default order (pages are stable); ``ordering_fields`` lists
  what a client may sort by, explicitly (never ``"__all__"``: sorting by a column one cannot read
  leaks its values through the order). An unknown ``?ordering=`` term is a 400 (``cdp.filters``).
- Ids in URLs are ASCII digits that fit a bigint (``cdp.ids``): anything else is a 404 without a
  query, never a 500.
- ``TenantScopedViewSetMixin``: public-schema viewsets (billing, licensing, tenants) see only the
  rows of the request's tenant, declared once (``tenant_field``) instead of a filter per view.
"""

from django.db import connection
from django.http import Http404
from rest_framework import mixins, viewsets

from cdp.ids import ID_PATTERN, parse_id


def _id_lookup(field: str) -> bool:
    return field in ("pk", "id") or field.endswith("_id")


class BaseViewSetMixin:
    """Views must order their lists (``ordering``) so that pages are stable."""

    ordering_fields: tuple | list = ()
    lookup_value_regex = ID_PATTERN

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Looked up by something else than the id (an invoice number, a slug): DRF's default pattern,
        # unless the view says its own.
        if "lookup_value_regex" not in cls.__dict__ and not _id_lookup(getattr(cls, "lookup_field", "pk")):
            cls.lookup_value_regex = "[^/.]+"

    def get_queryset(self):
        queryset = super().get_queryset()
        if not queryset.ordered:
            ordering = getattr(self, "ordering", None)
            if not ordering:
                raise AssertionError(f"{self.__class__.__name__} must declare `ordering`")
            queryset = queryset.order_by(*([ordering] if isinstance(ordering, str) else ordering))
        return queryset

    def get_object(self):
        if _id_lookup(self.lookup_field) and self.lookup_value_regex == ID_PATTERN:
            lookup = self.lookup_url_kwarg or self.lookup_field
            if parse_id(self.kwargs.get(lookup)) is None:
                raise Http404
        return super().get_object()


class TenantScopedViewSetMixin:
    """For models in the public schema that belong to a tenant: the queryset is always narrowed to
    the request's tenant (``connection.tenant``, set from the host), so no view can forget it."""

    tenant_field = "tenant"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the API document is built without a tenant
            return super().get_queryset().none()
        tenant = getattr(connection, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            raise AssertionError(f"{self.__class__.__name__} serves tenant rows outside a tenant's host")
        return super().get_queryset().filter(**{self.tenant_field: tenant})


class ReadOnlyViewSet(BaseViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ModelViewSet(BaseViewSetMixin, viewsets.ModelViewSet):
    pass


class ListCreateRetrieveDestroyViewSet(
    BaseViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    pass

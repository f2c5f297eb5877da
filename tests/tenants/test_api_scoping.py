"""The public-schema APIs (tenants, licensing, billing): a viewset serving a tenant's rows is
narrowed to the request's tenant by ``TenantScopedViewSetMixin``, and every viewset says what it
may be sorted by."""

from __future__ import annotations

import inspect

import pytest
from rest_framework.viewsets import GenericViewSet

from billing.api import views as billing_views
from cdp.api.viewsets import TenantScopedViewSetMixin
from licensing.api import views as licensing_views
from tenants.api import views as tenants_views

VIEWSETS = [cls for module in (tenants_views, licensing_views, billing_views)
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, GenericViewSet) and cls.__module__ == module.__name__]
# Scoped by a selector, not by a tenant column: sessions of the tenant's members on its host
# (user_session_scope_q), and releases of the products the tenant owns.
SCOPED_OTHERWISE = {"UserSessionViewSet", "ReleaseViewSet"}
SHARED = {"ProductViewSet"}  # the billing catalog: the same rows for every tenant


def _has_tenant_column(viewset) -> bool:
    queryset = getattr(viewset, "queryset", None)
    model = queryset.model if queryset is not None else None
    return model is not None and any(field.name == "tenant" for field in model._meta.fields)


@pytest.mark.parametrize("viewset", VIEWSETS, ids=lambda v: v.__name__)
def test_tenant_rows_are_scoped_by_the_mixin_and_sorting_is_explicit(viewset):
    assert viewset.ordering_fields and viewset.ordering_fields != "__all__"
    if viewset.__name__ in SHARED:
        assert not _has_tenant_column(viewset)
    elif viewset.__name__ not in SCOPED_OTHERWISE:
        assert issubclass(viewset, TenantScopedViewSetMixin) and _has_tenant_column(viewset), viewset


def test_alpha_finds_none_of_betas_rows_by_their_ids(world, api_key):
    from tenants.models import AuditLog
    from tests.conftest import api_client

    beta_entry = AuditLog.objects.filter(tenant=world.beta).first() or AuditLog.objects.create(
        tenant=world.beta, actor_label="tests", action="data.export", resource_type="x")
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["audit", "keys"]))
    assert client.get(f"/api/v1/audit-log/{beta_entry.pk}/").status_code == 404
    assert client.get("/api/v1/audit-log/").json()["count"] >= 0

"""URLs on a tenant's host: its portal, its admin and its API.

The composition root: the one module that imports every app's URLs, so that no app imports a
higher one to be reachable (lower apps learn about higher ones through cdp/registry.py,
customers/registry.py and the event bus, never by importing them)."""

from django.urls import include, path

from cdp.urls.common import docs_urlpatterns
from tenants.admin_site import tenant_admin_site
from tenants.views import admin_jump

api_v1 = [
    path("", include("tenants.api.urls")),
    path("", include("licensing.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("loyalty.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("engagement.api.urls")),
    path("billing/", include("billing.api.urls")),
    path("ai/", include("ai.api.urls")),
]

urlpatterns = [
    path("admin/jump/", admin_jump, name="admin_jump"),
    path("admin/", tenant_admin_site.urls),
    path("account/two-factor/", include("tenants.twofactor_urls")),
    path("api/v1/", include(api_v1)),
    *docs_urlpatterns("cdp.urls.tenant", "CDP tenant API"),
    path("license/", include("licensing.urls")),
    path("customers/", include("customers.urls")),
    path("analytics/", include("analytics.urls")),
    path("billing/", include("billing.urls")),
    path("integrations/", include("integrations.urls")),
    path("engagement/", include("engagement.urls")),
    path("ai/", include("ai.urls")),
    path("member/", include("loyalty.urls")),
    path("loyalty/", include("loyalty.portal_urls")),
    path("", include("tenants.urls")),
]

handler404 = "cdp.views.not_found"
handler500 = "cdp.views.server_error"

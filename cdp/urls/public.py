"""URLs on the platform's own host (``localhost``): operators' admin and public endpoints."""

from django.contrib import admin
from django.urls import include, path

from cdp.urls.common import docs_urlpatterns
from cdp.views import public_home

admin.site.site_header = "CDP · operators"
admin.site.site_title = "CDP operators"
admin.site.index_title = "Platform administration"

urlpatterns = [
    path("", include("billing.public_urls")),  # staff revenue page (under admin/) and gateway callbacks
    path("admin/", admin.site.urls),
    path("account/two-factor/", include("tenants.twofactor_urls")),
    path("api/v1/licenses/", include("licensing.api.public_urls")),
    *docs_urlpatterns("cdp.urls.public", "CDP public API"),
    path("", public_home, name="public_home"),
]

handler404 = "cdp.views.not_found"
handler500 = "cdp.views.server_error"

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter(trailing_slash=True)
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    # Any digits, not ``<id:>``: an id that cannot exist is refused like a wrong secret (403), so
    # the hook answers every caller the same way (``integrations.services.hooks``).
    re_path(r"^hooks/vtex/(?P<integration_id>[0-9]+)/$", views.VtexHookView.as_view(), name="hooks-vtex"),
    *router.urls,
]

from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter(trailing_slash=True)
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    # <int:>, not <id:>: the hook answers every integration it cannot use (unknown, impossible id,
    # wrong secret) with the same 403, so a caller learns nothing from the status (the service
    # parses the id).
    path("hooks/vtex/<int:integration_id>/", views.VtexHookView.as_view(), name="hooks-vtex"),
    *router.urls,
]

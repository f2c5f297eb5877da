from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter(trailing_slash=True)
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("hooks/vtex/<id:integration_id>/", views.VtexHookView.as_view(), name="hooks-vtex"),
    *router.urls,
]

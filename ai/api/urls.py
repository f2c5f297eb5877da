"""On a tenant's host, under ``api/v1/ai/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ai.api import views

router = SimpleRouter(trailing_slash=True)
router.register("tasks", views.ProcessedTaskViewSet, basename="ai-task")

urlpatterns = [
    path("message-drafts/", views.MessageDraftView.as_view(), name="ai_message_draft"),
] + router.urls

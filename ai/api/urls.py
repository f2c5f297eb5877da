"""On a tenant's host, under ``api/v1/ai/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ai.api import views

router = SimpleRouter(trailing_slash=True)
router.register("tasks", views.ProcessedTaskViewSet, basename="ai-task")

urlpatterns = [
    path("message-drafts/", views.MessageDraftView.as_view(), name="ai_message_draft"),
    path("customer-summary/", views.CustomerSummaryView.as_view(), name="ai_customer_summary"),
    path("segment-draft/", views.SegmentDraftView.as_view(), name="ai_segment_draft"),
    path("segment-draft/<id:task_id>/", views.SegmentDraftDetailView.as_view(), name="ai_segment_draft_detail"),
    path("segment-draft/<id:task_id>/confirm/", views.SegmentDraftConfirmView.as_view(),
         name="ai_segment_draft_confirm"),
] + router.urls

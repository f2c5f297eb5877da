from django.urls import path

from ai import views

app_name = "ai"

urlpatterns = [
    path("", views.assistant, name="assistant"),
    path("segments/", views.segment_draft_new, name="segment_draft_new"),
    path("segments/<id:pk>/", views.segment_draft, name="segment_draft"),
    path("customers/<id:pk>/summary/", views.customer_summary, name="customer_summary"),
]

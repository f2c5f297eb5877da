from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter(trailing_slash=True)
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("members", views.MembershipViewSet, basename="member")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("audit-log", views.AuditLogViewSet, basename="audit-log")
router.register("sessions", views.UserSessionViewSet, basename="session")

urlpatterns = [
    path("tenant/", views.TenantView.as_view(), name="tenant"),
    path("privacy/grants/", views.PrivacyGrantsView.as_view(), name="privacy-grants"),
] + router.urls

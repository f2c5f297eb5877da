from django.urls import path
from rest_framework.routers import SimpleRouter

from engagement.api import views

router = SimpleRouter(trailing_slash=True)
router.register("engagement/templates", views.MessageTemplateViewSet, basename="engagement-template")
router.register("engagement/notifications", views.NotificationViewSet, basename="engagement-notification")
router.register("engagement/triggers", views.TriggerRuleViewSet, basename="engagement-trigger")
router.register("engagement/destinations", views.AudienceDestinationViewSet, basename="engagement-destination")
router.register("campaigns", views.CampaignViewSet, basename="campaign")

urlpatterns = [
    path("engagement/hooks/whatsapp/", views.WhatsAppHookView.as_view(), name="engagement-hooks-whatsapp"),
    path("engagement/hooks/twilio/", views.TwilioHookView.as_view(), name="engagement-hooks-twilio"),
    *router.urls,
]

from django.apps import AppConfig
from django.utils.translation import gettext_lazy

from cdp.events import batch_handler


def _forwarder(event: str, enqueue, purpose: str = "trigger"):
    @batch_handler
    def forward(*, events: list[dict]) -> None:
        # After the publisher's commit, in its schema: one task for the whole publication, and
        # only when a trigger rule wants this event (a bulk import publishes a million at once).
        enqueue(event=event, payloads=events)

    forward.__name__ = f"engagement_{purpose}_{event.replace('.', '_')}"
    return forward


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        from analytics import registry as analytics_registry
        from cdp.registry import register_portal_nav
        from customers import registry as customers_registry
        from engagement.privacy import engagement_erase, engagement_export
        from engagement.services.optin import opt_in_gate
        from engagement.services.audiences import audience_segment_event
        from engagement.services.triggers import trigger_event_enqueue

        register_portal_nav(gettext_lazy("Campaigns"), "engagement:campaigns", order=35)
        # Erasing a person scrubs the addresses and texts of the messages sent to them, atomically
        # with the profile (customers never imports engagement).
        customers_registry.register_erasure_handler("engagement", engagement_erase)
        # The data-subject export shows the messages sent to the person and their opt-in requests.
        customers_registry.register_export_section("engagement", engagement_export)
        # Double opt-in: a grant of e-mail marketing waits for the person's click where the tenant asks.
        customers_registry.register_consent_gate("engagement", opt_in_gate)
        # Triggers: bus events become notifications through the tenant's rules.
        customers_registry.subscribe("customer.created", _forwarder("customer.created", trigger_event_enqueue))
        analytics_registry.subscribe("segment.entered", _forwarder("segment.entered", trigger_event_enqueue))
        analytics_registry.subscribe("churn.band_changed", _forwarder("churn.worsened", trigger_event_enqueue))
        # Audience destinations follow their segment's members.
        for event in ("segment.entered", "segment.left"):
            analytics_registry.subscribe(event, _forwarder(event, audience_segment_event, "audience"))

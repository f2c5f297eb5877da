import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)

#: Events other apps publish that we forward to webhook endpoints.
CUSTOMERS_EVENTS = ("order.ingested", "customer.created", "customer.updated", "customer.merged")
ANALYTICS_EVENTS = ("segment.entered", "segment.left", "churn.band_changed", "analytics.run_completed")


def _forwarder(event: str):
    def forward(**payload) -> None:
        # Runs after the publisher's commit, in its tenant schema: store the deliveries and let
        # the worker send them.
        from integrations.services import webhook_emit

        webhook_emit(event=event, payload=payload)

    forward.__name__ = f"webhook_forward_{event.replace('.', '_')}"
    return forward


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from cdp import registry
        from customers import registry as customers_registry

        registry.register_portal_nav("Integrations", "integrations:list", order=40, capability="integrations")
        for event in CUSTOMERS_EVENTS:
            try:
                customers_registry.subscribe(event, _forwarder(event))
            except ValueError:  # an event customers does not publish (yet)
                logger.debug("customers does not publish %s", event)
        try:  # integrations may read analytics (house-style arrows); analytics publishes its own events
            from analytics import registry as analytics_registry
        except ImportError:
            return
        subscribe = getattr(analytics_registry, "subscribe", None)
        if subscribe is None:
            return
        for event in ANALYTICS_EVENTS:
            try:
                subscribe(event, _forwarder(event))
            except ValueError:
                logger.debug("analytics does not publish %s", event)

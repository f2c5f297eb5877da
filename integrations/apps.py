from django.apps import AppConfig
from django.utils.translation import gettext_lazy

from cdp.events import batch_handler


def _forwarder(event: str, emit):
    @batch_handler
    def forward(*, events: list[dict]) -> None:
        # Runs after the publisher's commit, in its tenant schema: store the deliveries and let
        # the worker send them. Nothing stored for one event means no endpoint wants this event
        # now, nor the rest of the batch (a bulk import publishes a million at once).
        for payload in events:
            if not emit(event=event, payload=payload):
                break

    forward.__name__ = f"webhook_forward_{event.replace('.', '_')}"
    return forward


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        import cdp.http  # noqa: F401 - connects its "inside a web request" signals before the first request
        from analytics import registry as analytics_registry
        from cdp import registry
        from customers import registry as customers_registry
        from integrations.privacy import integrations_erase
        from integrations.selectors import ad_spend_rows
        from integrations.services import webhook_emit
        from integrations.views import overview_section

        registry.register_portal_nav(gettext_lazy("Integrations"), "integrations:list", order=40, capability="integrations")
        registry.register_dashboard_section("integrations", "integrations/_overview.html", overview_section, order=30,
                                            capability="integrations")
        # Erasing a person scrubs our raw payloads and webhook bodies in the same transaction.
        customers_registry.register_erasure_handler("integrations", integrations_erase)

        # Synced ad spend feeds analytics' CAC and ROAS; the demo store advertises too.
        analytics_registry.register_spend_provider(ad_spend_rows)
        registry.register_demo_data_command("load_ads_demo")
        # Every event customers and analytics publish becomes a webhook (their registries list them).
        for bus_registry in (customers_registry, analytics_registry):
            for event in bus_registry.EVENTS:
                bus_registry.subscribe(event, _forwarder(event, webhook_emit))

"""One connector per source, each speaking the source's real wire format (see
docs: wire-formats). A connector fetches pages and maps payloads (or, for a CRM, pushes
profiles out); the sync service (``integrations.services.sync``) commits each page and advances
the cursor."""

from __future__ import annotations

from integrations.connectors.base import Connector, Page


def connector_class(integration_type: str) -> type[Connector] | None:
    from integrations.connectors.crm_webhook import CrmWebhookConnector
    from integrations.connectors.facebook_ads import FacebookAdsConnector
    from integrations.connectors.google_ads import GoogleAdsConnector
    from integrations.connectors.mercadolibre import MercadoLibreConnector
    from integrations.connectors.vtex import VtexConnector

    classes = {"vtex": VtexConnector, "mercadolibre": MercadoLibreConnector, "google_ads": GoogleAdsConnector,
               "facebook_ads": FacebookAdsConnector, "crm_webhook": CrmWebhookConnector}
    return classes.get(integration_type)


def credential_urls(integration) -> tuple[str, ...]:
    """Every URL the integration's credentials are sent to, as configured now."""
    cls = connector_class(integration.integration_type)
    return cls.credential_urls(integration) if cls else (integration.base_url,)


def connector_for(integration, *, credentials: dict, on_credentials_change=None) -> Connector:
    from integrations.http import SourceError

    cls = connector_class(integration.integration_type)
    if cls is None:
        raise SourceError(f"{integration.get_integration_type_display()} integrations have nothing to sync.",
                          code="sync_not_supported")
    return cls(integration=integration, credentials=credentials, on_credentials_change=on_credentials_change)


__all__ = ["Connector", "Page", "connector_class", "connector_for", "credential_urls"]

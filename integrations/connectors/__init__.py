"""One connector per source, each speaking the source's real wire format (see
docs: wire-formats). A connector fetches pages and maps payloads (or, for a CRM, pushes
profiles out); the sync service (``integrations.services.sync``) commits each page and advances
the cursor."""

from __future__ import annotations

from integrations.connectors.base import Connector, Page


def connector_for(integration, *, credentials: dict, on_credentials_change=None) -> Connector:
    from integrations.connectors.crm_webhook import CrmWebhookConnector
    from integrations.connectors.facebook_ads import FacebookAdsConnector
    from integrations.connectors.google_ads import GoogleAdsConnector
    from integrations.connectors.mercadolibre import MercadoLibreConnector
    from integrations.connectors.vtex import VtexConnector
    from integrations.http import SourceError

    classes = {"vtex": VtexConnector, "mercadolibre": MercadoLibreConnector, "google_ads": GoogleAdsConnector,
               "facebook_ads": FacebookAdsConnector, "crm_webhook": CrmWebhookConnector}
    cls = classes.get(integration.integration_type)
    if cls is None:
        raise SourceError(f"{integration.get_integration_type_display()} integrations have nothing to sync.",
                          code="sync_not_supported")
    return cls(integration=integration, credentials=credentials, on_credentials_change=on_credentials_change)


__all__ = ["Connector", "Page", "connector_for"]

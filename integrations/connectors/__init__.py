"""One connector per source, each speaking the source's real wire format (see
docs: wire-formats). A connector fetches pages and maps payloads (or, for a CRM, pushes
profiles out); the sync service (``integrations.services.sync``) stores each page's payloads,
commits it and advances the cursor.

Connectors sit below the services: they import the app's selectors and its pure modules
(``http``, ``signing``), never its services, so this registry is built at import time."""

from __future__ import annotations

from integrations.codes import ErrorCode
from integrations.connectors.base import Connector, Page
from integrations.connectors.crm_webhook import CrmWebhookConnector
from integrations.connectors.facebook_ads import FacebookAdsConnector
from integrations.connectors.google_ads import GoogleAdsConnector
from integrations.connectors.mercadolibre import MercadoLibreConnector
from integrations.connectors.vtex import VtexConnector
from integrations.http import SourceError

#: The connector of each integration type (``Integration.Type``).
CONNECTORS: dict[str, type[Connector]] = {
    "vtex": VtexConnector, "mercadolibre": MercadoLibreConnector, "google_ads": GoogleAdsConnector,
    "facebook_ads": FacebookAdsConnector, "crm_webhook": CrmWebhookConnector,
}


def connector_class(integration_type: str) -> type[Connector] | None:
    return CONNECTORS.get(integration_type)


def credential_urls(integration) -> tuple[str, ...]:
    """Every URL the integration's credentials are sent to, as configured now."""
    cls = connector_class(integration.integration_type)
    return cls.credential_urls(integration) if cls else (integration.base_url,)


def connector_for(integration, *, credentials: dict, on_credentials_change=None) -> Connector:
    cls = connector_class(integration.integration_type)
    if cls is None:
        raise SourceError(f"{integration.get_integration_type_display()} integrations have nothing to sync.",
                          code=ErrorCode.SYNC_NOT_SUPPORTED)
    return cls(integration=integration, credentials=credentials, on_credentials_change=on_credentials_change)


__all__ = ["CONNECTORS", "Connector", "Page", "connector_class", "connector_for", "credential_urls"]

"""Factories for the integrations app (run inside ``tenant_context``): integrations with their
credentials encrypted as the service stores them, sync logs, webhook endpoints with a signing
secret and their deliveries, raw source orders and daily ad spend.

They write rows directly, for tests about reading, listing, erasing and administering them;
tests about what the services decide (validation, SSRF, syncing) call the services."""

from __future__ import annotations

import datetime
import decimal
import uuid

import factory
from django.utils import timezone

from integrations import crypto
from integrations.models import (
    AdSpendDaily,
    Integration,
    MercadoLibreOrder,
    SyncLog,
    VtexOrder,
    WebhookDelivery,
    WebhookEndpoint,
)

WEBHOOK_SECRET = "whsec_factory-secret-0001"


class IntegrationFactory(factory.django.DjangoModelFactory):
    """A VTEX integration by default; ``credentials={...}`` are stored encrypted."""

    class Meta:
        model = Integration
        exclude = ("credentials",)

    integration_type = Integration.Type.VTEX
    account_name = factory.Sequence(lambda n: f"store{n}")
    base_url = factory.Sequence(lambda n: f"https://store{n}.example.com")
    credentials = factory.LazyFunction(lambda: {"app_key": "key-0001", "app_token": "token-0001"})
    credentials_encrypted = factory.LazyAttribute(lambda o: crypto.encrypt_json(o.credentials))


class AdsIntegrationFactory(IntegrationFactory):
    integration_type = Integration.Type.GOOGLE_ADS
    base_url = ""
    config = factory.LazyFunction(lambda: {"customer_id": "1234567890", "currency": "ARS"})
    credentials = factory.LazyFunction(lambda: {"developer_token": "dev-0001", "access_token": "access-0001"})


class SyncLogFactory(factory.django.DjangoModelFactory):
    """A finished, successful sync (``status=...`` and ``error_code=...`` for the others)."""

    class Meta:
        model = SyncLog

    integration = factory.SubFactory(IntegrationFactory)
    status = SyncLog.Status.SUCCESS
    finished_at = factory.LazyFunction(timezone.now)
    duration_ms = 1200
    pages = 1
    records_fetched = 2
    records_created = 2


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint
        exclude = ("secret",)

    url = factory.Sequence(lambda n: f"https://receiver{n}.example.com/hook")
    events = factory.LazyFunction(lambda: ["*"])
    secret = WEBHOOK_SECRET
    secret_encrypted = factory.LazyAttribute(lambda o: crypto.encrypt_text(o.secret))


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery as ``webhook_emit`` stores it: pending, with the envelope as its payload."""

    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = "customer.created"
    event_id = factory.LazyFunction(uuid.uuid4)
    payload = factory.LazyAttribute(lambda o: {"id": str(o.event_id), "event": o.event, "tenant": "alpha",
                                               "created_at": timezone.now().isoformat(),
                                               "data": {"customer_id": 1}})


class VtexOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VtexOrder

    integration = factory.SubFactory(IntegrationFactory)
    order_id = factory.Sequence(lambda n: f"v{n}-01")
    status = "invoiced"
    creation_date = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    payload = factory.LazyAttribute(lambda o: {"orderId": o.order_id, "status": o.status})


class MercadoLibreOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MercadoLibreOrder

    integration = factory.SubFactory(IntegrationFactory, integration_type=Integration.Type.MERCADOLIBRE,
                                     config={"seller_id": "987654"})
    order_id = factory.Sequence(lambda n: str(2000000000 + n))
    status = "paid"
    date_created = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    payload = factory.LazyAttribute(lambda o: {"id": int(o.order_id), "status": o.status,
                                               "pack_id": int(o.pack_id) if o.pack_id else None})


class AdSpendDailyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdSpendDaily

    integration = factory.SubFactory(AdsIntegrationFactory)
    date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1))
    channel = factory.SelfAttribute("integration.integration_type")
    campaign_id = factory.Sequence(lambda n: f"98765{n:05d}")
    campaign_name = factory.Sequence(lambda n: f"Campaign {n}")
    currency = "ARS"
    spend = decimal.Decimal("1500.00")
    clicks = 12
    impressions = 480

"""Raw source payloads: kept as received by the sync service for order sources (none for ad
platforms or a CRM push), the newest fetch winning, and read back per MercadoLibre pack."""

from __future__ import annotations

from integrations.models import Integration, MercadoLibreOrder, VtexOrder
from integrations.selectors import ml_pack_orders
from integrations.services.raw import raw_payloads_store
from tests.integrations.factories import (
    AdsIntegrationFactory,
    IntegrationFactory,
    MercadoLibreOrderFactory,
    VtexOrderFactory,
)


def test_a_page_of_an_order_source_is_kept_and_a_refetch_replaces_the_payload(in_alpha):
    integration = IntegrationFactory()
    stored = VtexOrderFactory(integration=integration, order_id="v1-01", status="handling")
    written = raw_payloads_store(integration=integration, items=[
        {"orderId": "v1-01", "status": "invoiced", "creationDate": "2025-06-01T10:00:00.7010747+00:00"},
        {"orderId": "v2-01", "status": "handling"}])
    assert written == 2
    stored.refresh_from_db()
    assert (stored.status, stored.payload["status"]) == ("invoiced", "invoiced")
    assert VtexOrder.objects.filter(integration=integration).count() == 2


def test_ad_platforms_and_crm_pushes_keep_no_separate_payloads(in_alpha):
    assert raw_payloads_store(integration=AdsIntegrationFactory(), items=[{"date": "2025-06-01"}]) == 0
    crm = IntegrationFactory(integration_type=Integration.Type.CRM_WEBHOOK)
    assert raw_payloads_store(integration=crm, items=[{"id": 1}]) == 0
    assert not VtexOrder.objects.exists() and not MercadoLibreOrder.objects.exists()


def test_each_pack_reads_back_every_order_stored_for_it(in_alpha):
    first = MercadoLibreOrderFactory(pack_id="2000000001")
    second = MercadoLibreOrderFactory(integration=first.integration, pack_id="2000000001")
    MercadoLibreOrderFactory(integration=first.integration, pack_id="")
    packs = ml_pack_orders(integration=first.integration, pack_ids=["2000000001", "2999"])
    assert [order["id"] for order in packs["2000000001"]] == sorted(int(o.order_id) for o in (first, second))
    assert "2999" not in packs

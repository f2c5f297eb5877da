"""Webhook endpoint and integration URLs often carry their receiver's token (in the path, the query
or the user info). The audit trail keeps who changed which endpoint, never the token (issue #12
item 5: "the history holds no secrets")."""

import json

from tenants.models import AuditLog
from tests.conftest import api_client

TOKEN = "B-PRIVATE-TOKEN-123"


def test_webhook_endpoint_urls_reach_the_audit_trail_without_their_token(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "integrations"]))
    created = client.post("/api/v1/webhooks/", {"url": f"https://user:{TOKEN}@crm.example.com/hooks?token={TOKEN}",
                                                "events": ["order.ingested"]}, content_type="application/json")
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["id"]
    changed = client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"url": f"https://crm.example.com/v2/{TOKEN}"},
                           content_type="application/json")
    assert changed.status_code == 200, changed.content
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204

    entries = AuditLog.objects.filter(tenant=world.alpha, resource_type="webhook_endpoint",
                                      resource_id=str(endpoint_id))
    assert entries.count() == 3
    for entry in entries:
        assert TOKEN not in json.dumps(entry.changes)
    assert entries.get(action="webhook_endpoint.create").changes["url"] == "https://crm.example.com/…"

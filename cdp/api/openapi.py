"""The API document an integrator can follow alone (drf-spectacular postprocessing).

- Tags per area (Customers, Orders, Analytics, ...) with a summary each, instead of one ``v1`` tag.
- Every operation documents the errors it can answer, in the one error shape
  (``{"error": {"code", "message", "fields"}}``): 401 and 403 always, 429 (rate limits), 400 where
  input is read (a body, or query parameters), 404 where the path names an object, 409 on writes.
- The canonical order record gets a realistic example (customer, items, addresses).

Hooks run after drf-spectacular's own (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""

from __future__ import annotations

#: (tag, summary, first path segments after /api/v1/). Segments not listed get a tag of their own.
AREAS = [
    ("Orders", "Send orders (the canonical order record) and read them back. Ingest is idempotent per "
               "`(source, external_order_id)`: re-sending a record updates it or reports it unchanged.",
     ("orders",)),
    ("Customers", "Unified customer profiles (the Customer 360), their change history, duplicates and "
                  "merges, erasure, the counted-sale rule and B2B credit.",
     ("customers", "duplicates", "merges", "sales", "credit")),
    ("Loyalty", "The loyalty program, tiers and points ledger.", ("loyalty",)),
    ("Analytics", "RFM, CLV, churn, cohorts, KPIs, segments and data quality; long runs are jobs with "
                  "progress.", ("analytics",)),
    ("Integrations", "Store and ads connectors, syncs, inbound hooks and outgoing signed webhooks.",
     ("integrations", "hooks", "webhooks")),
    ("Account", "The organization, its members, invitations, API keys, sessions and audit log.",
     ("tenant", "members", "invitations", "api-keys", "sessions", "audit-log")),
    ("Licensing", "The organization's license, its machines and the product releases.", ("license", "releases")),
    ("Billing", "Catalog, checkout (idempotent with `Idempotency-Key`), orders, invoices and payment methods.",
     ("billing",)),
    ("AI", "AI features (queued: a 202 with the task, whose `output` appears once a worker is done) and the "
           "organization's AI tasks with provider, model, tokens, cost and latency.", ("ai",)),
]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable, machine-readable: branch on this, not on the text."},
            "message": {"type": "string", "description": "A sentence for a person."},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "Per-field messages (400): the field's name, then what is wrong with it."},
        },
    }},
}

ERRORS = {
    "400": ("The input is invalid; `fields` says which field and why. Nothing was stored.",
            {"code": "invalid", "message": "Check the highlighted fields.",
             "fields": {"email": ["Enter a valid email address."]}}),
    "401": ("No credentials, or an unknown, revoked or expired API key (or one of another tenant).",
            {"code": "not_authenticated", "message": "Authentication credentials were not provided."}),
    "403": ("The key's scopes or the member's role do not allow this.",
            {"code": "permission_denied", "message": "You do not have permission to perform this action."}),
    "404": ("No such object in this tenant (ids of other tenants are not found either).",
            {"code": "not_found", "message": "Not found."}),
    "409": ("The request conflicts with the object's state (e.g. an `Idempotency-Key` reused with another "
            "body, a merged customer, a job already running).",
            {"code": "conflict", "message": "That customer was merged into another one."}),
    "429": ("Rate limited: wait the seconds in `Retry-After`.",
            {"code": "throttled", "message": "Request was throttled. Expected available in 12 seconds."}),
}

ORDER_EXAMPLE = {
    "orders": [{
        "source": "vtex",
        "external_order_id": "1438790512345-01",
        "order_number": "1438790512345",
        "order_date": "2026-11-28T14:32:10-03:00",
        "status": "invoiced",
        "payment_status": "paid",
        "currency": "ARS",
        "subtotal": "122000.00",
        "discount_amount": "5000.00",
        "shipping_cost": "3990.50",
        "tax_amount": "0.00",
        "total_amount": "120990.50",
        "payment_method": "Visa 3 cuotas",
        "shipping_method": "Correo Argentino - Envío a domicilio",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "hot-sale-2026",
        "customer": {
            "external_id": "c0a8e5d2-77e1-4f7b-9a1e-0f3b9c6d2a11",
            "email": "lucia.rojas@example.com",
            "phone": "+54 9 11 5555-0142",
            "document_type": "DNI",
            "document_number": "31.234.567",
            "first_name": "Lucía",
            "last_name": "Rojas",
            "birth_date": "1988-04-12",
            "city": "Buenos Aires",
            "state": "CABA",
            "country": "AR",
            "address": {"type": "shipping", "recipient_name": "Lucía Rojas", "line1": "Av. Corrientes",
                        "number": "1234", "line2": "Piso 5, Dto. B", "neighborhood": "San Nicolás",
                        "city": "Buenos Aires", "state": "CABA", "postal_code": "C1043", "country": "AR"},
        },
        "items": [
            {"sku": "YERBA-1KG", "name": "Yerba mate 1 kg", "quantity": 3, "unit_price": "8990.00"},
            {"sku": "MATE-CAL", "name": "Mate de calabaza", "quantity": 1, "unit_price": "95030.00"},
        ],
    }],
}


def _area_of(path: str) -> str:
    parts = path.strip("/").split("/")
    segment = parts[2] if len(parts) > 2 and parts[0] == "api" else (parts[0] if parts else "")
    for tag, _summary, segments in AREAS:
        if segment in segments:
            return tag
    return segment.replace("-", " ").capitalize() or "Other"


def _reads_input(method: str, operation: dict) -> bool:
    return method in ("post", "put", "patch") or any(p.get("in") == "query" for p in operation.get("parameters", []))


def document_errors_and_areas(result: dict, generator, request, public) -> dict:
    """Tags per area and the documented error answers of every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    used = set()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            area = _area_of(path)
            operation["tags"] = [area]
            used.add(area)
            wanted = ["401", "403", "429"]
            if _reads_input(method, operation):
                wanted.append("400")
            if "{" in path:
                wanted.append("404")
            if method in ("post", "put", "patch", "delete"):
                wanted.append("409")
            responses = operation.setdefault("responses", {})
            for status in sorted(wanted):
                if status in responses:
                    continue
                description, example = ERRORS[status]
                responses[status] = {"description": description, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}, "example": {"error": example}}}}
            if operation.get("operationId") == "orders_ingest":
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if body is not None:
                    body["examples"] = {"vtex_order": {"summary": "A VTEX order with its customer, items and address",
                                                       "value": ORDER_EXAMPLE}}
    summaries = {tag: summary for tag, summary, _segments in AREAS}
    result["tags"] = [{"name": tag, "description": summaries.get(tag, "")} for tag in
                      [t for t, _s, _seg in AREAS if t in used] + sorted(used - set(summaries))]
    return result

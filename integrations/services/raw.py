"""Raw source payloads, kept as received and idempotent on the source's ids, and the daily ad
spend rows. Set-based upserts (one statement per page) because syncs write them in bulk."""

from __future__ import annotations

import datetime
import decimal

from customers.selectors import orders_of_erased_customers
from integrations.connectors.base import parse_iso, trim_fraction
from integrations.models import AdSpendDaily, Integration, MercadoLibreOrder, VtexOrder


def _when(value) -> datetime.datetime | None:
    try:
        return parse_iso(trim_fraction(value)) if value else None
    except ValueError:
        return None


def _upsert(model, rows: list, *, erased: set, unique_fields: list[str], update_fields: list[str]) -> None:
    """Upsert ``rows``; those whose order was erased keep their stored (scrubbed) payload: a
    source re-sending an erased person's order must not bring their data back (the row is still
    inserted if it was never stored: that is new data, not erased data)."""
    kept = [row for row in rows if row.order_id not in erased]
    guarded = [row for row in rows if row.order_id in erased]
    if kept:
        model.objects.bulk_create(kept, update_conflicts=True, unique_fields=unique_fields,
                                  update_fields=update_fields)
    if guarded:
        model.objects.bulk_create(guarded, update_conflicts=True, unique_fields=unique_fields,
                                  update_fields=[name for name in update_fields if name != "payload"])


def vtex_orders_store(*, integration, details: list[dict]) -> int:
    """Upsert VTEX order details by (integration, orderId); the newest fetch wins, except over an
    erased person's payload."""
    rows = {}
    for detail in details:
        if isinstance(detail, dict) and detail.get("orderId"):
            rows[detail["orderId"]] = VtexOrder(integration=integration, order_id=str(detail["orderId"])[:64],
                                                status=str(detail.get("status") or "")[:50],
                                                creation_date=_when(detail.get("creationDate")), payload=detail)
    if rows:
        erased = orders_of_erased_customers(source=integration.source, external_order_ids=list(rows))
        _upsert(VtexOrder, list(rows.values()), erased=erased, unique_fields=["integration", "order_id"],
                update_fields=["payload", "status", "creation_date", "fetched_at"])
    return len(rows)


def ml_orders_store(*, integration, orders: list[dict]) -> int:
    """Upsert MercadoLibre orders by (integration, id); ids are stored as strings. An erased
    person's payload is not overwritten (their orders are ingested as ``pack-<id>`` or ``<id>``)."""
    rows = {}
    for order in orders:
        if isinstance(order, dict) and order.get("id") is not None:
            rows[str(order["id"])] = MercadoLibreOrder(
                integration=integration, order_id=str(order["id"]), pack_id=str(order.get("pack_id") or ""),
                status=str(order.get("status") or "")[:50], date_created=_when(order.get("date_created")),
                payload=order)
    if rows:
        canonical = {row.order_id: f"pack-{row.pack_id}" if row.pack_id else row.order_id for row in rows.values()}
        erased_ids = orders_of_erased_customers(source=integration.source, external_order_ids=set(canonical.values()))
        erased = {order_id for order_id, ext in canonical.items() if ext in erased_ids}
        _upsert(MercadoLibreOrder, list(rows.values()), erased=erased, unique_fields=["integration", "order_id"],
                update_fields=["payload", "pack_id", "status", "date_created", "fetched_at"])
    return len(rows)


def raw_payloads_store(*, integration: Integration, items: list[dict]) -> int:
    """Keep a sync page's payloads as received, before they are ingested: order sources' orders
    (VTEX details, MercadoLibre orders). Ad platforms keep their source row in each spend row's
    ``raw``, and a CRM push receives nothing, so there is nothing to store for them."""
    if integration.integration_type == Integration.Type.VTEX:
        return vtex_orders_store(integration=integration, details=items)
    if integration.integration_type == Integration.Type.MERCADOLIBRE:
        return ml_orders_store(integration=integration, orders=items)
    return 0


SPEND_FIELDS = ("channel", "campaign_name", "currency", "spend", "clicks", "impressions", "conversions",
                "conversion_value", "raw")


def ad_spend_upsert(*, integration, rows: list[dict], currency: str) -> dict:
    """Upsert daily spend rows by (integration, date, campaign). Returns created/updated/unchanged/
    rejected counts; a row without a date or campaign is rejected."""
    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    clean: dict[tuple, AdSpendDaily] = {}
    for row in rows:
        try:
            day = datetime.date.fromisoformat(str(row.get("date")))
        except ValueError:
            counts["rejected"] += 1
            continue
        if not row.get("campaign_id") or row["spend"] < 0:
            counts["rejected"] += 1
            continue
        clean[(day, row["campaign_id"])] = AdSpendDaily(
            integration=integration, date=day, campaign_id=row["campaign_id"], currency=currency,
            **{key: row[key] for key in SPEND_FIELDS if key in row and key != "currency"})
    if not clean:
        return counts
    existing = {(r.date, r.campaign_id): r for r in AdSpendDaily.objects.filter(
        integration=integration, date__in={d for d, _ in clean}, campaign_id__in={c for _, c in clean})}
    for key, row in clean.items():
        old = existing.get(key)
        if old is None:
            counts["created"] += 1
        elif any(_differs(getattr(old, f), getattr(row, f)) for f in SPEND_FIELDS if f != "raw"):
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    AdSpendDaily.objects.bulk_create(list(clean.values()), update_conflicts=True,
                                     unique_fields=["integration", "date", "campaign_id"],
                                     update_fields=[*SPEND_FIELDS, "updated_at"])
    return counts


def _differs(a, b) -> bool:
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        return decimal.Decimal(str(a)) != decimal.Decimal(str(b))
    return a != b

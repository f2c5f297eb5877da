"""MercadoLibre: OAuth2 refresh-token flow, then ``GET /orders/search?seller=...`` in date windows
with offset paging (``sort=date_asc``). Order ids are 64-bit: kept as strings. Amounts are in
currency units. Orders of one cart share a ``pack_id`` and become one order of ours.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from integrations import conf
from integrations.connectors.base import Connector, OAuthRefresh, Page, iso
from integrations.selectors import ml_pack_orders

RELAY_EMAIL_DOMAINS = ("mail.mercadolivre.com", "mail.mercadolibre.com")
STATUS_MAP = {
    "confirmed": "pending", "payment_required": "pending", "payment_in_process": "pending",
    "partially_paid": "pending", "paid": "paid", "partially_refunded": "paid", "pending_cancel": "paid",
    "cancelled": "cancelled", "invalid": "cancelled",
}


#: A payment's ``status`` -> our payment status.
PAYMENT_STATUS_MAP = {
    "approved": "paid", "authorized": "authorized", "pending": "pending", "in_process": "pending",
    "in_mediation": "paid", "rejected": "failed", "cancelled": "cancelled", "refunded": "refunded",
    "charged_back": "refunded",
}


def ml_payment_status(orders: list[dict]) -> str:
    """One payment status for a cart from its payments: paid when any payment is approved (partly
    refunded when the order says so), else the most advanced state among them."""
    order_statuses = {o.get("status") for o in orders}
    states = [PAYMENT_STATUS_MAP.get(p.get("status") or "", "") for o in orders for p in o.get("payments") or []]
    if "paid" in states:
        return "partially_refunded" if "partially_refunded" in order_statuses else "paid"
    for state in ("refunded", "authorized", "pending", "cancelled", "failed"):
        if state in states:
            return state
    return "pending" if order_statuses & {"payment_required", "payment_in_process"} else ""


def ml_shipping_method(orders: list[dict]) -> str:
    """How the cart ships: the logistic type or mode when the order carries them (older answers
    do), else Mercado Envíos when a shipment exists, or none (``no_shipping`` tag)."""
    for order in orders:
        shipping = order.get("shipping") or {}
        for key in ("logistic_type", "shipping_mode"):
            if shipping.get(key):
                return str(shipping[key])[:100]
    if any("no_shipping" in (o.get("tags") or []) for o in orders):
        return "no_shipping"
    return "mercadoenvios" if any((o.get("shipping") or {}).get("id") for o in orders) else ""


def _is_relay(email: str) -> bool:
    return (email or "").rsplit("@", 1)[-1].lower() in RELAY_EMAIL_DOMAINS


def ml_group_record(orders: list[dict]) -> dict:
    """One canonical record for a cart: all orders sharing a ``pack_id`` (or a lone order)."""
    orders = sorted(orders, key=lambda o: (o.get("date_created") or "", str(o.get("id"))))
    first = orders[0]
    pack_id = first.get("pack_id")
    statuses = [STATUS_MAP.get(o.get("status") or "", "pending") for o in orders]
    live = [o for o, status in zip(orders, statuses) if status != "cancelled"]
    if live:
        status = "paid" if any(s == "paid" for s in statuses) else "pending"
        counted = live
    else:
        status, counted = "cancelled", orders
    buyer = first.get("buyer") or {}
    billing = buyer.get("billing_info") or {}
    email = buyer.get("email") or ""
    payments = [p for o in counted for p in o.get("payments") or []]
    total = sum(float_units(o.get("total_amount")) for o in counted)
    shipping = sum(float_units(p.get("shipping_cost")) for p in payments if p.get("status") != "cancelled")
    items = []
    for order in counted:
        for line in order.get("order_items") or []:
            item = line.get("item") or {}
            items.append({"sku": str(item.get("seller_sku") or item.get("id") or "")[:100],
                          "name": (item.get("title") or "")[:255], "quantity": line.get("quantity") or 1,
                          "unit_price": str(line.get("unit_price") if line.get("unit_price") is not None else 0)})
    return {
        "source": "mercadolibre",
        "external_order_id": f"pack-{pack_id}" if pack_id else str(first["id"]),
        # The number the seller sees in MercadoLibre: the cart's (pack) number, else the order id.
        "order_number": str(pack_id or first["id"]),
        "order_date": first.get("date_created") or "",
        "status": status,
        "payment_status": ml_payment_status(counted),
        "shipping_method": ml_shipping_method(counted),
        "currency": first.get("currency_id") or "",
        "total_amount": f"{total:.2f}",
        "shipping_cost": f"{shipping:.2f}",
        "payment_method": (payments[0].get("payment_method_id") or "") if payments else "",
        "customer": {
            "external_id": str(buyer["id"]) if buyer.get("id") is not None else "",
            # A relay alias forwards to the buyer but is not their address: never unify on it.
            "email": "" if _is_relay(email) else email,
            "first_name": buyer.get("first_name") or "",
            "last_name": buyer.get("last_name") or "",
            "document_type": (billing.get("doc_type") or "").lower() if billing.get("doc_number") else "",
            "document_number": str(billing.get("doc_number") or ""),
        },
        "items": items,
        "raw": {"orders": orders} if len(orders) > 1 else first,
    }


def float_units(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


class MercadoLibreConnector(OAuthRefresh, Connector):
    kind = "orders"
    default_base_url = "https://api.mercadolibre.com"
    required_credentials = ("client_id", "client_secret", "refresh_token")
    required_config = ("seller_id",)
    token_lifetime_default = 21600

    def headers(self) -> dict:
        headers = {"Accept": "application/json"}
        if self.credentials.get("access_token"):
            headers["Authorization"] = f"Bearer {self.credentials['access_token']}"
        return headers

    def _search(self, params: dict) -> dict:
        return self.authorized(lambda: self.client().get("/orders/search", params=params))

    def pages(self, cursor: dict) -> Iterator[Page]:
        since, until, offset = self.order_window(cursor)
        limit = int(conf.get("INTEGRATIONS_ML_PAGE_SIZE"))
        window = {"since": iso(since), "until": iso(until)}
        while True:
            answer = self._search({
                "seller": self.config["seller_id"], "order.date_created.from": ml_date(since),
                "order.date_created.to": ml_date(until), "sort": "date_asc", "offset": offset, "limit": limit,
            })
            results = [order for order in answer.get("results") or []
                       if "test_order" not in (order.get("tags") or [])]
            fetched = len(answer.get("results") or [])
            paging = answer.get("paging") or {}
            offset += fetched
            total = int(paging.get("total") or 0)
            if not fetched or offset >= total:
                yield Page(items=results, cursor=self.finished_cursor(until), window=window)
                return
            yield Page(items=results, cursor={**window, "position": offset}, window=window)

    def records(self, items: list[dict]) -> list[dict]:
        """Orders grouped by pack; a pack's other orders come from the raw table (they may have
        arrived on an earlier page, stored with this page's payloads before this runs), so the
        cart's record is complete whatever the paging."""
        packs = sorted({str(o["pack_id"]) for o in items if o.get("pack_id")})
        stored = ml_pack_orders(integration=self.integration, pack_ids=packs) if packs else {}
        records, seen = [], set()
        for order in items:
            pack_id = str(order["pack_id"]) if order.get("pack_id") else ""
            if pack_id:
                if pack_id in seen:
                    continue
                seen.add(pack_id)
                records.append(ml_group_record(stored.get(pack_id) or [order]))
            else:
                records.append(ml_group_record([order]))
        return records


def ml_date(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000-00:00")

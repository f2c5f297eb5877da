"""VTEX OMS: list ``GET /api/oms/pvt/orders`` in creation-date windows, then fetch each order's
detail (the list carries no customer data). Money is in cents.

VTEX answers at most 30 pages per query, so a window holding more is halved until it fits; the
cursor records the sub-window and the last committed page, so an interrupted backfill resumes
exactly after the last page that was stored.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from integrations import conf
from integrations.connectors.base import Connector, Page, iso, money_from_cents, parse_iso, trim_fraction

MASKED_EMAIL_DOMAINS = ("ct.vtex.com.br",)

# VTEX order workflow states -> our order statuses. Cancelled stays cancelled: a cancellation
# request is not a cancellation, and no later state of a cancelled order is anything but cancelled.
STATUS_MAP = {
    "order-created": "pending", "order-completed": "pending", "on-order-completed": "pending",
    "payment-pending": "pending", "waiting-for-order-authorization": "pending", "approve-payment": "pending",
    "waiting-for-seller-decision": "pending", "waiting-for-sellers-confirmation": "pending",
    "authorize-fulfillment": "pending", "order-accepted": "pending",
    "payment-approved": "paid", "window-to-cancel": "paid", "ready-for-handling": "paid",
    "start-handling": "paid", "handling": "paid", "waiting-ffmt-authorization": "paid",
    "cancellation-requested": "paid", "request-cancel": "paid", "waiting-for-fulfillment": "paid",
    "invoice": "invoiced", "invoiced": "invoiced", "delivered": "completed",
    "replaced": "cancelled", "cancel": "cancelled", "canceling": "cancelled", "canceled": "cancelled",
    "cancelled": "cancelled", "payment-denied": "cancelled",
}


def vtex_status(value: str) -> str:
    return STATUS_MAP.get((value or "").strip().lower(), "pending")


def vtex_payment_status(value: str) -> str:
    """The payment's state, read from the workflow state (the OMS detail has no payment status of
    its own): approved from ``payment-approved`` on, denied is a failure, a cancelled order's
    payment is cancelled (voided or refunded by the gateway), before approval it is pending."""
    state = (value or "").strip().lower()
    if state == "payment-denied":
        return "failed"
    return {"pending": "pending", "cancelled": "cancelled"}.get(vtex_status(state), "paid")


def vtex_shipping_method(detail: dict) -> str:
    """The delivery options the shopper chose (``logisticsInfo[].selectedSla``, one per item,
    usually the same), with pickup points said as such."""
    chosen = []
    for info in (detail.get("shippingData") or {}).get("logisticsInfo") or []:
        sla = (info.get("selectedSla") or "").strip()
        if info.get("deliveryChannel") == "pickup-in-point":
            sla = f"Pickup: {sla}" if sla else "Pickup"
        if sla and sla not in chosen:
            chosen.append(sla)
    return ", ".join(chosen)[:100]


def _is_masked(email: str) -> bool:
    domain = (email or "").rsplit("@", 1)[-1].lower()
    return any(domain == masked or domain.endswith("." + masked) for masked in MASKED_EMAIL_DOMAINS)


def vtex_order_record(detail: dict) -> dict:
    """A VTEX order detail as a canonical order record (see customers.services.ingest)."""
    profile = detail.get("clientProfileData") or {}
    totals = {row.get("id"): row.get("value") or 0 for row in detail.get("totals") or []}
    email = profile.get("email") or ""
    document_type = (profile.get("documentType") or "").lower() or "cpf"
    document = profile.get("document") or ""
    if profile.get("isCorporate") and profile.get("corporateDocument"):
        document_type, document = "cnpj", profile["corporateDocument"]
    address = ((detail.get("shippingData") or {}).get("address")) or {}
    payments = [payment for tx in (detail.get("paymentData") or {}).get("transactions") or []
                for payment in tx.get("payments") or []]
    currency = ((detail.get("storePreferencesData") or {}).get("currencyCode")) or ""
    customer = {
        # The profile id is stable even when the email is a masked alias.
        "external_id": profile.get("userProfileId") or "",
        "email": "" if _is_masked(email) else email,
        "first_name": profile.get("firstName") or "",
        "last_name": profile.get("lastName") or "",
        "phone": profile.get("phone") or "",
        "document_type": document_type if document else "",
        "document_number": document,
        "country": address.get("country") or "",
        "city": address.get("city") or "",
        "state": address.get("state") or "",
    }
    if address.get("street"):
        customer["address"] = {
            "type": "shipping", "line1": address.get("street") or "", "number": address.get("number") or "",
            "line2": address.get("complement") or "", "neighborhood": address.get("neighborhood") or "",
            "city": address.get("city") or "", "state": address.get("state") or "",
            "postal_code": address.get("postalCode") or "", "country": address.get("country") or "",
            "recipient_name": address.get("receiverName") or "",
        }
    marketing = detail.get("marketingData") or {}
    record = {
        "source": "vtex",
        "external_order_id": detail["orderId"],
        # The number shoppers and the store's staff use (the OMS shows it beside the order id).
        "order_number": str(detail.get("sequence") or "")[:64],
        "order_date": trim_fraction(detail.get("creationDate") or ""),
        "status": vtex_status(detail.get("status")),
        "payment_status": vtex_payment_status(detail.get("status")),
        "shipping_method": vtex_shipping_method(detail),
        "utm_source": (marketing.get("utmSource") or "")[:150],
        "utm_medium": (marketing.get("utmMedium") or "")[:150],
        "utm_campaign": (marketing.get("utmCampaign") or "")[:150],
        "total_amount": money_from_cents(detail.get("value")),
        "subtotal": money_from_cents(totals.get("Items", 0)),
        "discount_amount": money_from_cents(abs(int(totals.get("Discounts", 0) or 0))),
        "shipping_cost": money_from_cents(totals.get("Shipping", 0)),
        "tax_amount": money_from_cents(totals.get("Tax", 0)),
        "payment_method": (payments[0].get("paymentSystemName") or "")[:100] if payments else "",
        "customer": customer,
        "items": [{"sku": str(item.get("id") or item.get("refId") or "")[:100],
                   "name": (item.get("name") or "")[:255],
                   "quantity": item.get("quantity") or 1,
                   "unit_price": money_from_cents(item.get("sellingPrice", item.get("price")))}
                  for item in detail.get("items") or []],
        "raw": detail,
    }
    if currency:
        record["currency"] = currency
    return record


class VtexConnector(Connector):
    kind = "orders"
    prefetch_safe = True  # pages() only does HTTP; storing and ingest happen in the caller
    required_credentials = ("app_key", "app_token")

    @classmethod
    def production_base_url(cls, integration) -> str:
        return f"https://{integration.account_name}.vtexcommercestable.com.br"

    def headers(self) -> dict:
        return {"Accept": "application/json", "Content-Type": "application/json",
                "X-VTEX-API-AppKey": self.credentials["app_key"],
                "X-VTEX-API-AppToken": self.credentials["app_token"]}

    def _list(self, since: datetime.datetime, until: datetime.datetime, page: int) -> dict:
        per_page = int(conf.get("INTEGRATIONS_VTEX_PAGE_SIZE"))
        window = f"creationDate:[{iso_ms(since)} TO {iso_ms(until)}]"
        return self.client().get("/api/oms/pvt/orders", params={
            "page": page, "per_page": per_page, "f_creationDate": window, "orderBy": "creationDate,asc"})

    def order_detail(self, order_id: str) -> dict:
        return self.client().get(f"/api/oms/pvt/orders/{order_id}")

    def _details(self, order_ids: list[str]) -> list[dict]:
        workers = max(1, int(conf.get("INTEGRATIONS_VTEX_DETAIL_CONCURRENCY")))
        if workers == 1 or len(order_ids) <= 1:
            return [self.order_detail(order_id) for order_id in order_ids]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.order_detail, order_ids))  # keeps the list's order; re-raises errors

    def pages(self, cursor: dict) -> Iterator[Page]:
        since, until, done_page = self.order_window(cursor)
        target = parse_iso(cursor["target"]) if cursor.get("target") else until
        while True:
            page = done_page + 1
            answer = self._list(since, until, page)
            paging = answer.get("paging") or {}
            pages = int(paging.get("pages") or 0)
            too_many = pages > int(conf.get("INTEGRATIONS_VTEX_MAX_PAGES"))
            if page == 1 and too_many and until - since > datetime.timedelta(seconds=2):
                until = since + (until - since) / 2  # too many orders for one query: narrow the window
                continue
            rows = answer.get("list") or []
            window_cursor = {"since": iso(since), "until": iso(until), "target": iso(target), "position": page}
            details = self._details([row["orderId"] for row in rows if row.get("orderId")])
            last_page = page >= pages or not rows
            if last_page:
                if until >= target:
                    yield Page(items=details, cursor=self.finished_cursor(target),
                               window={"since": iso(since), "until": iso(target)})
                    return
                # The next sub-window starts where this one ended (bounds are inclusive: ingest is idempotent).
                next_cursor = {"since": iso(until), "until": iso(min(target, until + (until - since))),
                               "target": iso(target), "position": 0}
                yield Page(items=details, cursor=next_cursor, window={"since": iso(since), "until": iso(until)})
                since, until, done_page = parse_iso(next_cursor["since"]), parse_iso(next_cursor["until"]), 0
                continue
            yield Page(items=details, cursor=window_cursor, window={"since": iso(since), "until": iso(until)})
            done_page = page

    def records(self, items: list[dict]) -> list[dict]:
        return [vtex_order_record(item) for item in items]


def iso_ms(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

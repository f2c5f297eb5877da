"""A Stripe-compatible adapter: PaymentIntents over HTTP, form-encoded, with ``Idempotency-Key``.

The base URL is configurable (``CDP_STRIPE_BASE_URL``) so tests run it against a local fake
server speaking the same wire format; the secret key comes from ``CDP_STRIPE_SECRET_KEY``.
"""

from __future__ import annotations

import json
import urllib.parse
from decimal import Decimal

import requests

from billing import conf
from billing.gateways.base import Card, ChargeResult, GatewayUnavailable, RefundResult, to_minor_units
from cdp.http import outbound_request

STRIPE_VERSION = "2024-06-20"
# Our metadata field holding the attempt's idempotency key (Stripe keys: at most 40 characters).
METADATA_KEY = "cdp_idempotency_key"


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's bracket encoding: {"metadata": {"a": 1}} -> metadata[a]=1; lists -> name[0]=..."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(_flatten(value, name))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    pairs.extend(_flatten(item, f"{name}[{i}]"))
                else:
                    pairs.append((f"{name}[{i}]", str(item)))
        elif value is not None:
            pairs.append((name, "true" if value is True else "false" if value is False else str(value)))
    return pairs


class StripeGateway:
    code = "stripe"

    def __init__(self, *, base_url: str | None = None, secret_key: str | None = None, timeout: float | None = None):
        self.base_url = (base_url or conf.get("CDP_STRIPE_BASE_URL")).rstrip("/")
        self.secret_key = secret_key if secret_key is not None else conf.stripe_secret_key()
        self.timeout = timeout or conf.get("BILLING_GATEWAY_TIMEOUT")

    def _headers(self, idempotency_key: str | None = None) -> dict:
        if not self.secret_key:
            raise GatewayUnavailable("The Stripe gateway has no secret key (set CDP_STRIPE_SECRET_KEY).",
                                     maybe_charged=False)
        headers = {"Authorization": f"Bearer {self.secret_key}", "Stripe-Version": STRIPE_VERSION}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers

    def _post(self, path: str, params: dict, *, idempotency_key: str) -> tuple[int, dict]:
        body = urllib.parse.urlencode(_flatten(params)).encode()
        return self._send("POST", f"{self.base_url}{path}", body, self._headers(idempotency_key))

    def _get(self, path: str, params: dict | None = None) -> tuple[int, dict]:
        query = f"?{urllib.parse.urlencode(_flatten(params))}" if params else ""
        return self._send("GET", f"{self.base_url}{path}{query}", None, self._headers())

    def _send(self, method: str, url: str, body: bytes | None, headers: dict) -> tuple[int, dict]:
        """The one HTTP call (transport only): status and parsed JSON body, or GatewayUnavailable.

        Through cdp.http: a total deadline (connect + answer) and a size cap. The host is the
        operator's (no SSRF guard), and the buyer waits for the charge, so it may run inside a request."""
        try:
            response = outbound_request(method, url, data=body, headers=headers, timeout=self.timeout,
                                        deadline=self.timeout, max_bytes=1024 * 1024, trusted=True,
                                        allow_in_request=True)
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"The payment gateway could not be reached: {exc}") from exc
        try:
            payload = json.loads(response.content or b"{}")
        except ValueError:
            payload = {}
        return response.status_code, payload

    @staticmethod
    def _card(intent: dict) -> Card:
        charge = intent.get("latest_charge")
        details = (charge or {}).get("payment_method_details", {}).get("card", {}) if isinstance(charge, dict) else {}
        return Card(brand=details.get("brand", ""), last4=details.get("last4", ""),
                    exp_month=int(details.get("exp_month") or 12), exp_year=int(details.get("exp_year") or 2030))

    @classmethod
    def _intent_result(cls, intent: dict) -> ChargeResult:
        state = intent.get("status")
        if state == "succeeded":
            return ChargeResult(status="succeeded", transaction_id=intent.get("id", ""), card=cls._card(intent))
        if state in ("requires_action", "processing", "requires_confirmation", "requires_capture"):
            return ChargeResult(status="pending", transaction_id=intent.get("id", ""), card=cls._card(intent))
        error = intent.get("last_payment_error") or {}
        return ChargeResult(status="declined", transaction_id=intent.get("id", ""),
                            decline_code=error.get("decline_code") or error.get("code") or state or "declined",
                            message=error.get("message", "The payment was not completed."))

    @staticmethod
    def _refused(status: int, payload: dict) -> GatewayUnavailable:
        error = payload.get("error") or {}
        # Stripe: a 4xx other than a card error was refused before anything happened; a 5xx (or an
        # answer we cannot read) leaves the outcome unknown.
        return GatewayUnavailable(f"The payment gateway refused the request ({status}: "
                                  f"{error.get('type', 'error')} {error.get('code', '')}).".replace(" )", ")"),
                                  maybe_charged=not 400 <= status < 500)

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str,
               description: str = "", metadata: dict | None = None) -> ChargeResult:
        # The idempotency key also goes into the metadata, so the charge can be found by it later
        # (``find_charge``) when its answer was lost.
        params: dict = {"amount": to_minor_units(amount), "currency": currency.lower(), "confirm": True,
                        "description": description or None,
                        "metadata": {**(metadata or {}), METADATA_KEY: idempotency_key},
                        "payment_method_types": ["card"], "expand": ["latest_charge"]}
        if token.startswith("pm_"):
            params["payment_method"] = token
        else:
            params["payment_method_data"] = {"type": "card", "card": {"token": token}}
        status, payload = self._post("/v1/payment_intents", params, idempotency_key=idempotency_key)
        if status == 200:
            return self._intent_result(payload)
        error = payload.get("error") or {}
        if status == 402 or error.get("type") == "card_error":
            intent = error.get("payment_intent") or {}
            return ChargeResult(status="declined", transaction_id=intent.get("id", ""),
                                decline_code=error.get("decline_code") or error.get("code") or "card_declined",
                                message=error.get("message", "Your card was declined."))
        raise self._refused(status, payload)

    def find_charge(self, *, idempotency_key: str, transaction_id: str = "") -> ChargeResult | None:
        """By id when known (``GET /v1/payment_intents/{id}``), else by the idempotency key in the
        metadata (``GET /v1/payment_intents/search``; Stripe indexes within about a minute, which is
        why the reconciler only asks about attempts several minutes old)."""
        if transaction_id:
            status, payload = self._get(f"/v1/payment_intents/{urllib.parse.quote(transaction_id)}",
                                        {"expand": ["latest_charge"]})
            if status == 404:
                return None
            if status != 200:
                raise self._refused(status, payload)
            return self._intent_result(payload)
        value = idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
        status, payload = self._get("/v1/payment_intents/search", {
            "query": f"metadata['{METADATA_KEY}']:'{value}'", "expand": ["data.latest_charge"]})
        if status != 200:
            raise self._refused(status, payload)
        intents = payload.get("data") or []
        return self._intent_result(intents[0]) if intents else None

    def refund(self, *, transaction_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        status, payload = self._post("/v1/refunds", {"payment_intent": transaction_id,
                                                     "amount": to_minor_units(amount)},
                                     idempotency_key=idempotency_key)
        if status == 200 and payload.get("status") in ("succeeded", "pending"):
            return RefundResult(status="succeeded", refund_id=payload.get("id", ""))
        error = payload.get("error") or {}
        if error.get("code") == "charge_already_refunded":
            return RefundResult(status="succeeded", message=error.get("message", ""))
        if status >= 500:
            raise self._refused(status, payload)
        return RefundResult(status="failed", message=error.get("message", f"Refund refused ({status})."))

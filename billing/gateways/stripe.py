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

    def _post(self, path: str, params: dict, *, idempotency_key: str) -> tuple[int, dict]:
        if not self.secret_key:
            raise GatewayUnavailable("The Stripe gateway has no secret key (set CDP_STRIPE_SECRET_KEY).")
        body = urllib.parse.urlencode(_flatten(params)).encode()
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": idempotency_key,
            "Stripe-Version": STRIPE_VERSION,
        }
        # cdp.http: a total deadline (connect + answer) and a size cap. The host is the operator's
        # (no SSRF guard), and the buyer waits for the charge, so it may run inside a request.
        try:
            response = outbound_request("POST", f"{self.base_url}{path}", data=body, headers=headers,
                                        timeout=self.timeout, deadline=self.timeout, max_bytes=1024 * 1024,
                                        trusted=True, allow_in_request=True)
            if response.status_code < 400:
                return response.status_code, json.loads(response.content or b"{}")
        except (requests.RequestException, ValueError) as exc:
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

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str,
               description: str = "", metadata: dict | None = None) -> ChargeResult:
        params: dict = {"amount": to_minor_units(amount), "currency": currency.lower(), "confirm": True,
                        "description": description or None, "metadata": metadata or {},
                        "payment_method_types": ["card"], "expand": ["latest_charge"]}
        if token.startswith("pm_"):
            params["payment_method"] = token
        else:
            params["payment_method_data"] = {"type": "card", "card": {"token": token}}
        status, payload = self._post("/v1/payment_intents", params, idempotency_key=idempotency_key)
        if status == 200:
            state = payload.get("status")
            if state == "succeeded":
                return ChargeResult(status="succeeded", transaction_id=payload.get("id", ""), card=self._card(payload))
            if state in ("requires_action", "processing"):
                return ChargeResult(status="pending", transaction_id=payload.get("id", ""), card=self._card(payload))
            error = payload.get("last_payment_error") or {}
            return ChargeResult(status="declined", transaction_id=payload.get("id", ""),
                                decline_code=error.get("decline_code") or error.get("code") or "declined",
                                message=error.get("message", "The payment was not completed."))
        error = payload.get("error") or {}
        if status == 402 or error.get("type") == "card_error":
            intent = error.get("payment_intent") or {}
            return ChargeResult(status="declined", transaction_id=intent.get("id", ""),
                                decline_code=error.get("decline_code") or error.get("code") or "card_declined",
                                message=error.get("message", "Your card was declined."))
        raise GatewayUnavailable(f"The payment gateway refused the request ({status}: "
                                 f"{error.get('type', 'error')} {error.get('code', '')}).".replace(" )", ")"))

    def refund(self, *, transaction_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        status, payload = self._post("/v1/refunds", {"payment_intent": transaction_id,
                                                     "amount": to_minor_units(amount)},
                                     idempotency_key=idempotency_key)
        if status == 200 and payload.get("status") in ("succeeded", "pending"):
            return RefundResult(status="succeeded", refund_id=payload.get("id", ""))
        error = payload.get("error") or {}
        return RefundResult(status="failed", message=error.get("message", f"Refund refused ({status})."))

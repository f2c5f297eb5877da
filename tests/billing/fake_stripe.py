"""A local fake of the parts of Stripe's API the adapter uses, speaking Stripe's wire format:
form-encoded bodies with bracket keys, ``Authorization: Bearer``, ``Idempotency-Key`` (the saved
answer replayed with ``Idempotent-Replayed: true``; other parameters with the same key are an
``idempotency_error``), PaymentIntents (create+confirm, retrieve, search by metadata), refunds,
and Stripe's error bodies (``{"error": {"type", "code", "message", "param"}}``).

Test tokens: ``tok_visa`` succeeds, ``tok_chargeDeclined*`` declines (402 card_error),
``tok_threeDSecure2Required`` waits (``requires_action``), ``tok_boom`` is a 500, and
``tok_lost_answer`` charges and then drops the connection without answering (a timeout after the
charge). ``fail_refunds`` makes refunds answer 500.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DECLINES = {"tok_chargeDeclined": "generic_decline", "tok_chargeDeclinedInsufficientFunds": "insufficient_funds"}
SECRET = "sk_test_fake"


def _error(status: int, type_: str, message: str, code: str | None = None, param: str | None = None, **more):
    error = {"type": type_, "message": message, **more}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return status, {"error": error}


class FakeStripe:
    def __init__(self):
        self.requests: list[dict] = []
        self.saved: dict[str, tuple[str, dict, int, dict]] = {}  # Idempotency-Key -> (path, form, status, body)
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.counter = 0
        self.fail_refunds = False
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body, headers=()):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", f"req_fake_{len(fake.requests)}")
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append({"method": "GET", "path": url.path, "headers": dict(self.headers),
                                      "query": query})
                self._answer(*fake.get(url.path, self.headers, query))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                fake.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                      "form": form})
                status, body, headers = fake.post(self.path, self.headers, form)
                if status is None:  # charged, then the answer is lost
                    self.close_connection = True
                    return
                self._answer(status, body, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def charges(self) -> list[dict]:
        """PaymentIntents that moved money."""
        return [i for i in self.intents.values() if i["status"] == "succeeded"]

    # --- dispatch -----------------------------------------------------------------------------

    def _authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {SECRET}"

    def post(self, path, headers, form):
        if not self._authorized(headers):
            return (*_error(401, "invalid_request_error", "Invalid API Key provided: sk_****"), ())
        key = headers.get("Idempotency-Key")
        with self.lock:
            if key in self.saved:
                saved_path, saved_form, status, body = self.saved[key]
                if (saved_path, saved_form) != (path, form):
                    return (*_error(400, "idempotency_error",
                                    "Keys for idempotent requests can only be used with the same parameters they "
                                    f"were first used with. Try using a key other than '{key}' if you meant to "
                                    "execute a different request."), ())
                return status, body, (("Idempotent-Replayed", "true"), ("Idempotency-Key", key))
            if path == "/v1/payment_intents":
                status, body = self._intent_create(form)
            elif path == "/v1/refunds":
                status, body = self._refund_create(form)
            else:
                status, body = _error(404, "invalid_request_error", f"Unrecognized request URL (POST: {path}).")
            lost = status == "lost"
            status = 200 if lost else status
            if key and status < 500:  # Stripe saves the answer once the endpoint ran
                self.saved[key] = (path, form, status, body)
            if lost:
                return None, None, ()
            return status, body, ((("Idempotency-Key", key),) if key else ())

    def get(self, path, headers, query):
        if not self._authorized(headers):
            return _error(401, "invalid_request_error", "Invalid API Key provided: sk_****")
        with self.lock:
            if path == "/v1/payment_intents/search":
                match = re.fullmatch(r"metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'", query.get("query", ""))
                if match is None:
                    return _error(400, "invalid_request_error", "Invalid search query.", param="query")
                field, value = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
                found = [self._expanded(i) for i in self.intents.values() if i["metadata"].get(field) == value]
                return 200, {"object": "search_result", "url": "/v1/payment_intents/search", "has_more": False,
                             "next_page": None, "data": found}
            match = re.fullmatch(r"/v1/payment_intents/([^/]+)", path)
            if match:
                intent = self.intents.get(unquote(match.group(1)))
                if intent is None:
                    return _error(404, "invalid_request_error", f"No such payment_intent: '{match.group(1)}'",
                                  code="resource_missing", param="intent")
                return 200, self._expanded(intent)
            return _error(404, "invalid_request_error", f"Unrecognized request URL (GET: {path}).")

    # --- resources ----------------------------------------------------------------------------

    def _expanded(self, intent: dict) -> dict:
        return {**intent, "latest_charge": intent["_charge"]} if intent.get("_charge") else {
            k: v for k, v in intent.items() if k != "_charge"}

    def _intent_create(self, form):
        token = form.get("payment_method_data[card][token]") or form.get("payment_method", "")
        if token == "tok_boom":
            return _error(500, "api_error", "Something went wrong on Stripe's end.")
        self.counter += 1
        metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
        intent = {"id": f"pi_fake_{self.counter}", "object": "payment_intent", "amount": int(form["amount"]),
                  "amount_received": 0, "currency": form["currency"], "metadata": metadata,
                  "description": form.get("description"), "status": "requires_payment_method",
                  "last_payment_error": None, "latest_charge": None, "_charge": None}
        self.intents[intent["id"]] = intent
        if token in DECLINES:
            error = {"type": "card_error", "code": "card_declined", "decline_code": DECLINES[token],
                     "message": "Your card was declined."}
            intent["last_payment_error"] = error
            return 402, {"error": {**error, "payment_intent": self._expanded(intent)}}
        if token == "tok_threeDSecure2Required":
            intent["status"] = "requires_action"
            return 200, self._expanded(intent)
        intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
        intent["_charge"] = {"id": f"ch_fake_{self.counter}", "object": "charge", "amount": intent["amount"],
                             "amount_refunded": 0, "refunded": False, "paid": True, "status": "succeeded",
                             "payment_intent": intent["id"], "payment_method_details": {"type": "card", "card": {
                                 "brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2031}}}
        intent["latest_charge"] = intent["_charge"]["id"]
        return ("lost" if token == "tok_lost_answer" else 200), self._expanded(intent)

    def _refund_create(self, form):
        if self.fail_refunds:
            return _error(500, "api_error", "Something went wrong on Stripe's end.")
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(400, "invalid_request_error", f"No such payment_intent: '{form.get('payment_intent')}'",
                          code="resource_missing", param="payment_intent")
        charge = intent.get("_charge")
        if charge is None:
            return _error(400, "invalid_request_error", "This PaymentIntent does not have a successful charge to "
                          "refund.", code="payment_intent_unexpected_state", param="payment_intent")
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = int(form.get("amount", remaining))
        if remaining == 0:
            return _error(400, "invalid_request_error", f"Charge {charge['id']} has already been refunded.",
                          code="charge_already_refunded")
        if amount > remaining:
            return _error(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded "
                          f"amount on charge ({remaining})", code="amount_too_large", param="amount")
        self.counter += 1
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {"id": f"re_fake_{self.counter}", "object": "refund", "amount": amount, "charge": charge["id"],
                  "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded",
                  "metadata": {}, "reason": None}
        self.refunds[refund["id"]] = refund
        return 200, refund

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

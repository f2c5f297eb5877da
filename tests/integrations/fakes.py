"""Local fake servers speaking each source's real wire format (docs: wire-formats.md), on
127.0.0.1 with a random port, in a thread. Tests script failures (401, 429 with Retry-After,
500s, slow answers, malformed JSON) per path; they never patch our HTTP client."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list -> JSON; bytes/str -> as is
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class FakeServer:
    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, object]] = []
        self.requests: list[Request] = []
        self.scripts: list[tuple[str, deque]] = []
        self._lock = threading.Lock()
        self.httpd = None

    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, re.compile(pattern + r"$"), handler))

    def script(self, path_contains: str, *replies: Reply) -> None:
        """The next requests whose path contains ``path_contains`` get these replies, in order."""
        with self._lock:
            self.scripts.append((path_contains, deque(replies)))

    def _scripted(self, request: Request) -> Reply | None:
        with self._lock:
            for needle, replies in self.scripts:
                if needle in request.path and replies:
                    return replies.popleft()
        return None

    def handle(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        scripted = self._scripted(request)
        if scripted is not None:
            return scripted
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                return handler(request, **match.groupdict())
        return Reply(404, {"error": "not found"})

    def hits(self, path_contains: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if path_contains in r.path and (method is None or r.method == method)]

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                reply = fake.handle(request)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body
                if isinstance(data, (dict, list)):
                    data = json.dumps(data).encode()
                elif isinstance(data, str):
                    data = data.encode()
                elif data is None:
                    data = b""
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, str(value))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()


# --- VTEX OMS -------------------------------------------------------------------------------------

def vtex_detail(n: int, *, created: datetime.datetime, status: str = "invoiced", masked: bool = True,
                profile_id: str | None = None, document: str | None = None, email: str | None = None,
                sla: str = "Normal", delivery_channel: str = "delivery", utm: dict | None = None) -> dict:
    order_id = f"{1172452900000 + n}-01"
    cents = 10000 + n * 100
    return {
        "orderId": order_id, "sequence": str(500000 + n), "status": status, "value": cents + 1500,
        "creationDate": created.strftime("%Y-%m-%dT%H:%M:%S.") + "7010747+00:00",
        "lastChange": created.strftime("%Y-%m-%dT%H:%M:%S.") + "1234567+00:00",
        "totals": [{"id": "Items", "name": "Total dos Itens", "value": cents},
                   {"id": "Discounts", "name": "Total dos Descontos", "value": 0},
                   {"id": "Shipping", "name": "Total do Frete", "value": 1500},
                   {"id": "Tax", "name": "Total da Taxa", "value": 0}],
        "items": [{"uniqueId": f"U{n}", "id": str(100 + n % 5), "productId": str(10 + n % 5), "refId": f"REF{n % 5}",
                   "ean": "7891234567890", "name": f"Produto {n % 5}", "quantity": 1, "price": cents,
                   "listPrice": cents, "sellingPrice": cents}],
        "clientProfileData": {
            "email": email or (f"a{n:06d}f1e2d3c4b5a6@ct.vtex.com.br" if masked else f"cliente{n}@example.com"),
            "firstName": "Ana", "lastName": f"Souza {n}", "documentType": "cpf",
            "document": document or f"{12345678900 + n}", "phone": "+5511987654321", "isCorporate": False,
            "corporateName": None, "corporateDocument": None,
            "userProfileId": profile_id or f"profile-{n:06d}"},
        "shippingData": {"address": {"addressType": "residential", "receiverName": "Ana Souza",
                                     "postalCode": "01310-100",
                                     "city": "São Paulo", "state": "SP", "country": "BRA", "street": "Av. Paulista",
                                     "number": "1000", "neighborhood": "Bela Vista", "complement": "apto 12"},
                         "logisticsInfo": [{"itemIndex": 0, "selectedSla": sla, "deliveryChannel": delivery_channel,
                                            "price": 1500, "listPrice": 1500, "sellingPrice": 1500,
                                            "shippingEstimate": "5bd", "deliveryCompany": "Correios"}]},
        "marketingData": utm and {"utmSource": utm.get("source", ""), "utmMedium": utm.get("medium", ""),
                                  "utmCampaign": utm.get("campaign", ""), "utmiCampaign": "", "utmipage": "",
                                  "utmiPart": "", "coupon": None, "marketingTags": []},
        "paymentData": {"transactions": [{"isActive": True, "payments": [
            {"paymentSystemName": "Visa", "value": cents + 1500, "installments": 1}]}]},
        "storePreferencesData": {"currencyCode": "BRL"},
    }


_VTEX_WINDOW = re.compile(r"creationDate:\[(.+) TO (.+)\]")


class FakeVtex(FakeServer):
    MAX_PAGES = 30

    def __init__(self, *, app_key="vtexappkey-alpha-XYZ", app_token="VTEXTOKENsecretVALUE1234567890"):
        super().__init__()
        self.app_key, self.app_token = app_key, app_token
        self.orders: dict[str, dict] = {}
        self.route("GET", r"/api/oms/pvt/orders", self.list_orders)
        self.route("GET", r"/api/oms/pvt/orders/(?P<order_id>[^/]+)", self.get_order)

    def add(self, detail: dict) -> dict:
        self.orders[detail["orderId"]] = detail
        return detail

    def _auth(self, request: Request) -> Reply | None:
        if request.headers.get("x-vtex-api-appkey") != self.app_key or \
                request.headers.get("x-vtex-api-apptoken") != self.app_token:
            return Reply(401, {"error": {"code": "1", "message": "Unauthorized"}})
        return None

    @staticmethod
    def _parse(value: str) -> datetime.datetime:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))

    def list_orders(self, request: Request) -> Reply:
        refused = self._auth(request)
        if refused:
            return refused
        page, per_page = int(request.query.get("page", 1)), int(request.query.get("per_page", 15))
        match = _VTEX_WINDOW.match(request.query.get("f_creationDate", ""))
        rows = sorted(self.orders.values(), key=lambda o: (o["creationDate"], o["orderId"]))
        if match:
            since, until = self._parse(match.group(1)), self._parse(match.group(2))
            rows = [o for o in rows if since <= self._parse(o["creationDate"][:26] + o["creationDate"][27:]) <= until]
        pages = max(1, -(-len(rows) // per_page))
        if page > self.MAX_PAGES:
            return Reply(400, {"error": {"message": "Max page exceed ( 30 ), refine filter"}})
        chunk = rows[(page - 1) * per_page: page * per_page]
        return Reply(200, {
            "list": [{"orderId": o["orderId"], "creationDate": o["creationDate"],
                      "clientName": f"{o['clientProfileData']['firstName']} {o['clientProfileData']['lastName']}",
                      "totalValue": o["value"], "status": o["status"], "statusDescription": o["status"].title(),
                      "sequence": o["sequence"], "origin": "Marketplace", "currencyCode": "BRL", "totalItems": 1}
                     for o in chunk],
            "facets": [], "paging": {"total": len(rows), "pages": pages, "currentPage": page, "perPage": per_page},
            "stats": {"stats": {"totalValue": {"Count": len(rows)}}}})

    def get_order(self, request: Request, order_id: str) -> Reply:
        refused = self._auth(request)
        if refused:
            return refused
        if order_id not in self.orders:
            return Reply(404, {"error": {"code": "OMS003", "message": "Order not found"}})
        return Reply(200, self.orders[order_id])


# --- MercadoLibre -----------------------------------------------------------------------------------

def ml_order(n: int, *, created: datetime.datetime, pack_id: int | None = None, status: str = "paid",
             buyer_id: int = 123456789, doc: str = "20123456", amount: float = 1500.5, tags=None,
             payment_status: str = "approved") -> dict:
    return {
        "id": 2000009876543210 + n, "status": status, "pack_id": pack_id, "tags": tags or ["paid"],
        "date_created": created.strftime("%Y-%m-%dT%H:%M:%S.000-03:00"),
        "date_closed": created.strftime("%Y-%m-%dT%H:%M:%S.000-03:00"),
        "last_updated": created.strftime("%Y-%m-%dT%H:%M:%S.000-03:00"),
        "total_amount": amount, "paid_amount": amount, "currency_id": "ARS",
        "order_items": [{"item": {"id": f"MLA{900000 + n}", "title": f"Item {n}", "category_id": "MLA1234",
                                  "seller_sku": f"SKU-{n}"},
                         "quantity": 1, "unit_price": amount, "full_unit_price": amount, "currency_id": "ARS"}],
        "shipping": {"id": 40000000000 + n},
        "payments": [{"id": 3000000000 + n, "status": payment_status, "transaction_amount": amount, "shipping_cost": 0,
                      "total_paid_amount": amount, "payment_method_id": "visa", "installments": 1}],
        "buyer": {"id": buyer_id, "nickname": "COMPRADOR", "first_name": "Juan", "last_name": "Pérez",
                  "email": "jperez.1a2b3c@mail.mercadolivre.com",
                  "billing_info": {"doc_type": "DNI", "doc_number": doc}},
    }


class FakeMercadoLibre(FakeServer):
    def __init__(self, *, client_id="1234567890123456", client_secret="MLclientSECRETvalue987",
                 refresh_token="TG-refresh-0001-secret"):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.access_token = None
        self.token_serial = 0
        self.orders: list[dict] = []
        self.route("POST", r"/oauth/token", self.token)
        self.route("GET", r"/orders/search", self.search)

    def token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != self.client_id or \
                form.get("client_secret") != self.client_secret or form.get("refresh_token") != self.refresh_token:
            return Reply(400, {"error": "invalid_grant", "message": "Error validating grant."})
        self.token_serial += 1
        self.access_token = f"APP_USR-access-{self.token_serial:04d}-secret"
        self.refresh_token = f"TG-refresh-{self.token_serial + 1:04d}-secret"  # the old one stops working
        return Reply(200, {"access_token": self.access_token, "token_type": "Bearer", "expires_in": 21600,
                           "scope": "offline_access read", "user_id": 987654, "refresh_token": self.refresh_token})

    def search(self, request: Request) -> Reply:
        if not self.access_token or request.headers.get("authorization") != f"Bearer {self.access_token}":
            return Reply(401, {"message": "invalid_token", "error": "not_found", "status": 401})
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 50))
        rows = sorted(self.orders, key=lambda o: (o["date_created"], o["id"]))
        page = rows[offset: offset + limit]
        return Reply(200, {"query": request.query.get("seller"), "display": "complete",
                           "paging": {"total": len(rows), "offset": offset, "limit": limit},
                           "results": page, "sort": {"id": "date_asc"}})


# --- Google Ads and Meta -------------------------------------------------------------------------------

class FakeGoogleAds(FakeServer):
    """searchStream plus Google's OAuth token endpoint (``POST /token``; in reality another host,
    oauth2.googleapis.com): refresh token in, access token valid ``expires_in`` seconds out."""

    def __init__(self, *, developer_token="GADS-devtoken-secret-01", access_token="ya29.google-access-secret",
                 client_id="1234-gads.apps.googleusercontent.com", client_secret="GOCSPX-gads-client-secret",
                 refresh_token="1//gads-refresh-token-secret"):
        super().__init__()
        self.developer_token, self.access_token = developer_token, access_token
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.expires_in = 3599
        self.tokens: dict[str, float] = {access_token: float("inf")}  # token -> when it stops working
        self.token_serial = 0
        self.batches: list[list[dict]] = []
        self.route("POST", r"/token", self.token)
        self.route("POST", r"/v(?P<version>\d+)/customers/(?P<customer>\d+)/googleAds:searchStream", self.stream)

    def token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return Reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        self.token_serial += 1
        token = f"ya29.a0-access-{self.token_serial:04d}-secret"
        self.tokens[token] = time.time() + self.expires_in
        return Reply(200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer",
                           "scope": "https://www.googleapis.com/auth/adwords"})

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (revoked, or expired early)."""
        self.tokens = {token: 0.0 for token in self.tokens}

    def stream(self, request: Request, version: str, customer: str) -> Reply:
        bearer = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if request.headers.get("developer-token") != self.developer_token or \
                self.tokens.get(bearer, 0.0) <= time.time():
            return Reply(401, [{"error": {"code": 401, "status": "UNAUTHENTICATED",
                                          "message": "Request had invalid authentication credentials."}}])
        mask = "campaign.id,campaign.name,segments.date,metrics.costMicros"
        return Reply(200, [{"results": batch, "fieldMask": mask, "requestId": f"req-{i}"}
                           for i, batch in enumerate(self.batches)])


class FakeMeta(FakeServer):
    def __init__(self, *, access_token="EAAB-meta-access-token-secret"):
        super().__init__()
        self.access_token = access_token
        self.rows: list[dict] = []
        self.page_size = 2
        self.route("GET", r"/v(?P<version>[\d.]+)/act_(?P<account>\d+)/insights", self.insights)

    def insights(self, request: Request, version: str, account: str) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return Reply(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                         "code": 190}})
        start = int(request.query.get("after", "0") or 0)
        chunk = self.rows[start: start + self.page_size]
        after = str(start + len(chunk))
        paging = {"cursors": {"before": str(start), "after": after}}
        if start + len(chunk) < len(self.rows):
            paging["next"] = f"https://graph.facebook.com/v{version}/act_{account}/insights?after={after}"
        return Reply(200, {"data": chunk, "paging": paging})


# --- A CRM's inbound endpoint for our profile pushes ---------------------------------------------------------

class FakeCrm(FakeServer):
    """Receives ``customers.upsert`` batches at ``/api/cdp/customers``, checks the signature as a
    receiver must (HMAC-SHA256 of "{timestamp}.{raw body}"), upserts profiles by id."""

    def __init__(self, *, secret="crm-signing-secret-0001"):
        super().__init__()
        self.secret = secret
        self.profiles: dict[int, dict] = {}
        self.batches: list[dict] = []
        self.route("POST", r"/api/cdp/customers", self.receive)

    def receive(self, request: Request) -> Reply:
        timestamp = request.headers.get("x-cdp-timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + request.body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-cdp-signature", "")):
            return Reply(401, {"error": "invalid signature"})
        body = request.json()
        self.batches.append(body)
        for profile in body["data"]["customers"]:
            self.profiles[profile["id"]] = profile
        return Reply(202, {"accepted": len(body["data"]["customers"])})


# --- Redis state the integrations keep between tasks -----------------------------------------------------

def clear_outbound_keys() -> None:
    """Drop per-tenant outbound slots, drain flags, the due index and the VTEX hook throttle."""
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    for pattern in ("cdp:outbound:*", "*throttle_vtex_hook*"):
        for key in redis.scan_iter(match=pattern, count=1000):
            redis.delete(key)

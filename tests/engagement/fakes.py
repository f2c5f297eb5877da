"""Local fakes speaking each provider's wire format, on 127.0.0.1 with a random port:

- ``FakeSmtp``: a real SMTP server (aiosmtpd) that keeps what it receives; a test scripts the
  answers to RCPT TO (``450``/``452`` transient, ``550`` refused) per recipient.
- ``FakeWhatsApp``: the Cloud API's ``POST /{version}/{phone_number_id}/messages`` (bearer token,
  template payload; ``{"messages": [{"id": "wamid..."}]}``, Meta's error envelope).
- ``FakeTwilio``: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (basic auth, form body; the
  message resource, Twilio's error body).
Failures (rate limits, 5xx) are scripted per path with ``script()`` (tests.integrations.fakes)."""

from __future__ import annotations

import base64
import json
import re
import itertools
import socket
import threading
from collections import defaultdict, deque
from email import message_from_bytes

from aiosmtpd.controller import Controller

from tests.integrations.fakes import FakeServer, Reply

WHATSAPP_TOKEN = "EAAG-test-token"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token"


class FakeSmtp:
    def __init__(self):
        self.messages: list = []
        self.rcpt_replies: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self.controller = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            replies = self.rcpt_replies.get(address)
            if replies:
                return replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def refuse(self, address: str, *replies: str) -> None:
        with self._lock:
            self.rcpt_replies[address].extend(replies)

    def start(self) -> "FakeSmtp":
        with socket.socket() as probe:  # aiosmtpd needs the port up front (it connects to check it started)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()


class FakeWhatsApp(FakeServer):
    def __init__(self):
        super().__init__()
        self.ids = itertools.count(1)
        self.route("POST", r"/v[0-9.]+/(?P<phone_id>[0-9]+)/messages", self.messages)

    def messages(self, request, phone_id):
        if request.headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
            return Reply(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                         "code": 190, "fbtrace_id": "Atest"}})
        body = request.json()
        template = body.get("template") or {}
        if body.get("messaging_product") != "whatsapp" or body.get("type") != "template" or not template.get("name") \
                or not (template.get("language") or {}).get("code") or not body.get("to", "").isdigit():
            return Reply(400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100,
                                         "fbtrace_id": "Atest"}})
        return Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                           "messages": [{"id": f"wamid.TEST{next(self.ids):06d}"}]})


class FakeTwilio(FakeServer):
    def __init__(self):
        super().__init__()
        self.ids = itertools.count(1)
        self.route("POST", r"/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]+)/Messages\.json", self.create)

    def create(self, request, sid):
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if sid != TWILIO_SID or request.headers.get("authorization") != expected:
            return Reply(401, {"code": 20003, "message": "Authenticate", "more_info":
                               "https://www.twilio.com/docs/errors/20003", "status": 401})
        form = request.form()
        if not form.get("To", "").startswith("+") or not form.get("Body") or not form.get("From"):
            return Reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
        return Reply(201, {"sid": f"SM{next(self.ids):032x}", "account_sid": sid, "to": form["To"],
                           "from": form["From"], "body": form["Body"], "status": "queued", "num_segments": "1",
                           "api_version": "2010-04-01", "error_code": None, "error_message": None})


TWILIO_RATE_LIMITED = Reply(429, {"code": 20429, "message": "Too Many Requests",
                                  "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429},
                            headers={"Retry-After": "1"})
WHATSAPP_THROUGHPUT = Reply(400, {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                                            "code": 130429, "fbtrace_id": "Atest"}})


META_TOKEN = "meta-system-user-token"


class FakeMeta(FakeServer):
    """Meta's Custom Audience users endpoint: form field ``payload`` = {"schema", "data"};
    POST adds, DELETE removes; the audience's members are kept as sets of hashed rows."""

    def __init__(self):
        super().__init__()
        self.members: dict[str, set] = defaultdict(set)
        self.route("POST", r"/v[0-9.]+/(?P<audience>[0-9]+)/users", self.users)
        self.route("DELETE", r"/v[0-9.]+/(?P<audience>[0-9]+)/users", self.users)

    def users(self, request, audience):
        form = request.form()
        if form.get("access_token") != META_TOKEN:
            return Reply(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                         "code": 190, "fbtrace_id": "Atest"}})
        payload = json.loads(form.get("payload") or "{}")
        if payload.get("schema") != ["EMAIL", "PHONE"] or len(payload.get("data") or []) > 10000:
            return Reply(400, {"error": {"message": "Invalid parameter", "code": 100, "fbtrace_id": "Atest"}})
        rows = [tuple(row) for row in payload["data"]]
        invalid = [row for row in rows if not all(re.fullmatch(r"[0-9a-f]{64}|", value) for value in row)]
        valid = [row for row in rows if row not in invalid]
        if request.method == "POST":
            self.members[audience].update(valid)
        else:
            self.members[audience].difference_update(valid)
        return Reply(200, {"audience_id": audience, "session_id": "9778993", "num_received": len(rows),
                           "num_invalid_entries": len(invalid), "invalid_entry_samples": {}})

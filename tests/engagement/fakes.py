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
        self.sessions = 0
        self.rcpt_replies: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self.controller = None

    # aiosmtpd handler hooks
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self._lock:
            self.sessions += 1  # one EHLO per connection: how many connections the client opened
        session.host_name = hostname
        return responses

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


GOOGLE_TOKEN = "ya29.google-access-token"
GOOGLE_DEVELOPER_TOKEN = "dev-token-123"
GOOGLE_CUSTOMER_ID = "1234567890"
HEX64 = re.compile(r"[0-9a-f]{64}")


class FakeGoogleAds(FakeServer):
    """The Google Ads API's OfflineUserDataJobService over REST: ``offlineUserDataJobs:create``,
    ``{job}:addOperations`` (partial failure: an identifier that is not a SHA-256 hex digest is
    rejected and named by its operation's index) and ``{job}:run``, which applies the job to the
    user list's members. Errors in google.rpc.Status envelopes with a GoogleAdsFailure."""

    def __init__(self):
        super().__init__()
        self.members: dict[str, set] = defaultdict(set)  # user list resource -> frozensets of identifiers
        self.jobs: dict[str, dict] = {}
        self._ids = itertools.count(1000)
        self.route("POST", r"/v[0-9]+/customers/(?P<cid>[0-9]+)/offlineUserDataJobs:create", self.create)
        self.route("POST", r"/v[0-9]+/customers/(?P<cid>[0-9]+)/offlineUserDataJobs/(?P<job>[0-9]+):addOperations",
                   self.add_operations)
        self.route("POST", r"/v[0-9]+/customers/(?P<cid>[0-9]+)/offlineUserDataJobs/(?P<job>[0-9]+):run", self.run)

    @staticmethod
    def failure(status: int, rpc_status: str, code: dict, message: str, retry_delay: str = "") -> Reply:
        details = [{"@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                    "errors": [{"errorCode": code, "message": message}], "requestId": "req-1"}]
        if retry_delay:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
        return Reply(status, {"error": {"code": status, "message": "Request contains an invalid argument."
                                        if status == 400 else message, "status": rpc_status, "details": details}})

    def _auth(self, request, cid):
        if request.headers.get("authorization") != f"Bearer {GOOGLE_TOKEN}":
            return self.failure(401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_INVALID"},
                                "Request had invalid authentication credentials.")
        if request.headers.get("developer-token") != GOOGLE_DEVELOPER_TOKEN:
            return self.failure(403, "PERMISSION_DENIED", {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"},
                                "The developer token is not approved.")
        if cid != GOOGLE_CUSTOMER_ID:
            return self.failure(403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"},
                                "User doesn't have permission to access customer.")
        return None

    def create(self, request, cid):
        refused = self._auth(request, cid)
        if refused:
            return refused
        job = request.json().get("job") or {}
        metadata = job.get("customerMatchUserListMetadata") or {}
        user_list = metadata.get("userList") or ""
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or not re.fullmatch(
                rf"customers/{cid}/userLists/[0-9]+", user_list):
            return self.failure(400, "INVALID_ARGUMENT", {"offlineUserDataJobError": "INVALID_USER_LIST_ID"},
                                "The user list id is invalid.")
        job_id = str(next(self._ids))
        resource = f"customers/{cid}/offlineUserDataJobs/{job_id}"
        self.jobs[job_id] = {"userList": user_list, "consent": metadata.get("consent"), "operations": [],
                             "status": "PENDING"}
        return Reply(200, {"resourceName": resource})

    def add_operations(self, request, cid, job):
        refused = self._auth(request, cid)
        if refused:
            return refused
        state = self.jobs.get(job)
        if state is None or state["status"] != "PENDING":
            return self.failure(400, "INVALID_ARGUMENT", {"offlineUserDataJobError": "INVALID_JOB_STATE"},
                                "The job is not pending.")
        body = request.json()
        errors = []
        for index, operation in enumerate(body.get("operations") or []):
            kind, data = next(iter(operation.items()))
            identifiers = data.get("userIdentifiers") or []
            values = [next(iter(i.values())) for i in identifiers]
            if not values or not all(HEX64.fullmatch(v or "") for v in values):
                errors.append({"errorCode": {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                               "message": "The SHA256 encoded value is malformed.",
                               "location": {"fieldPathElements": [
                                   {"fieldName": "operations", "index": index}, {"fieldName": kind},
                                   {"fieldName": "user_identifiers", "index": 0}]}})
                continue
            state["operations"].append((kind, frozenset(tuple(sorted(i.items())) for i in identifiers)))
        if errors and not body.get("enablePartialFailure"):
            return self.failure(400, "INVALID_ARGUMENT", errors[0]["errorCode"], errors[0]["message"])
        answer = {}
        if errors:
            answer["partialFailureError"] = {"code": 3, "message": "Multiple errors in 'details'.", "details": [
                {"@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure", "errors": errors}]}
        return Reply(200, answer)

    def run(self, request, cid, job):
        refused = self._auth(request, cid)
        if refused:
            return refused
        state = self.jobs.get(job)
        if state is None:
            return self.failure(404, "NOT_FOUND", {"requestError": "RESOURCE_NOT_FOUND"}, "Job not found.")
        for kind, identifiers in state["operations"]:
            if kind == "create":
                self.members[state["userList"]].add(identifiers)
            else:
                self.members[state["userList"]].discard(identifiers)
        state["status"] = "RUNNING"
        return Reply(200, {"name": f"customers/{cid}/operations/{job}"})

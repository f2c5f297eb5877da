"""Google Ads Customer Match over the Google Ads API's REST interface (OfflineUserDataJobService).

One push is one offline user data job, in three calls, each with ``Authorization: Bearer
<access token>``, ``developer-token`` and, when the account is reached through a manager,
``login-customer-id``:

1. ``POST {base}/{version}/customers/{customer_id}/offlineUserDataJobs:create`` with
   ``{"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {"userList":
   "customers/{customer_id}/userLists/{user_list_id}", "consent": {"adUserData": "GRANTED",
   "adPersonalization": "GRANTED"}}}}`` answers ``{"resourceName": "customers/…/offlineUserDataJobs/…"}``.
2. ``POST {base}/{version}/{resourceName}:addOperations`` with ``{"enablePartialFailure": true,
   "operations": [{"create": {"userIdentifiers": [{"hashedEmail": …}, {"hashedPhoneNumber": …}]}},
   …]}`` (``remove`` instead of ``create`` to take people out), in batches of
   ENGAGEMENT_GOOGLE_ADS_BATCH. With partial failure on, rejected operations do not fail the call:
   the answer's ``partialFailureError.details[].errors[]`` name them by
   ``location.fieldPathElements[{fieldName: "operations", index}]``; they are counted invalid.
3. ``POST {base}/{version}/{resourceName}:run`` with ``{}`` starts the job (a long-running
   operation, ``{"name": "customers/…/operations/…"}``); Google matches over the next hours.

Identifiers are normalized as Google asks before SHA-256 (hex): e-mail trimmed and lowercased,
with the dots of the local part removed for gmail.com and googlemail.com; phone in E.164 with
its "+". Only people with a marketing consent are added (``audiences``), and the job declares that
consent for ad user data and personalization.

Errors are google.rpc.Status envelopes ``{"error": {"code", "message", "status", "details":
[{"@type": "…GoogleAdsFailure", "errors": [{"errorCode": {…}, "message"}]}, {"@type":
"…google.rpc.RetryInfo", "retryDelay": "30s"}]}}``: 429 (RESOURCE_EXHAUSTED), 5xx and
CONCURRENT_MODIFICATION are transient (retried by the task, after Retry-After or retryDelay when
given); the rest (bad token, unknown list, a list that is not Customer Match) are permanent. A job
left half-filled by an error is never run, and Google discards it; the retry starts a new one.
"""

from __future__ import annotations

import hashlib

from engagement import conf
from engagement.channels.base import PermanentError, TransientError, provider_call, retry_after_seconds
from engagement.selectors import provider_config

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
TRANSIENT_STATUSES = {"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"}


def normalized_email(email: str | None) -> str:
    value = "".join((email or "").split()).lower()
    local, at, domain = value.rpartition("@")
    if at and domain in GMAIL_DOMAINS:
        value = f"{local.replace('.', '')}@{domain}"
    return value


def normalized_phone(phone: str | None) -> str:
    """E.164 with its "+" (the profile keeps phones in E.164 already; anything else is dropped)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit()).lstrip("0")
    return f"+{digits}" if 8 <= len(digits) <= 15 else ""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def user_identifiers(customer) -> list[dict]:
    identifiers = []
    email, phone = normalized_email(customer.email), normalized_phone(customer.phone)
    if email:
        identifiers.append({"hashedEmail": sha256(email)})
    if phone:
        identifiers.append({"hashedPhoneNumber": sha256(phone)})
    return identifiers


def _retry_delay(body: dict, header: str | None) -> float | None:
    seconds = retry_after_seconds(header)
    if seconds is not None:
        return seconds
    for detail in (body.get("error") or {}).get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            return retry_after_seconds(delay[:-1])
    return None


def _google_errors(body: dict) -> list[dict]:
    errors = []
    for detail in (body.get("error") or {}).get("details") or []:
        if isinstance(detail, dict):
            errors.extend(e for e in detail.get("errors") or [] if isinstance(e, dict))
    return errors


def _call(url: str, payload: dict, account: dict) -> dict:
    headers = {"Authorization": f"Bearer {account['access_token']}", "developer-token": account["developer_token"]}
    if account.get("login_customer_id"):
        headers["login-customer-id"] = "".join(ch for ch in account["login_customer_id"] if ch.isdigit())
    response = provider_call("POST", url, json=payload, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code < 300:
        return body
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    codes = [next(iter((e.get("errorCode") or {}).values()), "") for e in _google_errors(body)]
    text = (f"Google Ads {response.status_code} {error.get('status', '')}: "
            f"{'; '.join(e.get('message', '') for e in _google_errors(body)) or error.get('message') or response.text[:200]}")
    if response.status_code in (429, 500, 502, 503, 504) or error.get("status") in TRANSIENT_STATUSES or \
            "CONCURRENT_MODIFICATION" in codes:
        raise TransientError(text[:2000], retry_after=_retry_delay(body, response.headers.get("Retry-After")))
    raise PermanentError(text[:2000])


def _failed_operations(body: dict) -> set[int]:
    """Indexes of the operations a partial-failure answer rejected."""
    failed: set[int] = set()
    for detail in (body.get("partialFailureError") or {}).get("details") or []:
        for error in (detail.get("errors") or []) if isinstance(detail, dict) else []:
            for element in ((error.get("location") or {}).get("fieldPathElements") or []):
                if element.get("fieldName") == "operations" and isinstance(element.get("index"), int):
                    failed.add(element["index"])
                    break
    return failed


def google_push(*, user_list_id: str, customers, remove: bool) -> tuple[int, int, str]:
    """Add (or remove) ``customers`` to the Customer Match list in one job. Returns
    ``(accepted, rejected, job resource name)``; raises ``TransientError``/``PermanentError``."""
    account = provider_config("google_ads")
    customer_id = "".join(ch for ch in account.get("customer_id", "") if ch.isdigit())
    if not customer_id or not account.get("developer_token") or not account.get("access_token"):
        raise PermanentError("Google Ads is not configured (customer id, developer token, access token).")
    operations = [{"remove" if remove else "create": {"userIdentifiers": ids}}
                  for ids in (user_identifiers(customer) for customer in customers) if ids]
    if not operations:
        return 0, 0, ""
    base = f"{conf.get('ENGAGEMENT_GOOGLE_ADS_BASE_URL').rstrip('/')}/{conf.get('ENGAGEMENT_GOOGLE_ADS_API_VERSION')}"
    job = _call(f"{base}/customers/{customer_id}/offlineUserDataJobs:create", {"job": {
        "type": "CUSTOMER_MATCH_USER_LIST",
        "customerMatchUserListMetadata": {
            "userList": f"customers/{customer_id}/userLists/{user_list_id}",
            "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}}}}, account)
    resource = str(job.get("resourceName") or "")
    if not resource.startswith(f"customers/{customer_id}/offlineUserDataJobs/"):
        raise TransientError("Google Ads created no offline user data job.")
    batch = max(1, min(100000, int(conf.get("ENGAGEMENT_GOOGLE_ADS_BATCH"))))
    rejected = 0
    for index in range(0, len(operations), batch):
        answer = _call(f"{base}/{resource}:addOperations",
                       {"enablePartialFailure": True, "operations": operations[index:index + batch]}, account)
        rejected += len(_failed_operations(answer))
    _call(f"{base}/{resource}:run", {}, account)
    return len(operations) - rejected, rejected, resource

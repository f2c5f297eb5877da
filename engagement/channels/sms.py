"""SMS through Twilio's Messages API: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``,
HTTP basic auth (account SID, auth token), form-encoded ``To``, ``From``, ``Body`` and
``StatusCallback``. The answer (201) is the message resource: ``{"sid": "SM...", "status": "queued",
...}``; errors are ``{"code": 21211, "message": "...", "more_info": "...", "status": 400}``. 429
(code 20429) and 5xx are transient, the rest permanent. Delivery arrives on the status callback,
signed with ``X-Twilio-Signature`` (``engagement.services.webhooks``).
"""

from __future__ import annotations

from engagement import conf
from engagement.selectors import provider_config
from engagement.channels.base import OutboundMessage, PermanentError, TransientError, provider_call, \
    retry_after_seconds


def send(message: OutboundMessage) -> str:
    account = provider_config("twilio")
    sid, token, sender = account["account_sid"], account["auth_token"], account["from"]
    if not sid or not token or not sender:
        raise PermanentError("SMS is not configured (ENGAGEMENT_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM).")
    url = f"{conf.get('ENGAGEMENT_TWILIO_BASE_URL').rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    form = {"To": message.to, "From": sender, "Body": message.body}
    if message.status_callback_url:
        form["StatusCallback"] = message.status_callback_url
    response = provider_call("POST", url, data=form, auth=(sid, token))
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code < 300:
        if body.get("sid"):
            return str(body["sid"])
        raise TransientError("Twilio accepted the call but named no message.")
    text = f"Twilio {response.status_code} (code {body.get('code')}): {body.get('message') or response.text[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(text, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    raise PermanentError(text)

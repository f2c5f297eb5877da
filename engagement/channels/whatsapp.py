"""WhatsApp Business Cloud API: template messages (the only kind a business may start a
conversation with), ``POST {base}/{version}/{phone_number_id}/messages`` with a bearer token:

    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5491155550123",
     "type": "template", "template": {"name": "points_earned", "language": {"code": "es"},
     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, ...]}]}}

The answer names the message: ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid...."}]}``; its fate arrives later on the status webhook
(``engagement.services.webhooks``). Errors are ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``: throughput and rate-limit codes (4, 80007, 130429, 131048,
131056) and server errors are transient; the rest (bad number, template not approved, token
expired) permanent.
"""

from __future__ import annotations

from engagement import conf
from engagement.selectors import provider_config
from engagement.channels.base import OutboundMessage, PermanentError, TransientError, provider_call, \
    retry_after_seconds

#: Meta's throughput and rate-limit error codes, and its "try again" ones.
TRANSIENT_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131048, 131056, 133004}
#: Our languages as Meta's template language codes.
LANGUAGE_CODES = {"es": "es", "pt-BR": "pt_BR", "en": "en"}


def payload(message: OutboundMessage) -> dict:
    template = {"name": message.template_name, "language": {"code": LANGUAGE_CODES.get(message.language, "es")}}
    if message.parameters:
        template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": value or "-"}
                                                                  for value in message.parameters]}]
    return {"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "".join(ch for ch in message.to if ch.isdigit()), "type": "template", "template": template}


def send(message: OutboundMessage) -> str:
    account = provider_config("whatsapp")
    phone_number_id, token = account["phone_number_id"], account["token"]
    if not phone_number_id or not token:
        raise PermanentError("WhatsApp is not configured (ENGAGEMENT_WHATSAPP_PHONE_NUMBER_ID, _TOKEN).")
    if not message.template_name:
        raise PermanentError("WhatsApp needs an approved template name on the message template.")
    url = (f"{conf.get('ENGAGEMENT_WHATSAPP_BASE_URL').rstrip('/')}/{conf.get('ENGAGEMENT_WHATSAPP_API_VERSION')}"
           f"/{phone_number_id}/messages")
    response = provider_call("POST", url, json=payload(message), headers={"Authorization": f"Bearer {token}"})
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code < 300 and isinstance(body, dict):
        messages = body.get("messages") or []
        if messages and isinstance(messages[0], dict) and messages[0].get("id"):
            return str(messages[0]["id"])
        raise TransientError("WhatsApp accepted the call but named no message.")
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    code = error.get("code")
    text = f"WhatsApp {response.status_code} (code {code}): {error.get('message') or response.text[:200]}"
    if response.status_code == 429 or response.status_code >= 500 or code in TRANSIENT_CODES:
        raise TransientError(text, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
    raise PermanentError(text)

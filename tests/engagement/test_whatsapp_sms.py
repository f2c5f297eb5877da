"""WhatsApp Cloud API and Twilio SMS end to end against local fakes speaking their formats:
template payloads, provider ids, rate limits retried, status webhooks verified by signature."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from engagement.models import Notification
from engagement.services.notifications import RetryLater, notification_enqueue, notification_send
from engagement.services.webhooks import twilio_signature, whatsapp_signature
from tests.engagement import factories, fakes

HOOK_WHATSAPP = "/api/v1/engagement/hooks/whatsapp/"
HOOK_TWILIO = "/api/v1/engagement/hooks/twilio/"


def _sent(channel: str, **context) -> Notification:
    customer, template = factories.person(consent=(channel,)), factories.template(channel)
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="points.earned",
                                           key="o-1", context={"points": 50, **context})
    assert notification_send(notification_id=notification.pk) == "sent"
    notification.refresh_from_db()
    return notification


def _whatsapp_status(message_id: str, status: str, **extra) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "15550783881",
                                                    "phone_number_id": "106540352242922"},
                                       "statuses": [{"id": message_id, "status": status,
                                                     "timestamp": str(int(time.time())),
                                                     "recipient_id": "5491155550123", **extra}]}}]}]}


def _post_whatsapp(body: dict, secret: str = "meta-app-secret", signature: str | None = None):
    raw = json.dumps(body).encode()
    return Client(HTTP_HOST="alpha.localhost").post(
        HOOK_WHATSAPP, data=raw, content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature if signature is not None else whatsapp_signature(raw, secret))


def test_whatsapp_template_message_and_signed_status_webhooks(in_alpha, whatsapp):
    notification = _sent("whatsapp")

    # the Cloud API got a template message with the body variables as parameters, in order
    request = whatsapp.hits("/messages", "POST")[0]
    assert request.path == "/v21.0/106540352242922/messages"
    body = request.json()
    assert body["to"] == "5491155550123" and body["type"] == "template"
    assert body["template"]["name"] == "points_earned" and body["template"]["language"] == {"code": "es"}
    assert [p["text"] for p in body["template"]["components"][0]["parameters"]] == ["Ana", "50", "Alpha Store"]
    assert notification.provider_message_id == "wamid.TEST000001"

    # delivered, then read: the signed reports move the status forward
    for status in ("delivered", "read"):
        response = _post_whatsapp(_whatsapp_status(notification.provider_message_id, status))
        assert response.status_code == 200 and response.json() == {"applied": 1}
    # a late, duplicated "delivered" never moves it back
    assert _post_whatsapp(_whatsapp_status(notification.provider_message_id, "delivered")).status_code == 200
    notification.refresh_from_db()
    assert notification.status == "read" and notification.delivered_at and notification.read_at


def test_whatsapp_webhook_with_a_bad_or_missing_signature_changes_nothing(in_alpha, whatsapp):
    notification = _sent("whatsapp")
    body = _whatsapp_status(notification.provider_message_id, "failed", errors=[{"code": 131026, "title": "x"}])
    assert _post_whatsapp(body, secret="someone-else").status_code == 403
    assert _post_whatsapp(body, signature="").status_code == 403
    response = _post_whatsapp(body, signature="sha256=" + "0" * 64)
    assert response.status_code == 403 and response.json()["error"]["code"] == "webhook_signature_invalid"
    notification.refresh_from_db()
    assert notification.status == "sent"
    # the genuine report of a failure is applied, with Meta's error
    assert _post_whatsapp(body).json() == {"applied": 1}
    notification.refresh_from_db()
    assert notification.status == "failed" and "131026" in notification.error


def test_whatsapp_subscription_handshake(in_alpha, whatsapp):
    client = Client(HTTP_HOST="alpha.localhost")
    ok = client.get(HOOK_WHATSAPP, {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158"})
    assert ok.status_code == 200 and ok.content == b"1158"
    wrong = client.get(HOOK_WHATSAPP, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403


def test_whatsapp_rate_limit_is_retried_and_a_bad_token_fails(in_alpha, whatsapp, settings):
    customer, template = factories.person(consent=("whatsapp",)), factories.template("whatsapp")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    whatsapp.script("/messages", fakes.WHATSAPP_THROUGHPUT)
    with pytest.raises(RetryLater):
        notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == "queued" and "130429" in notification.error
    assert notification_send(notification_id=notification.pk) == "sent"

    settings.ENGAGEMENT_WHATSAPP_TOKEN = "expired"
    other, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="2")
    assert notification_send(notification_id=other.pk) == "failed"
    other.refresh_from_db()
    assert "190" in other.error and other.attempts == 1


def test_sms_through_twilio_with_signed_status_callback(in_alpha, twilio):
    notification = _sent("sms")
    request = twilio.hits("Messages.json", "POST")[0]
    form = request.form()
    assert form["To"] == "+5491155550123" and form["From"] == "+15005550006"
    assert form["Body"] == "Hola Ana: sumaste 50 puntos en Alpha Store."
    callback = form["StatusCallback"]
    assert callback == "https://alpha.localhost/api/v1/engagement/hooks/twilio/"
    assert notification.provider_message_id.startswith("SM")

    params = {"MessageSid": notification.provider_message_id, "MessageStatus": "delivered",
              "AccountSid": fakes.TWILIO_SID, "To": form["To"], "From": form["From"], "ApiVersion": "2010-04-01"}
    client = Client(HTTP_HOST="alpha.localhost")
    forged = client.post(HOOK_TWILIO, params, HTTP_X_TWILIO_SIGNATURE=twilio_signature(callback, params, "nope"))
    assert forged.status_code == 403
    notification.refresh_from_db()
    assert notification.status == "sent"
    response = client.post(HOOK_TWILIO, params,
                           HTTP_X_TWILIO_SIGNATURE=twilio_signature(callback, params, fakes.TWILIO_TOKEN))
    assert response.status_code == 200 and response.json() == {"applied": 1}
    notification.refresh_from_db()
    assert notification.status == "delivered" and notification.delivered_at


def test_sms_rate_limit_honours_retry_after_and_bad_number_fails(in_alpha, twilio, settings):
    settings.ENGAGEMENT_RETRY_BASE = 0.0
    customer, template = factories.person(consent=("sms",)), factories.template("sms")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    twilio.script("Messages.json", fakes.TWILIO_RATE_LIMITED)
    with pytest.raises(RetryLater) as retry:
        notification_send(notification_id=notification.pk)
    assert retry.value.countdown == 1.0  # Retry-After: 1
    assert notification_send(notification_id=notification.pk) == "sent"

    bad = factories.person(consent=("sms",), phone="12345")
    other, _ = notification_enqueue(customer_id=bad.pk, template_id=template.pk, trigger="t", key="1")
    assert notification_send(notification_id=other.pk) == "failed"
    other.refresh_from_db()
    assert "21211" in other.error


def test_unconfigured_channel_fails_with_a_clear_error(in_alpha, settings):
    settings.ENGAGEMENT_TWILIO_ACCOUNT_SID = ""
    customer, template = factories.person(consent=("sms",)), factories.template("sms")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    assert notification_send(notification_id=notification.pk) == "failed"
    notification.refresh_from_db()
    assert "not configured" in notification.error

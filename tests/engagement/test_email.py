"""E-mail end to end through a real SMTP listener on loopback: consent, suppression, the
unsubscribe headers and link, idempotency, retries and failure."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from celery.exceptions import Retry
from django.test import Client

from customers.selectors.consent import consent_allows
from customers.services.consent import consent_record
from engagement.models import Notification
from engagement.tasks import notification_send_task
from engagement.services.notifications import RetryLater, notification_enqueue, notification_send
from tests.engagement import factories


def test_consented_person_gets_one_email_with_one_click_unsubscribe(in_alpha, smtp, actor,
                                                                    django_capture_on_commit_callbacks):
    # given a person who granted e-mail marketing and a template
    customer, template = factories.person(consent=("email",)), factories.template("email")

    # when the trigger fires (the send task runs on commit, eagerly in tests)
    with django_capture_on_commit_callbacks(execute=True):
        notification, created = notification_enqueue(customer_id=customer.pk, template_id=template.pk,
                                                     trigger="points.earned", key="order-1", context={"points": 120})

    # then one e-mail reached the SMTP server, rendered, with RFC 8058 headers
    assert created
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == customer.email
    assert message["Subject"] == "Ana, tenés 120 puntos" or "120" in str(message["Subject"])
    assert "sumaste 120 puntos en Alpha Store" in message.get_payload(decode=True).decode()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = "".join(str(message["List-Unsubscribe"]).split()).strip("<>")  # a long header may be folded
    assert link.startswith("https://alpha.localhost/customers/unsubscribe/")
    notification.refresh_from_db()
    assert notification.status == "sent" and notification.provider_message_id == message["Message-ID"]
    assert notification.recipient == customer.email and notification.attempts == 1

    # when the same event is delivered again, nothing more is sent
    with django_capture_on_commit_callbacks(execute=True):
        again, created = notification_enqueue(customer_id=customer.pk, template_id=template.pk,
                                               trigger="points.earned", key="order-1", context={"points": 120})
    assert not created and again.pk == notification.pk and len(smtp.messages) == 1

    # when the person uses the one-click link (the mail provider's POST), consent is withdrawn and logged
    response = Client(HTTP_HOST="alpha.localhost").post(urlsplit(link).path, data="List-Unsubscribe=One-Click",
                                                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not consent_allows(customer_id=customer.pk, channel="email", purpose="marketing")
    # then the next trigger is suppressed and counted, not sent
    with django_capture_on_commit_callbacks(execute=True):
        later, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="points.earned",
                                        key="order-2")
    assert (later.status, later.error) == ("suppressed", "no_consent") and len(smtp.messages) == 1


def test_without_marketing_consent_it_is_suppressed_but_transactional_goes(in_alpha, smtp,
                                                                           django_capture_on_commit_callbacks):
    customer = factories.person(consent=())
    marketing, receipt = factories.template("email"), factories.template("email", purpose="transactional",
                                                                         name="receipt")
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = notification_enqueue(customer_id=customer.pk, template_id=marketing.pk, trigger="t", key="1")
        second, _ = notification_enqueue(customer_id=customer.pk, template_id=receipt.pk, trigger="t", key="2")
    second.refresh_from_db()
    assert first.status == "suppressed" and second.status == "sent"
    assert len(smtp.messages) == 1


def test_no_address_is_suppressed(in_alpha, smtp):
    customer = factories.person(consent=("email",), email=None)
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=factories.template("email").pk,
                                           trigger="t", key="1")
    assert (notification.status, notification.error) == ("suppressed", "no_address")


def test_consent_withdrawn_while_queued_wins(in_alpha, smtp, actor):
    customer, template = factories.person(consent=("email",)), factories.template("email")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=False, source="api",
                   actor=actor)
    assert notification_send(notification_id=notification.pk) == "suppressed"
    assert smtp.messages == []


def test_transient_smtp_refusals_are_retried_then_sent(in_alpha, smtp):
    customer, template = factories.person(consent=("email",)), factories.template("email")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    smtp.refuse(customer.email, "451 4.7.1 Rate limited, try later", "452 4.5.3 Too many recipients")

    for _ in range(2):
        with pytest.raises(RetryLater):
            notification_send(notification_id=notification.pk)
        notification.refresh_from_db()
        assert notification.status == "queued" and notification.next_attempt_at and "SMTP 45" in notification.error
    assert notification_send(notification_id=notification.pk) == "sent"
    notification.refresh_from_db()
    assert notification.attempts == 3 and notification.error == "" and len(smtp.messages) == 1


def test_a_failing_provider_is_retried_then_marked_failed(in_alpha, smtp, django_capture_on_commit_callbacks):
    customer, template = factories.person(consent=("email",)), factories.template("email")
    smtp.refuse(customer.email, *["421 4.3.2 Service not available"] * 5)
    # the first attempt (the task, on commit) fails for now and asks Celery for a retry with backoff
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t",
                                               key="1")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("queued", 1) and notification.next_attempt_at
    # the worker runs the retries; the last allowed attempt (ENGAGEMENT_MAX_ATTEMPTS = 3) marks it failed
    with pytest.raises(Retry):
        notification_send_task.apply(kwargs={"notification_id": notification.pk})
    assert notification_send_task.apply(kwargs={"notification_id": notification.pk}).get() == "failed"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.failed_at and "421" in notification.error and smtp.messages == []
    # and a further redelivery of the task does nothing
    assert notification_send_task.apply(kwargs={"notification_id": notification.pk}).get() is None


def test_refused_address_fails_at_once(in_alpha, smtp):
    customer, template = factories.person(consent=("email",)), factories.template("email")
    smtp.refuse(customer.email, "550 5.1.1 No such user")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    assert notification_send(notification_id=notification.pk) == "failed"
    notification.refresh_from_db()
    assert notification.attempts == 1 and "550" in notification.error


def test_unreachable_smtp_server_is_transient(in_alpha, settings):
    settings.CDP_SMTP_URL = "smtp://127.0.0.1:9"  # nothing listens on discard
    customer, template = factories.person(consent=("email",)), factories.template("email")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    with pytest.raises(RetryLater):
        notification_send(notification_id=notification.pk)
    assert Notification.objects.get(pk=notification.pk).status == "queued"


def test_a_misconfigured_smtp_url_fails_the_message_with_a_clear_error(in_alpha, settings):
    settings.CDP_SMTP_URL = "http://not-smtp"
    customer, template = factories.person(consent=("email",)), factories.template("email")
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")
    assert notification_send(notification_id=notification.pk) == "failed"
    assert "CDP_SMTP_URL" in Notification.objects.get(pk=notification.pk).error

"""Sending guards (issue #16): frequency cap, quiet hours in the person's or tenant's time zone,
and the tenant's monthly send quota, each a reason kept on the notification."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from cdp.exceptions import ApplicationError

from engagement.models import EngagementSettings, Notification, SendCounter
from engagement.services.guards import quiet_hours_wait, quota_used
from engagement.services.notifications import RetryLater, notification_enqueue, notification_send
from engagement.services.settings import engagement_settings_update
from tests.engagement import factories


def send(customer, template, key, *, trigger="campaign"):
    notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger=trigger, key=key)
    try:
        notification_send(notification_id=notification.pk)
    except RetryLater:
        pass
    notification.refresh_from_db()
    return notification


def test_frequency_cap_suppresses_marketing_past_the_cap_but_not_transactional(in_alpha, smtp, actor):
    # given a cap of two marketing e-mails per person per day
    engagement_settings_update(actor=actor, frequency_cap=2, frequency_window_hours=24)
    customer = factories.person(consent=("email",))
    marketing = factories.template("email")
    receipt = factories.template("email", purpose="transactional", name="receipt")

    # when three marketing messages and a receipt go out
    outcomes = [send(customer, marketing, f"promo-{n}") for n in range(3)]
    receipt_sent = send(customer, receipt, "order-1", trigger="order")

    # then the third is suppressed with its reason; the receipt is not capped
    assert [(n.status, n.error) for n in outcomes] == [("sent", ""), ("sent", ""), ("suppressed", "frequency_cap")]
    assert receipt_sent.status == "sent"
    assert len(smtp.messages) == 3

    # another person is not affected, and neither is another channel of the same person
    other = factories.person(consent=("email",), email="other@example.com")
    assert send(other, marketing, "promo-0").status == "sent"


def test_quiet_hours_hold_marketing_until_they_end_in_the_persons_time_zone(in_alpha, smtp, actor):
    # given quiet hours around the present moment in Tokyo, and a person who lives there
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    local = timezone.now().astimezone(tokyo)
    start = (local - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    engagement_settings_update(actor=actor, quiet_hours_start=start, quiet_hours_end=end)
    sleeper = factories.person(consent=("email",), metadata={"timezone": "Asia/Tokyo"})
    template = factories.template("email")

    # when a marketing message is sent now
    notification, _ = notification_enqueue(customer_id=sleeper.pk, template_id=template.pk, trigger="campaign",
                                           key="night")
    with pytest.raises(RetryLater) as waited:
        notification_send(notification_id=notification.pk)

    # then it waits (queued, with its reason, not an attempt) until the quiet hours end, about an hour
    notification.refresh_from_db()
    assert (notification.status, notification.error, notification.attempts) == ("queued", "quiet_hours", 0)
    assert 0 < waited.value.countdown <= 3600 + 60
    assert smtp.messages == []
    # a transactional message is not held
    receipt = factories.template("email", purpose="transactional", name="receipt")
    assert send(sleeper, receipt, "order-9", trigger="order").status == "sent"


def test_quiet_hours_across_midnight_and_the_tenants_zone():
    rules = EngagementSettings(quiet_hours_start=datetime.time(22), quiet_hours_end=datetime.time(8))
    utc = zoneinfo.ZoneInfo("UTC")
    at = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=utc)
    assert quiet_hours_wait(rules, now=at, tz=utc) == 8.5 * 3600
    assert quiet_hours_wait(rules, now=at.replace(hour=7), tz=utc) == 1800
    assert quiet_hours_wait(rules, now=at.replace(hour=12), tz=utc) is None
    # 23:30 UTC is 20:30 in Buenos Aires: not quiet there
    assert quiet_hours_wait(rules, now=at, tz=zoneinfo.ZoneInfo("America/Argentina/Buenos_Aires")) is None


def test_monthly_quota_suppresses_past_it_and_failed_sends_do_not_count(in_alpha, smtp, actor):
    # given a quota of two messages a month
    engagement_settings_update(actor=actor, monthly_send_quota=2)
    template = factories.template("email")
    people = [factories.person(consent=("email",), email=f"q{n}@example.com") for n in range(3)]
    nobody = factories.person(consent=(), email="no-consent@example.com")

    # when a message without consent, then three consented ones go
    assert send(nobody, template, "a").error == "no_consent"
    outcomes = [send(person, template, "a") for person in people]

    # then two are sent and the third is suppressed for the quota; the suppressed ones took nothing
    assert [(n.status, n.error) for n in outcomes] == [("sent", ""), ("sent", ""), ("suppressed", "quota_exceeded")]
    assert quota_used(now=timezone.now()) == 2 and SendCounter.objects.count() == 1
    assert len(smtp.messages) == 2


def test_quota_is_given_back_when_the_provider_refuses(in_alpha, smtp, actor):
    engagement_settings_update(actor=actor, monthly_send_quota=1)
    template = factories.template("email")
    refused = factories.person(consent=("email",), email="refused@example.com")
    smtp.refuse("refused@example.com", "550 No such user")
    assert send(refused, template, "a").status == "failed"
    assert quota_used(now=timezone.now()) == 0
    assert send(factories.person(consent=("email",), email="ok@example.com"), template, "a").status == "sent"


def test_settings_refuse_half_quiet_hours(in_alpha, actor):
    with pytest.raises(ApplicationError) as refused:
        engagement_settings_update(actor=actor, quiet_hours_start=datetime.time(22))
    assert "quiet_hours_end" in refused.value.fields
    with pytest.raises(ApplicationError) as refused:
        engagement_settings_update(actor=actor, frequency_window_hours=0)
    assert "frequency_window_hours" in refused.value.fields
    assert not Notification.objects.exists()

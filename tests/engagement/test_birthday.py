"""Birthday trigger (issue #16): today's birthdays in the tenant's time zone, once a year each."""

from __future__ import annotations

import datetime

from engagement.models import Notification, TriggerRule
from engagement.services.triggers import birthday_triggers_fire, trigger_rule_create
from tests.engagement import factories


def test_birthdays_get_one_message_a_year(in_alpha, smtp, actor, django_capture_on_commit_callbacks):
    # given a birthday rule, a person born on 7 March, one born on 29 February, and one not today
    template = factories.template("email", name="birthday", body="¡Feliz cumpleaños, {{ first_name }}!")
    rule = trigger_rule_create(event=TriggerRule.Event.BIRTHDAY, template_id=template.pk, actor=actor)
    march = factories.person(consent=("email",), email="march@example.com", birth_date=datetime.date(1990, 3, 7))
    leap = factories.person(consent=("email",), email="leap@example.com", birth_date=datetime.date(1992, 2, 29))
    factories.person(consent=("email",), email="other@example.com", birth_date=datetime.date(1990, 3, 8))

    # when the daily task runs on 7 March, twice
    with django_capture_on_commit_callbacks(execute=True):
        assert birthday_triggers_fire(today=datetime.date(2026, 3, 7)) == 1
        assert birthday_triggers_fire(today=datetime.date(2026, 3, 7)) == 0

    # then one greeting went, keyed by the year
    sent = Notification.objects.get(trigger=f"rule:{rule.pk}", customer=march)
    assert sent.key == "birthday:2026" and sent.status == "sent" and len(smtp.messages) == 1

    # a 29 February birthday is celebrated on 28 February in a common year
    assert birthday_triggers_fire(today=datetime.date(2026, 2, 28)) == 1
    assert Notification.objects.filter(customer=leap, key="birthday:2026").exists()
    # and next year, again
    assert birthday_triggers_fire(today=datetime.date(2027, 3, 7)) == 1

from __future__ import annotations

from cdp.context import Actor
from customers.services.consent import consent_record
from engagement.services.templates import message_template_create
from tests.customers.factories import CustomerFactory

ACTOR = Actor.system("tests")


def template(channel: str = "email", purpose: str = "marketing", **overrides):
    values = {"name": f"points-{channel}", "channel": channel, "purpose": purpose, "language": "es",
              "subject": "{{ first_name }}, tenés {{ points }} puntos",
              "body": "Hola {{ first_name }}: sumaste {{ points }} puntos en {{ tenant_name }}.",
              "whatsapp_template": "points_earned" if channel == "whatsapp" else ""}
    values.update(overrides)
    return message_template_create(actor=ACTOR, **values)


def person(*, consent: tuple[str, ...] = ("email", "whatsapp", "sms"), purpose: str = "marketing", **fields):
    customer = CustomerFactory(**{"first_name": "Ana", "phone": "+5491155550123", **fields})
    for channel in consent:
        consent_record(customer_id=customer.pk, channel=channel, purpose=purpose, granted=True, source="api",
                       actor=ACTOR, ip_address="203.0.113.1")
    return customer

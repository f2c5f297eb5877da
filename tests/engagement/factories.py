from __future__ import annotations

from cdp.context import Actor
from customers.services.consent import consent_record
from engagement.services.campaigns import campaign_create
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


def CampaignFactory(*, segment_id: int, name: str = "Win-back", **template_overrides):  # noqa: N802 (a factory)
    """A draft campaign to ``segment_id`` with a new e-mail template."""
    return campaign_create(name=name, segment_id=segment_id, template_id=template("email", **template_overrides).pk,
                           actor=ACTOR)

"""Message templates: each save is a new version (notifications keep the one they were sent
with), and a preview renders a version for a real customer."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from cdp.ids import get_or_not_found
from customers.models import ConsentChannel, ConsentPurpose, Customer
from engagement.codes import AuditAction, ErrorCode
from engagement.models import Language, MessageTemplate
from engagement.rendering import VARIABLES, render, unknown_placeholders
from engagement.services.common import audit, tenant_name


def _validate(*, name: str, channel: str, purpose: str, language: str, subject: str, body: str,
              whatsapp_template: str) -> None:
    fields: dict[str, list[str]] = {}
    if not name.strip():
        fields["name"] = ["Give the template a name."]
    if channel not in ConsentChannel.values:
        fields["channel"] = [f"One of {', '.join(ConsentChannel.values)}."]
    if purpose not in ConsentPurpose.values:
        fields["purpose"] = [f"One of {', '.join(ConsentPurpose.values)}."]
    if language not in Language.values:
        fields["language"] = [f"One of {', '.join(Language.values)}."]
    if not body.strip():
        fields["body"] = ["The message needs a text."]
    if channel == ConsentChannel.EMAIL and not subject.strip():
        fields["subject"] = ["An e-mail needs a subject."]
    if channel == ConsentChannel.WHATSAPP and not whatsapp_template.strip():
        fields["whatsapp_template"] = ["WhatsApp sends only templates Meta approved: give its name."]
    for field, text in (("subject", subject), ("body", body)):
        unknown = unknown_placeholders(text)
        if unknown:
            fields.setdefault(field, []).append(
                f"Unknown variable(s): {', '.join(unknown)}. Known: {', '.join(VARIABLES)}.")
    if fields:
        code = ErrorCode.TEMPLATE_VARIABLE_UNKNOWN if any("Unknown variable" in m for ms in fields.values()
                                                           for m in ms) else ErrorCode.TEMPLATE_INVALID
        raise ApplicationError("The template is not valid.", code=code, fields=fields)


@transaction.atomic
def message_template_create(*, name: str, channel: str, body: str, actor: Actor, purpose: str = "marketing",
                            language: str = "es", subject: str = "", whatsapp_template: str = "") -> MessageTemplate:
    """Save a template; the same name, channel and language as an existing one makes its next version."""
    _validate(name=name, channel=channel, purpose=purpose, language=language, subject=subject, body=body,
              whatsapp_template=whatsapp_template)
    siblings = MessageTemplate.objects.select_for_update().filter(name=name.strip(), channel=channel, language=language)
    version = (siblings.aggregate(top=Max("version"))["top"] or 0) + 1
    template = MessageTemplate.objects.create(
        name=name.strip(), channel=channel, purpose=purpose, language=language, version=version,
        subject=subject.strip(), body=body, whatsapp_template=whatsapp_template.strip(), created_by=actor.label)
    audit(actor=actor, action=AuditAction.TEMPLATE_CREATE if version == 1 else AuditAction.TEMPLATE_VERSION,
          resource_type="message_template", resource_id=template.pk,
          changes={"name": [None, template.name], "version": [version - 1 or None, version]})
    return template


def message_template_preview(*, template_id, customer_id, context: dict | None = None) -> dict:
    """The template rendered for a real customer (no message is stored or sent)."""
    template = get_or_not_found(MessageTemplate, template_id, "Template not found.")
    customer = get_or_not_found(Customer, customer_id, "Customer not found.")
    values = {"first_name": customer.first_name, "last_name": customer.last_name,
              "name": " ".join(part for part in (customer.first_name, customer.last_name) if part),
              "tenant_name": tenant_name(), "unsubscribe_url": "#unsubscribe", **(context or {})}
    return {"subject": render(template.subject, values), "body": render(template.body, values)}

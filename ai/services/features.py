"""AI features a marketer uses. Each is a master prompt (seeded by migration 0002, versioned and
A/B-split by operators), a JSON schema its answer must match, and one call to ``ai_task_submit``:
the provider is called by the worker, never by the web request."""

from __future__ import annotations

from ai.models import ProcessedTask
from ai.services.tasks import ai_task_submit
from cdp.context import Actor
from tenants.models import Tenant

MESSAGE_DRAFT = "message-draft"
CHANNELS = ("email", "sms", "whatsapp")
LANGUAGES = ("en", "es", "pt")
GOALS = ("win-back", "welcome", "upsell", "reactivation")

MESSAGE_DRAFT_SCHEMA = {
    "type": "object",
    "required": ["subject", "body"],
    "properties": {
        "subject": {"type": "string", "maxLength": 150},
        "body": {"type": "string", "minLength": 1, "maxLength": 2000},
    },
}


def message_draft_request(*, tenant: Tenant, actor: Actor, segment: str, channel: str, language: str,
                          goal: str = "win-back", description: str = "", offer: str = "") -> ProcessedTask:
    """Queue a message draft (``{"subject", "body"}``) for a segment and a channel in the tenant's
    language. Only what the marketer typed about the segment is sent: no customer's data."""
    return ai_task_submit(tenant=tenant, actor=actor, feature=MESSAGE_DRAFT, language=language,
                          schema=MESSAGE_DRAFT_SCHEMA,
                          variables={"segment": segment, "description": description, "channel": channel,
                                     "goal": goal, "offer": offer, "brand": tenant.name})

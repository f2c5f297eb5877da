"""Segment from a sentence: a marketer describes customers in words, the model answers segment
rules in analytics' rule grammar, the person sees them as a sentence with a live count and saves
them as an ordinary segment.

The rules are never used unvalidated: the answer must match the grammar's JSON schema
(``analytics.rules.rules_json_schema``) and then pass the rule compiler (``rules_to_q``) in the
worker (``register_output_check``, a refused answer fails the task without output); the count and
the saved segment go through analytics' own services, which validate them once more.

The AI mesh sits above analytics (it imports analytics' rules and services; analytics never
imports ai), so no registry hook is needed in this direction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ai.codes import AuditAction, ErrorCode
from ai.models import ProcessedTask
from ai.selectors import SEGMENT_DRAFT
from ai.services.tasks import ai_task_submit
from analytics.models import Segment
from analytics.rules import FIELDS, OPERATORS, rules_json_schema, rules_to_q
from analytics.services import segment_create
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from tenants.models import Tenant
from tenants.services import audit_record

LANGUAGES = ("en", "es", "pt")
MAX_TEXT = 500


def segment_draft_schema() -> dict:
    """What the model must answer: ``{"rules": <a rule group>}``."""
    grammar = rules_json_schema()
    return {"$schema": grammar["$schema"], "$defs": grammar["$defs"], "type": "object", "required": ["rules"],
            "properties": {"rules": {"$ref": "#/$defs/group"}}}


def grammar_text() -> str:
    """The fields, their value types and operators, one line each, for the prompt."""
    lines = []
    for field, (_, kind, choices) in sorted(FIELDS.items()):
        values = f"one of {', '.join(choices)}" if choices else {
            "str": "text", "int": "whole number", "number": "number", "date": "date YYYY-MM-DD",
            "days_ago": "days before today (0 or more)", "bool": "true or false", "tag": "a tag"}[kind]
        lines.append(f"- {field}: {values}; operators: {', '.join(OPERATORS[kind])}")
    return "\n".join(lines)


def segment_rules_check(output) -> None:
    """The worker's check of an answer (registered for ``segment-draft``): the rule compiler's."""
    rules_to_q((output or {}).get("rules") if isinstance(output, dict) else None)


def segment_draft_request(*, tenant: Tenant, actor: Actor, text: str, language: str) -> ProcessedTask:
    """Queue a segment draft for ``text`` (metered like every AI task; the worker calls the
    provider). Personal data in the text is scrubbed unless the tenant allows it."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Describe the customers you want.", fields={"text": ["Required."]})
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"At most {MAX_TEXT} characters.", fields={"text": [f"At most {MAX_TEXT} characters."]})
    if language not in LANGUAGES:
        raise ApplicationError("Unknown language.", fields={"language": [f"One of {', '.join(LANGUAGES)}."]})
    return ai_task_submit(tenant=tenant, actor=actor, feature=SEGMENT_DRAFT, language=language,
                          schema=segment_draft_schema(), variables={"text": text, "grammar": grammar_text()})


@transaction.atomic
def segment_draft_confirm(*, tenant: Tenant, actor: Actor, task_id, name: str, description: str = "") -> Segment:
    """Save a finished draft's rules as an ordinary segment (analytics validates the rules again and
    materializes the members). A draft is saved once."""
    task = get_or_not_found(ProcessedTask.objects.filter(tenant=tenant, feature=SEGMENT_DRAFT), task_id,
                            "No such segment draft.", lock=True)
    if task.status != ProcessedTask.Status.SUCCEEDED or not isinstance(task.output_json, dict):
        raise Conflict("This draft has no rules to save (it is not finished, or it failed).",
                       code=ErrorCode.DRAFT_NOT_READY)
    if task.outcome == ProcessedTask.Outcome.ACCEPTED:
        raise Conflict("This draft was already saved as a segment.", code=ErrorCode.DRAFT_ALREADY_SAVED)
    segment = segment_create(name=name, rules=task.output_json["rules"], description=description, actor=actor,
                             tenant=tenant)
    # The A/B outcome of the prompt version (``prompt_results``) and what ROI counts as work done.
    task.outcome, task.outcome_at = ProcessedTask.Outcome.ACCEPTED, timezone.now()
    task.save(update_fields=["outcome", "outcome_at", "updated_at"])
    audit_record(actor=actor, action=AuditAction.SEGMENT_DRAFT_SAVE, resource_type="ai_task", resource_id=task.pk,
                 tenant=tenant, changes={"segment_id": segment.pk, "name": segment.name})
    return segment

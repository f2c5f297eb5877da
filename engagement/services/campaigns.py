"""Campaigns: a template sent once to a segment's members, consent-aware, throttled, with
progress read from the notifications (``engagement.selectors.campaign_counts``).

``campaign_send`` only flips the campaign to ``sending`` and queues the fan-out; the worker reads
the segment's members in chunks, stores their notifications (suppressed without consent or
address, queued otherwise: ``notifications_enqueue_bulk``) and schedules the sends at
ENGAGEMENT_SEND_RATE. The key of every notification is the campaign, so a fan-out that runs twice
(a redelivered task) adds nobody twice.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from analytics.models import Segment, SegmentMembership
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue_on_commit
from customers.selectors.consent import consent_allowed_ids
from engagement.codes import AuditAction, ErrorCode
from engagement.models import Campaign, MessageTemplate
from engagement.services.common import audit
from engagement.services.notifications import notifications_enqueue_bulk, notifications_schedule

FAN_OUT_TASK = "engagement.tasks.campaign_fan_out_task"
CHUNK = 1000
TRIGGER = "campaign"


def campaign_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def _member_ids(segment_id: int):
    return SegmentMembership.objects.filter(segment_id=segment_id).order_by("customer_id") \
        .values_list("customer_id", flat=True)


@transaction.atomic
def campaign_create(*, name: str, segment_id, template_id, actor: Actor) -> Campaign:
    """A draft campaign of ``template_id`` to the members of ``segment_id``."""
    if not (name or "").strip():
        raise ApplicationError("Give the campaign a name.", fields={"name": ["Give the campaign a name."]})
    segment = get_or_not_found(Segment, segment_id, "Segment not found.")
    template = get_or_not_found(MessageTemplate, template_id, "Template not found.")
    campaign = Campaign.objects.create(name=name.strip(), segment_id=segment.pk, template=template,
                                       created_by=actor.label)
    audit(actor=actor, action=AuditAction.CAMPAIGN_CREATE, resource_type="campaign", resource_id=campaign.pk,
          changes={"name": [None, campaign.name], "segment_id": [None, segment.pk], "template_id": [None, template.pk]})
    return campaign


def campaign_preview(*, campaign_id) -> dict:
    """Who the campaign would reach now: segment members, those with consent for the template's
    channel and purpose (and not blocked or erased), and the rest (suppressed)."""
    campaign = get_or_not_found(Campaign.objects.select_related("template"), campaign_id, "Campaign not found.")
    members = list(_member_ids(campaign.segment_id))
    reachable = 0
    for index in range(0, len(members), CHUNK):
        reachable += len(consent_allowed_ids(customer_ids=members[index:index + CHUNK],
                                             channel=campaign.template.channel, purpose=campaign.template.purpose))
    return {"audience": len(members), "consented": reachable, "suppressed": len(members) - reachable}


@transaction.atomic
def campaign_send(*, campaign_id, actor: Actor) -> Campaign:
    """Start sending a draft campaign (409 ``campaign_not_draft`` otherwise); the worker fans out."""
    campaign = get_or_not_found(Campaign, campaign_id, "Campaign not found.", lock=True)
    if campaign.status != Campaign.Status.DRAFT:
        raise Conflict(f"This campaign is {campaign.status}; only a draft can be sent.",
                       code=ErrorCode.CAMPAIGN_NOT_DRAFT)
    campaign.status, campaign.started_at = Campaign.Status.SENDING, timezone.now()
    campaign.audience_size = _member_ids(campaign.segment_id).count()
    campaign.save(update_fields=["status", "started_at", "audience_size", "updated_at"])
    audit(actor=actor, action=AuditAction.CAMPAIGN_SEND, resource_type="campaign", resource_id=campaign.pk,
          changes={"status": [Campaign.Status.DRAFT, Campaign.Status.SENDING], "audience": campaign.audience_size})
    enqueue_on_commit(FAN_OUT_TASK, campaign_id=campaign.pk)
    return campaign


def campaign_fan_out(*, campaign_id: int) -> dict:
    """Store a notification per segment member (chunk by chunk, each its own transaction) and
    schedule the queued ones; the campaign is ``sent`` when every member has one."""
    campaign = Campaign.objects.select_related("template").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return {"skipped": campaign.status}
    members = list(_member_ids(campaign.segment_id))
    queued = 0
    for index in range(0, len(members), CHUNK):
        with transaction.atomic():
            ids = notifications_enqueue_bulk(customer_ids=members[index:index + CHUNK], template=campaign.template,
                                              trigger=TRIGGER, key=campaign_key(campaign.pk), campaign_id=campaign.pk)
        notifications_schedule(ids)
        queued += len(ids)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT, updated_at=timezone.now())
    return {"members": len(members), "queued": queued}

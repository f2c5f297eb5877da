"""Erasure of what the integrations app keeps about a person.

The customers app pseudonymizes the profile and calls ``integrations_erase`` through its erasure
registry (``customers.registry.register_erasure_handler``; customers never imports integrations),
inside the same transaction: the person's copies here disappear atomically with the profile, or
the whole erasure fails and nothing changes.

What is scrubbed (values identifying the person become null; structure, ids, amounts, statuses stay):

- raw VTEX and MercadoLibre payloads of the person's orders (matched by order id, and for
  MercadoLibre by pack id), and any other raw payload quoting the person's email, document, phone
  or external id (an order rejected at ingest);
- webhook deliveries about the person (``data.customer_id``, ``data.merged_ids``,
  ``data.order_id``) and any delivery quoting them: the payload we sent and the receiver's
  answer (``response_body``), which echoes it more often than not;
- sync logs' rejection reports and errors quoting the person.

A re-fetch of an erased person's order keeps the scrubbed payload
(``integrations.services.raw``).

Cost: rows not linked by id are found with ``ILIKE`` over the payload's text, one sequential pass
over the raw and delivery tables per erasure, with only the person's few identifiers as patterns
(names and streets are checked on the linked rows only). On a tenant with millions of raw
orders that pass takes seconds; a trigram index on ``payload::text`` would make it an index scan
if erasures ever become frequent."""

from __future__ import annotations

from django.db.models import Q

from integrations.models import MercadoLibreOrder, SyncLog, VtexOrder, WebhookDelivery

#: Keys of our webhook envelopes holding our own (pseudonymous) ids and labels, kept as they are.
OUR_IDS = ("id", "event", "tenant", "customer_id", "order_id", "merged_ids", "survivor_id", "merge_id",
           "outcome", "fields", "source", "endpoint_id", "segment_id")


def _mentioning(field: str, terms) -> Q:
    query = Q(pk__in=[])
    for term in terms:
        query |= Q(**{f"{field}__icontains": term})
    return query


def integrations_erase(*, erasure) -> int:
    """Scrub the person's raw payloads, webhook bodies and sync reports. Returns rows changed."""
    changed = 0
    vtex_ids = [ext for source, ext in erasure.orders if source == "vtex"]
    ml_ids = [ext for source, ext in erasure.orders if source == "mercadolibre"]
    ml_packs = [ext.removeprefix("pack-") for ext in ml_ids if ext.startswith("pack-")]
    raw_sets = (
        (VtexOrder, Q(order_id__in=vtex_ids)),
        (MercadoLibreOrder, Q(order_id__in=ml_ids) | Q(pack_id__in=ml_packs)),
    )
    for model, linked in raw_sets:
        for row in model.objects.filter(linked | _mentioning("payload", erasure.identifiers)).only("id", "payload"):
            payload = erasure.scrub_json(row.payload)
            if payload != row.payload:
                model.objects.filter(pk=row.pk).update(payload=payload)
                changed += 1

    ids = list(erasure.customer_ids)
    about = (Q(payload__data__customer_id__in=ids) | Q(payload__data__order_id__in=list(erasure.order_ids))
             | Q(payload__data__survivor_id__in=ids))
    for customer_id in ids:
        about |= Q(payload__data__merged_ids__contains=[customer_id])
    deliveries = WebhookDelivery.objects.filter(
        about | _mentioning("payload", erasure.identifiers) | _mentioning("response_body", erasure.identifiers))
    for delivery in deliveries.only("id", "payload", "response_body", "error"):
        values = {"payload": erasure.scrub_json(delivery.payload, keep=OUR_IDS),
                  "response_body": erasure.scrub_text(delivery.response_body),
                  "error": erasure.scrub_text(delivery.error)}
        if any(getattr(delivery, key) != value for key, value in values.items()):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**values)
            changed += 1

    logs = SyncLog.objects.filter(_mentioning("rejections", erasure.terms) | _mentioning("error", erasure.terms))
    for log in logs.only("id", "rejections", "error"):
        values = {"rejections": erasure.scrub_json(log.rejections), "error": erasure.scrub_text(log.error)}
        if any(getattr(log, key) != value for key, value in values.items()):
            SyncLog.objects.filter(pk=log.pk).update(**values)
            changed += 1
    return changed

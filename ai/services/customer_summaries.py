"""Customer summary on the Customer 360: a few sentences for a marketer about one customer, built
only from the profile's non-identifying facts, the orders and the scores.

- Never personal or masked data: no name, e-mail, phone, document, birth date, notes, address or
  external id is put in the prompt, whatever the viewer may see (the customer is ``customer #id``);
  the summary is therefore the same for every reader of the 360 and one cached answer serves all.
- Cached per customer version: the inputs are hashed (``input_hash``); while the profile, orders
  and scores are unchanged a request returns the answer (or the running task) it already has and
  nothing is called or metered again. A changed customer gets a new summary on request; the old
  one is shown as out of date meanwhile.
- Metered like every AI task (license ``ai_requests``, the tenant's budget), run by the worker.
- Erasure (``customers.registry.register_erasure_handler("ai", ...)``) empties the cached inputs
  and answers of the person's summaries; their costs stay for billing.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.utils import timezone

from ai.models import ProcessedTask
from ai.selectors import CUSTOMER_SUMMARY, SUMMARY_LANGUAGES, SUMMARY_SCHEMA, customer_summary_facts, facts_hash, \
    subject_of
from ai.services.tasks import ai_task_submit
from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from cdp.ids import parse_id
from customers.models import Customer
from tenants.models import Tenant



def _customer(customer_id) -> Customer:
    customer = Customer.objects.filter(pk=parse_id(customer_id)).exclude(status=Customer.Status.MERGED).first() \
        if parse_id(customer_id) is not None else None
    if customer is None:
        raise NotFound("Customer not found.")
    if customer.is_pseudonymized:
        raise ApplicationError("This customer was erased: there is nothing to summarize.",
                               fields={"customer_id": ["Erased."]})
    return customer


def _language(tenant: Tenant) -> str:
    language = (tenant.setting("language") or "en")[:2]
    return language if language in SUMMARY_LANGUAGES else "en"


def customer_summary_request(*, tenant: Tenant, actor: Actor, customer_id) -> tuple[ProcessedTask, bool]:
    """The summary task for the customer as they are now, and whether it is a new one: the cached
    answer (or the task already on its way) for the same inputs, else a new queued task."""
    customer = _customer(customer_id)
    language = _language(tenant)
    facts = customer_summary_facts(customer=customer)
    digest = facts_hash(facts, language)
    with transaction.atomic():
        existing = (ProcessedTask.objects.filter(tenant=tenant, feature=CUSTOMER_SUMMARY, subject=subject_of(customer.pk),
                            input_hash=digest)
                    .exclude(status=ProcessedTask.Status.FAILED).order_by("-created_at", "-id").first())
        if existing is not None:
            return existing, False
        task = ai_task_submit(tenant=tenant, actor=actor, feature=CUSTOMER_SUMMARY, language=language,
                              schema=SUMMARY_SCHEMA, variables={"facts": json.dumps(facts, ensure_ascii=False)},
                              subject=subject_of(customer.pk), input_hash=digest)
    return task, True


def customer_summary_erase(*, erasure) -> int:
    """Erasure handler: the person's summaries lose their inputs and answers (costs are kept)."""
    tenant = connection.tenant
    return ProcessedTask.objects.filter(
        tenant_id=tenant.pk, feature=CUSTOMER_SUMMARY,
        subject__in=[subject_of(customer_id) for customer_id in erasure.customer_ids],
    ).update(variables={}, output_text="", output_json=None, prompt_text="", subject="", input_hash="",
             updated_at=timezone.now())

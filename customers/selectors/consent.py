"""Reads of consent: the answers of one person, their history, and the question every send asks
("may we contact this person on this channel for this purpose?"), one by one or in bulk.

The default when nothing was recorded: marketing needs a recorded grant (opt-in, LGPD art. 7 /
GDPR art. 6(1)(a)); transactional messages go out unless the person withdrew them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from customers.models import Consent, ConsentChannel, ConsentEvent, ConsentPurpose, Customer

#: Profiles nobody contacts: a blocked person, and a record merged into another one.
UNREACHABLE = (Customer.Status.BLOCKED, Customer.Status.MERGED)
#: The answer when no consent is recorded, per purpose.
DEFAULT_GRANTED = {ConsentPurpose.MARKETING: False, ConsentPurpose.TRANSACTIONAL: True}


def consent_list(*, customer_id: int) -> QuerySet[Consent]:
    """The person's recorded answers, one per channel and purpose."""
    return Consent.objects.filter(customer_id=customer_id).order_by("channel", "purpose")


def consent_history(*, customer_id: int) -> QuerySet[ConsentEvent]:
    """Every recorded change of the person's consents, newest first, with its proof."""
    return ConsentEvent.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")


def consent_allows(*, customer_id: int, channel: str, purpose: str) -> bool:
    """Whether the person may be contacted on ``channel`` for ``purpose`` now. An erased or merged
    or blocked profile never may (the survivor's consents are the person's)."""
    customer = Customer.objects.filter(pk=customer_id).only("id", "status", "is_pseudonymized").first()
    if customer is None or customer.is_pseudonymized or customer.status in UNREACHABLE:
        return False
    row = Consent.objects.filter(customer_id=customer_id, channel=channel, purpose=purpose).only("granted").first()
    return DEFAULT_GRANTED.get(purpose, False) if row is None else row.granted


def consent_allowed_ids(*, customer_ids: Iterable[int], channel: str, purpose: str) -> set[int]:
    """Of ``customer_ids``, those ``consent_allows`` would let through, in two queries."""
    ids = set(customer_ids)
    active = set(Customer.objects.filter(pk__in=ids, is_pseudonymized=False).exclude(status__in=UNREACHABLE)
                 .values_list("id", flat=True))
    answers = dict(Consent.objects.filter(customer_id__in=active, channel=channel, purpose=purpose)
                   .values_list("customer_id", "granted"))
    default = DEFAULT_GRANTED.get(purpose, False)
    return {pk for pk in active if answers.get(pk, default)}


def consent_matrix(*, customer_id: int) -> list[dict]:
    """Every channel and purpose with the answer that applies (recorded, else the default) and
    the proof of the recorded ones: what the API and the portal show."""
    rows = {(row.channel, row.purpose): row for row in consent_list(customer_id=customer_id)}
    matrix = []
    for channel in ConsentChannel.values:
        for purpose in ConsentPurpose.values:
            row = rows.get((channel, purpose))
            matrix.append({
                "channel": channel, "purpose": purpose,
                "granted": DEFAULT_GRANTED[purpose] if row is None else row.granted,
                "recorded": row is not None,
                "source": row.source if row else "", "text_version": row.text_version if row else "",
                "recorded_at": row.recorded_at if row else None, "recorded_by": row.recorded_by if row else "",
            })
    return matrix

"""Writes of consent (``customers.models.consent``): record a person's answer with its proof,
the signed one-click unsubscribe, and erasure of the proof.

Every change appends a ``ConsentEvent`` and an audit entry in the same transaction as the
current row, so the history can never disagree with the answer engagement reads before a send.
Recording the same answer again with new proof (a re-confirmation) adds an event too: the proof
of the latest confirmation is what a regulator asks for.

The profile's old ``marketing_consent`` boolean is a mirror of these records, never the other way
round: it is True while marketing is granted on at least one channel, and every consent write
sets it in the same transaction (a boolean has no channel and no proof, so it cannot be the
source of truth; analytics rules and exports that read it stay right).
"""

from __future__ import annotations

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.codes import AuditAction, ErrorCode
from customers.models import Consent, ConsentChannel, ConsentEvent, ConsentPurpose, ConsentSource, Customer
from customers.registry import consent_gates, publish_on_commit
from customers.services.common import audit, customer_current

UNSUBSCRIBE_SALT = "customers.consent.unsubscribe"
#: ``recorded_by`` of a change the person made themselves (their address is the proof, not a name).
SELF_SERVICE = "customer"


class ConsentTokenInvalid(ApplicationError):
    code = ErrorCode.CONSENT_TOKEN_INVALID


def _validated(channel: str, purpose: str, source: str) -> None:
    fields = {}
    if channel not in ConsentChannel.values:
        fields["channel"] = [f"Unknown channel; one of {', '.join(ConsentChannel.values)}."]
    if purpose not in ConsentPurpose.values:
        fields["purpose"] = [f"Unknown purpose; one of {', '.join(ConsentPurpose.values)}."]
    if source not in ConsentSource.values:
        fields["source"] = [f"Unknown source; one of {', '.join(ConsentSource.values)}."]
    if fields:
        raise ApplicationError("Invalid consent.", fields=fields)


def _record(*, customer: Customer, channel: str, purpose: str, granted: bool, source: str, recorded_by: str,
            text_version: str, ip_address: str | None, user_agent: str, reason: str, now) -> tuple[Consent, bool]:
    """Upsert the current row and append the event; returns (consent, changed)."""
    current = Consent.objects.select_for_update().filter(customer=customer, channel=channel, purpose=purpose).first()
    previous = None if current is None else current.granted
    proof = {"source": source, "text_version": text_version[:50], "ip_address": ip_address or None,
             "user_agent": (user_agent or "")[:500], "recorded_by": recorded_by[:255]}
    if current is None:
        current = Consent(customer=customer, channel=channel, purpose=purpose)
    current.granted = granted
    current.recorded_at = now
    for name, value in proof.items():
        setattr(current, name, value)
    current.full_clean(validate_unique=False, validate_constraints=False)
    current.save()
    ConsentEvent.objects.create(customer=customer, channel=channel, purpose=purpose, granted=granted,
                                previous=previous, reason=reason[:255], created_at=now, **proof)
    if purpose == ConsentPurpose.MARKETING:
        marketing_consent_mirror(customer_ids=[customer.pk])
    return current, previous != granted


def marketing_consent_mirror(*, customer_ids) -> int:
    """Set the profiles' ``marketing_consent`` to what their consent records say (True: marketing
    granted on some channel), and publish ``customer.updated`` for those that changed (segment
    rules read the flag). Returns the profiles changed."""
    ids = list(customer_ids)
    with_grant = set(Consent.objects.filter(customer_id__in=ids, purpose=ConsentPurpose.MARKETING, granted=True)
                     .values_list("customer_id", flat=True))
    turned_on = list(Customer.objects.filter(pk__in=with_grant, marketing_consent=False).values_list("pk", flat=True))
    turned_off = list(Customer.objects.filter(pk__in=ids, marketing_consent=True).exclude(pk__in=with_grant)
                      .values_list("pk", flat=True))
    Customer.objects.filter(pk__in=turned_on).update(marketing_consent=True)
    Customer.objects.filter(pk__in=turned_off).update(marketing_consent=False)
    publish_on_commit([("customer.updated", {"customer_id": pk, "fields": ["marketing_consent"]})
                       for pk in (*turned_on, *turned_off)])
    return len(turned_on) + len(turned_off)


@transaction.atomic
def consent_record(*, customer_id, channel: str, purpose: str, granted: bool, source: str, actor: Actor,
                   text_version: str = "", ip_address: str | None = None, user_agent: str = "",
                   reason: str = "", self_service: bool = False, confirmed: bool = False) -> Consent | None:
    """Record the person's answer for ``channel``/``purpose`` with its proof (who recorded it,
    ``source``, the wording's ``text_version``, the address and user agent it came from: by
    default the actor's address) and append it to the history. ``self_service``: the person
    acted themselves (member page, unsubscribe link), so ``recorded_by`` says "customer".

    A grant may be held back by a consent gate (``customers.registry``: engagement's double
    opt-in for e-mail): then nothing is recorded and None is returned; the grant is recorded
    when the person confirms (``confirmed=True``, which no gate holds back)."""
    _validated(channel, purpose, source)
    customer = customer_current(customer_id, lock=True)
    if granted and not confirmed:
        for _name, gate in consent_gates():
            if gate(customer_id=customer.pk, channel=channel, purpose=purpose, source=source, actor=actor,
                    text_version=text_version, ip_address=ip_address if ip_address is not None else actor.ip,
                    user_agent=user_agent, reason=reason):
                return None
    consent, changed = _record(
        customer=customer, channel=channel, purpose=purpose, granted=bool(granted), source=source,
        recorded_by=SELF_SERVICE if self_service else actor.label, text_version=text_version,
        ip_address=ip_address if ip_address is not None else actor.ip, user_agent=user_agent, reason=reason,
        now=timezone.now())
    audit(actor=actor, action=AuditAction.CONSENT_RECORD, resource_type="customer", resource_id=customer.pk,
          changes={f"consent.{channel}.{purpose}": [None if not changed else (not consent.granted), consent.granted],
                   "source": source})
    return consent


def unsubscribe_token(*, customer_id: int, channel: str, purpose: str = ConsentPurpose.MARKETING) -> str:
    """A signed token naming the tenant, the person, the channel and the purpose, for a one-click
    unsubscribe link (RFC 8058). It never expires: a link in a years-old e-mail must still work."""
    return signing.dumps({"s": connection.schema_name, "c": int(customer_id), "ch": channel, "p": purpose},
                         salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> dict:
    """What a token names, if it is genuine and for this tenant; ``ConsentTokenInvalid`` otherwise
    (one message for a forged, altered or other tenant's token)."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("s") != connection.schema_name or \
            data.get("ch") not in ConsentChannel.values or data.get("p") not in ConsentPurpose.values:
        raise ConsentTokenInvalid("This unsubscribe link is not valid.")
    return data


@transaction.atomic
def consent_unsubscribe(*, token: str, ip_address: str | None, user_agent: str = "") -> Consent:
    """Withdraw the consent a signed unsubscribe token names (the person clicked the link, or
    their mail client posted ``List-Unsubscribe=One-Click``). Idempotent in effect: a second click
    records another event and changes nothing else."""
    data = unsubscribe_token_read(token)
    actor = Actor(label="unsubscribe-link", ip=ip_address)
    customer = Customer.objects.filter(pk=data["c"]).first()
    if customer is None:
        raise ConsentTokenInvalid("This unsubscribe link is not valid.")
    if customer.merged_into_id:  # the person lives on in the survivor
        customer = Customer.objects.get(pk=customer.merged_into_id)
    consent, changed = _record(
        customer=customer, channel=data["ch"], purpose=data["p"], granted=False, source=ConsentSource.UNSUBSCRIBE,
        recorded_by=SELF_SERVICE, text_version="", ip_address=ip_address, user_agent=user_agent, reason="",
        now=timezone.now())
    audit(actor=actor, action=AuditAction.CONSENT_UNSUBSCRIBE, resource_type="customer", resource_id=customer.pk,
          changes={f"consent.{data['ch']}.{data['p']}": [True if changed else False, False]})
    return consent


def consent_erase(*, erasure) -> int:
    """Erasure handler (``customers.registry``): the person's consents become withdrawn (an erased
    person is never contacted again) and the proof that identified them (address, user agent, a
    name in ``recorded_by``) is blanked in the current rows and the history. Returns rows changed."""
    ids = list(erasure.customer_ids)
    changed = Consent.objects.filter(customer_id__in=ids).update(
        granted=False, source=ConsentSource.ERASURE, ip_address=None, user_agent="", recorded_by="",
        text_version="", recorded_at=timezone.now())
    changed += ConsentEvent.objects.filter(customer_id__in=ids).update(ip_address=None, user_agent="")
    for event in ConsentEvent.objects.filter(customer_id__in=ids).exclude(recorded_by="").only("id", "recorded_by"):
        if erasure.matches(event.recorded_by):
            ConsentEvent.objects.filter(pk=event.pk).update(recorded_by="")
    return changed

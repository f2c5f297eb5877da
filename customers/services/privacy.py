"""Data-subject rights (GDPR art. 15/17, LGPD art. 18): pseudonymization and export.

Pseudonymization is irreversible. It clears every personal value the tenant holds about a person
and keeps what analytics needs: orders, their items and amounts, aggregates, loyalty and credit
figures, country, state, gender and customer type.

- Profile: email, document and birth date become NULL; phone, names, city and notes become "";
  metadata and field provenance are emptied; marketing consent is withdrawn.
- Identities: each (source, external id) keeps its source but its external id becomes
  ``pz-`` + HMAC-SHA256 under a random key generated for this call and never stored. The row
  still counts the person as known to that source, but nobody (we included) can compute the token
  from the old id, so a re-ingest of the old id, email or document finds nothing and creates a
  new customer rather than re-attaching to this one.
- Addresses keep their type, country and state; everything else is cleared.
- Orders keep every column except ``shipping_address`` (reduced to country/state) and ``raw``,
  whose personal keys and any value equal to (or containing) one of the person's identifiers are
  replaced by null.
- The change log keeps who/when/which field but loses the old and new values of personal fields.
- Merges involving the person lose the personal part of their undo snapshot (they can no longer
  be undone); duplicate suggestions involving the person are deleted.
- The audit trail keeps its entries about the person (the customer, its addresses, and the loyalty
  and credit entries that name it) but their personal values are nulled; any other entry of the
  tenant quoting one of the person's values loses that value.
- Tags that quote the person go (generic labels such as "vip" stay, for segments).
- The tenant admin's history (the tenant schema's ``django_admin_log``) keeps its entries, without
  the person's name in them.
- Other apps erase what they keep (raw connector payloads, webhook bodies...) through erasure
  handlers (``customers.registry.register_erasure_handler``), called in the same transaction.
- Customers merged into this one are the same person and are pseudonymized with it.

A second call on a pseudonymized customer writes nothing and returns the same state.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import json
import re
import secrets
import uuid

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdp.context import Actor
from cdp.ids import get_or_not_found
from customers.codes import AuditAction
from customers.models import (
    Address,
    Consent,
    ConsentEvent,
    CreditAccount,
    CreditPayment,
    CreditUsage,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    CustomerMerge,
    DuplicateCandidate,
    Order,
    OrderItem,
)
from customers.registry import Erasure, erasure_handlers, export_sections, publish_on_commit
from customers.services.common import customer_refuse_if_merged
from customers.services.normalize import CALLING_CODES
from tenants.services import audit_record, audit_redact, user_sessions_messages_scrub
from tenants.services.system_events import system_events_scrub

PRIVACY_SOURCE = "privacy"

#: Profile columns cleared, with their empty value (NULL where the column is unique or nullable).
PROFILE_CLEARED = {
    "email": None,
    "phone": "",
    "document_type": "",
    "document_number": None,
    "first_name": "",
    "last_name": "",
    "birth_date": None,
    "city": "",
    "notes": "",
    "metadata": {},
    "field_sources": {},
    "marketing_consent": False,
}
#: Change-log fields whose old/new values are personal (profile fields and manual-only free text).
PERSONAL_LOG_FIELDS = frozenset({"email", "phone", "document_type", "document_number", "first_name", "last_name",
                                 "birth_date", "city", "notes", "metadata", "tags"})
#: Address columns cleared (type, country, state, default and active flags, source stay).
ADDRESS_CLEARED = {"recipient_name": "", "line1": "", "line2": "", "number": "", "neighborhood": "", "city": "",
                   "postal_code": "", "phone": ""}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGITS = re.compile(r"\D+")
_WORD = re.compile(r"\w+")
#: Keys (lowercased, non-alphanumerics removed) that hold personal data wherever they appear.
ALWAYS_PERSONAL_KEYS = frozenset({
    "email", "mail", "emailaddress", "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone",
    "cellphone", "cell", "firstname", "lastname", "fullname", "givenname", "familyname", "surname",
    "middlename", "nickname", "document", "documentnumber", "doc", "cpf", "cnpj", "dni", "cuit", "cuil",
    "rut", "rfc", "curp", "taxid", "nif", "ssn", "passport", "birthdate", "dateofbirth", "dob", "birthday",
    "line1", "line2", "addressline1", "addressline2", "street", "streetname", "streetnumber", "address",
    "postalcode", "zip", "zipcode", "cep", "city", "neighborhood", "complement", "ip", "ipaddress",
    "useragent", "externalid", "customerexternalid", "recipientname", "receivername", "notes",
})
#: Inside a person-like object (customer, buyer, shipping address...), these are personal too.
PERSON_CONTEXT_KEYS = frozenset({"name", "number", "id", "reference", "alias", "username", "login"})
PERSON_CONTAINER_WORDS = ("customer", "client", "buyer", "user", "contact", "profile", "shipping", "billing",
                          "address", "recipient", "receiver", "person", "payer", "holder")


def _norm_key(key) -> str:
    return _NON_ALNUM.sub("", str(key).lower())


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _key_parts(key) -> list[str]:
    """``"customer_address_city"`` / ``"customerAddressCity"`` -> ``["customer", "address", "city"]``."""
    return [part for part in _NON_ALNUM.split(_CAMEL.sub("_", str(key)).lower()) if part]


def _key_personal(key, *, person_context: bool) -> bool:
    """A key whose value is personal: a personal name (``email``), one ending in one
    (``customer_address_city``, ``buyerEmail``: flattened exports and camelCase payloads), or a
    person-context key (``number``, ``id``...) inside a person-like object or after a person word
    (``customer_address_number``)."""
    norm = _norm_key(key)
    if norm in ALWAYS_PERSONAL_KEYS or (person_context and norm in PERSON_CONTEXT_KEYS):
        return True
    parts = _key_parts(key)
    if any("".join(parts[i:]) in ALWAYS_PERSONAL_KEYS for i in range(1, len(parts))):
        return True
    return len(parts) > 1 and parts[-1] in PERSON_CONTEXT_KEYS and any(
        word in part for part in parts[:-1] for word in PERSON_CONTAINER_WORDS)


class _Tokens:
    """The person's identifying strings; a JSON string equal to one of them, or containing a long
    one (or its digits), is personal."""

    def __init__(self, texts, digits, words=(), identifiers=(), full_names=()):
        self.exact = {" ".join(str(t).lower().split()) for t in texts if t and len(str(t).strip()) >= 2}
        self.long = {t for t in self.exact if len(t) >= 6}
        self.digits = {d for d in (_NON_DIGITS.sub("", str(x)) for x in digits if x) if len(d) >= 6}
        # A phone stored as E.164 (+54 11...) is written nationally elsewhere (011 ...).
        self.digits |= {d[len(code):] for d in self.digits for code in set(CALLING_CODES.values())
                        if d.startswith(code) and len(d) - len(code) >= 8}
        # Names count as whole words in free text ("gift for Zuleika").
        self.words = {w for t in words if t for w in str(t).lower().split() if len(w) >= 4}
        # Values that identify the person alone (email, document, external id, phone): enough to
        # find their unlinked copies in big tables with few patterns.
        self.identifiers = tuple(sorted({str(i).strip().lower() for i in identifiers if i and len(str(i).strip()) >= 6}
                                        | {d for d in self.digits if len(d) >= 8}))
        self.full_names = {" ".join(str(n).lower().split()) for n in full_names if n and len(str(n).split()) >= 2}

    def strict(self) -> "_Tokens":
        """Only what identifies the person alone (email, document, phone, external ids, full
        name): for rows about other people that may quote them. A first name or a street is
        shared by many, and must not cost another person's entry its values."""
        strict = _Tokens(self.identifiers, [])
        strict.exact |= self.full_names
        strict.long |= {name for name in self.full_names if len(name) >= 6}
        strict.digits = set(self.digits)
        return strict

    @property
    def terms(self) -> tuple[str, ...]:
        """Strings worth an ``ILIKE '%term%'`` prefilter (the rest is decided by ``match``)."""
        return tuple(sorted({t for t in self.exact if len(t) >= 4} | {d for d in self.digits if len(d) >= 8}
                            | self.words))

    def match(self, value: str) -> bool:
        low = " ".join(value.lower().split())
        if not low:
            return False
        if low in self.exact or any(token in low for token in self.long):
            return True
        if self.words and self.words & set(_WORD.findall(low)):
            return True
        value_digits = _NON_DIGITS.sub("", value)
        return len(value_digits) >= 6 and any(d in value_digits or value_digits in d for d in self.digits
                                              if len(value_digits) >= min(8, len(d)))


def json_scrub(value, tokens: _Tokens, *, personal: bool = False, person_context: bool = False,
               keep: frozenset = frozenset()):
    """``value`` with personal leaves replaced by None (structure, keys and non-personal values kept).
    Keys in ``keep`` (our own ids, e.g. ``customer_id`` in a webhook body) are not personal by
    name; their values are still checked against the person's."""
    if isinstance(value, dict):
        result = {}
        for key, child in value.items():
            norm = _norm_key(key)
            child_personal = personal or (key not in keep and _key_personal(key, person_context=person_context))
            person_word = any(word in norm for word in PERSON_CONTAINER_WORDS)
            child_context = person_context or person_word
            if isinstance(child, (dict, list)):
                # A container under a person-like key ("address", "shipping_address": {...}) is
                # scrubbed key by key, so its country and state survive for analytics.
                result[key] = json_scrub(child, tokens, personal=personal or (child_personal and not person_word),
                                         person_context=child_context or child_personal, keep=keep)
            else:
                result[key] = json_scrub(child, tokens, personal=child_personal, person_context=child_context,
                                         keep=keep)
        return result
    if isinstance(value, list):
        return [json_scrub(item, tokens, personal=personal, person_context=person_context, keep=keep)
                for item in value]
    if value is None or isinstance(value, bool):
        return value
    if personal:
        return None
    if isinstance(value, str) and tokens.match(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and tokens.digits:
        return None if tokens.match(str(value)) else value
    return value


def _text_scrub(value, tokens: _Tokens):
    if not value:
        return value
    return None if tokens.match(str(value)) else value


def _tokens_for(customer_ids: list[int]) -> _Tokens:
    texts: list = []
    digits: list = []
    words: list = []
    identifiers: list = []
    full_names: list = []
    for c in Customer.objects.filter(pk__in=customer_ids):
        words += [c.first_name, c.last_name]
        full_names.append(c.full_name)
        texts += [c.email, c.first_name if len(c.first_name) >= 3 else "", c.last_name if len(c.last_name) >= 3
                  else "", c.full_name, c.document_number, c.phone, c.notes,
                  c.birth_date.isoformat() if c.birth_date else ""]
        if c.email:
            texts.append(c.email.split("@", 1)[0] if len(c.email.split("@", 1)[0]) >= 6 else "")
        digits += [c.phone, c.document_number]
        identifiers += [c.email, c.document_number, c.phone]
    for a in Address.objects.filter(customer_id__in=customer_ids):
        words.append(a.recipient_name)
        full_names.append(a.recipient_name)
        texts += [a.line1 if len(a.line1) >= 4 else "", a.line2 if len(a.line2) >= 6 else "", a.recipient_name,
                  a.postal_code if len(a.postal_code) >= 4 else ""]
        digits += [a.phone]
    for source, external_id in CustomerIdentity.objects.filter(customer_id__in=customer_ids).values_list(
            "source", "external_id"):
        if not external_id.startswith("pz-"):
            texts.append(external_id if len(external_id) >= 3 else "")
            identifiers.append(external_id)
    # Values the person had before (an old phone, a maiden name) are theirs too.
    for field, old, new in CustomerChangeLog.objects.filter(
            customer_id__in=customer_ids, field__in=("email", "phone", "document_number", "first_name",
                                                     "last_name")).values_list("field", "old_value", "new_value"):
        for value in (old, new):
            if not value:
                continue
            if field in ("phone", "document_number"):
                digits.append(value)
            elif field in ("first_name", "last_name"):
                words.append(value)
                texts.append(value if len(value) >= 3 else "")
            texts.append(value if field != "first_name" and field != "last_name" else "")
            identifiers.append(value if field in ("email", "document_number", "phone") else "")
    return _Tokens(texts, digits, words, identifiers, full_names)


def _admin_history_scrub(ids: list[int], address_ids: list[int], tokens: _Tokens) -> int:
    """The tenant admin's history (this schema's ``django_admin_log``): entries about the
    customers and their addresses keep the action and time but show ``<model> <id>``; any other
    entry naming the person (full name, email, document...) loses that too. Returns how many
    changed."""
    types = ContentType.objects.get_for_models(Customer, Address)
    own = {(types[Customer].pk, str(pk)) for pk in ids} | {(types[Address].pk, str(pk)) for pk in address_ids}
    about = (Q(content_type=types[Customer], object_id__in=[str(pk) for pk in ids])
             | Q(content_type=types[Address], object_id__in=[str(pk) for pk in address_ids]))
    strict = tokens.strict()
    mention = Q(pk__in=[])
    for term in strict.terms:
        mention |= Q(object_repr__icontains=term) | Q(change_message__icontains=term)
    changed = 0
    for entry in LogEntry.objects.filter(about | mention).select_related("content_type"):
        is_own = (entry.content_type_id, entry.object_id) in own
        check = tokens if is_own else strict
        model = (entry.content_type.name if entry.content_type else "object").capitalize()
        object_repr = f"{model} {entry.object_id}" if is_own or check.match(entry.object_repr) else entry.object_repr
        message = entry.change_message
        if message and check.match(message):
            try:
                message = json.dumps(json_scrub(json.loads(message), check))
            except ValueError:
                message = ""
        if (object_repr, message) != (entry.object_repr, entry.change_message):
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=object_repr[:200], change_message=message)
            changed += 1
    return changed


def _family(customer: Customer) -> list[int]:
    """The customer and every customer merged into it (transitively): one person."""
    ids = [customer.pk]
    frontier = [customer.pk]
    while frontier:
        frontier = list(Customer.objects.filter(merged_into_id__in=frontier).exclude(pk__in=ids)
                        .values_list("pk", flat=True))
        ids += frontier
    return ids


def _identity_token(key: bytes, source: str, external_id: str) -> str:
    return "pz-" + hmac.new(key, f"{source}\x00{external_id}".encode(), hashlib.sha256).hexdigest()[:40]


def _profiles_clear(ids: list[int], tokens: _Tokens, *, now) -> None:
    """Profiles: personal values cleared; tags naming the person go ("vip" stays, for segments)."""
    for pk, tags in Customer.objects.filter(pk__in=ids).values_list("pk", "tags"):
        kept = [tag for tag in tags or [] if not tokens.match(tag)]
        if kept != (tags or []):
            Customer.objects.filter(pk=pk).update(tags=kept)
    Customer.objects.filter(pk__in=ids).update(**PROFILE_CLEARED, is_pseudonymized=True, pseudonymized_at=now,
                                               updated_at=now)


def _identities_unlink(ids: list[int]) -> int:
    """Identities keep their source; a one-time key, never stored, makes the token unlinkable to
    the old id. Returns how many."""
    key = secrets.token_bytes(32)
    identities = list(CustomerIdentity.objects.filter(customer_id__in=ids))
    for identity in identities:
        identity.external_id = _identity_token(key, identity.source, identity.external_id)
    CustomerIdentity.objects.bulk_update(identities, ["external_id"])
    return len(identities)


def _orders_scrub(ids: list[int], tokens: _Tokens) -> list[Order]:
    """Orders keep amounts and statuses; their payloads lose the person. Returns the orders."""
    orders = list(Order.objects.filter(customer_id__in=ids).only("id", "source", "external_order_id", "raw",
                                                                  "shipping_address"))
    for order in orders:
        order.raw = json_scrub(order.raw, tokens) if order.raw is not None else None
        if isinstance(order.shipping_address, dict):
            order.shipping_address = {k: v for k, v in order.shipping_address.items()
                                      if k in ("country", "state", "type")}
    Order.objects.bulk_update(orders, ["raw", "shipping_address"], batch_size=500)
    return orders


def _change_log_scrub(ids: list[int], tokens: _Tokens) -> None:
    """Personal values go; the facts (field, when, who, why) stay."""
    CustomerChangeLog.objects.filter(customer_id__in=ids, field__in=PERSONAL_LOG_FIELDS).update(
        old_value=None, new_value=None)
    logs = list(CustomerChangeLog.objects.filter(customer_id__in=ids).exclude(field__in=PERSONAL_LOG_FIELDS))
    for log in logs:
        log.old_value, log.new_value = _text_scrub(log.old_value, tokens), _text_scrub(log.new_value, tokens)
        log.reason = _text_scrub(log.reason, tokens) or ""
    CustomerChangeLog.objects.bulk_update(logs, ["old_value", "new_value", "reason"], batch_size=500)


def _ledgers_scrub(ids: list[int], tokens: _Tokens) -> None:
    """Free text on credit rows (loyalty scrubs its ledger in its erasure handler)."""
    for account in CreditAccount.objects.filter(customer_id__in=ids):
        CreditAccount.objects.filter(pk=account.pk).update(
            approval_note=_text_scrub(account.approval_note, tokens) or "",
            suspension_reason=_text_scrub(account.suspension_reason, tokens) or "")
        for payment in CreditPayment.objects.filter(account=account):
            CreditPayment.objects.filter(pk=payment.pk).update(note=_text_scrub(payment.note, tokens) or "",
                                                               reference=_text_scrub(payment.reference, tokens) or "")


def _merges_scrub(ids: list[int], tokens: _Tokens) -> None:
    """Merges lose the personal part of their undo snapshot, and with it the possibility to undo;
    duplicate suggestions about the person go."""
    for merge in CustomerMerge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)):
        snapshot = dict(merge.snapshot or {})
        snapshot["personal"] = None
        snapshot["pseudonymized"] = True
        CustomerMerge.objects.filter(pk=merge.pk).update(snapshot=snapshot,
                                                         reason=_text_scrub(merge.reason, tokens) or "")
    DuplicateCandidate.objects.filter(Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids)).delete()


def _erasure_for(ids: list[int], orders: list[Order], tokens: _Tokens) -> Erasure:
    """The person as other apps' erasure handlers see them."""
    strict = tokens.strict()
    return Erasure(customer_ids=tuple(ids), order_ids=tuple(o.pk for o in orders),
                   orders=tuple((o.source, o.external_order_id) for o in orders), terms=strict.terms,
                   identifiers=tokens.identifiers, matches=tokens.match,
                   scrub_json=lambda value, person=False, keep=(): json_scrub(
                       value, tokens, person_context=person, keep=frozenset(keep)),
                   scrub_text=lambda text: _text_scrub(text, tokens) or "")


@transaction.atomic
def customer_pseudonymize(*, customer_id: int, actor: Actor, reason: str = "") -> Customer:
    """Irreversibly replace the person's data (see the module docstring for what is kept).

    Idempotent: an already pseudonymized customer is returned unchanged, with no new writes.
    Raises NotFound, or Conflict ``customer_merged`` for a customer merged into another one (the
    person's profile is the survivor: pseudonymize that one, which covers this record too)."""
    customer = get_or_not_found(Customer, customer_id, "Customer not found.", lock=True)
    if customer.is_pseudonymized:
        return customer
    customer_refuse_if_merged(customer, instead="pseudonymize that one")
    ids = _family(customer)
    list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    tokens = _tokens_for(ids)
    if reason:
        reason = "" if tokens.match(reason) else reason
    now = timezone.now()
    address_ids = list(Address.objects.filter(customer_id__in=ids).values_list("pk", flat=True))

    _profiles_clear(ids, tokens, now=now)
    identities = _identities_unlink(ids)
    Address.objects.filter(pk__in=address_ids).update(**ADDRESS_CLEARED, updated_at=now)
    orders = _orders_scrub(ids, tokens)
    _change_log_scrub(ids, tokens)
    _ledgers_scrub(ids, tokens)
    _merges_scrub(ids, tokens)
    strict = tokens.strict()  # for entries about other people that quote this one
    redacted = audit_redact(tenant=connection.tenant, resources={"customer": ids, "customer_address": address_ids},
                            subjects={"customer_id": ids},
                            scrub=lambda changes: json_scrub(changes, tokens, person_context=True),
                            mentioning=strict.terms, scrub_mention=lambda changes: json_scrub(changes, strict))
    history = _admin_history_scrub(ids, address_ids, tokens)
    user_sessions_messages_scrub(tenant=connection.tenant, matches=tokens.match)
    system_events_scrub(tenant=connection.tenant, matches=tokens.match)  # error reports that quote them
    # Other apps' copies of the person, in this transaction: one failing rolls the erasure back.
    erasure = _erasure_for(ids, orders, tokens)
    elsewhere = {name: handler(erasure=erasure) for name, handler in erasure_handlers()}

    CustomerChangeLog.objects.bulk_create([
        CustomerChangeLog(customer_id=pk, field="pseudonymization", old_value=None, new_value=None,
                          source=PRIVACY_SOURCE, changed_by=actor.label[:255],
                          reason=(f"data-subject erasure request{': ' + reason if reason else ''}")[:255])
        for pk in ids
    ])
    audit_record(actor=actor, action=AuditAction.CUSTOMER_PSEUDONYMIZE, resource_type="customer",
                 resource_id=customer.pk, tenant=connection.tenant,
                 changes={"customer_ids": ids, "fields": sorted(PROFILE_CLEARED), "identities": identities,
                          "addresses": len(address_ids), "orders": len(orders), "audit_entries_redacted": redacted,
                          "admin_history_redacted": history, "elsewhere": elsewhere, "reason": reason})
    publish_on_commit([("customer.updated", {"customer_id": pk, "fields": sorted(PROFILE_CLEARED)}) for pk in ids])
    customer.refresh_from_db()
    return customer


# --- Export (data-subject access) -------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def row_dict(instance, *, exclude: tuple = ()) -> dict:
    """Every column of a row (complete by construction: a new column shows up in the export)."""
    return {field.attname: _jsonable(getattr(instance, field.attname))
            for field in instance._meta.concrete_fields if field.attname not in exclude}


def _customer_export_data(customer: Customer) -> dict:
    orders = list(Order.objects.filter(customer=customer).order_by("order_date", "id"))
    items: dict[int, list] = {}
    for item in OrderItem.objects.filter(order__customer=customer).order_by("order_id", "id"):
        items.setdefault(item.order_id, []).append(row_dict(item))
    credit = CreditAccount.objects.filter(customer=customer).first()
    return {
        "profile": row_dict(customer),
        "identities": [row_dict(i) for i in CustomerIdentity.objects.filter(customer=customer).order_by("id")],
        "addresses": [row_dict(a) for a in Address.objects.filter(customer=customer).order_by("id")],
        "orders": [{**row_dict(o), "items": items.get(o.pk, [])} for o in orders],
        # other apps' rows about the person (loyalty: its account and ledger)
        **{name: provider(customer_id=customer.pk) for name, provider in export_sections()},
        "credit": None if credit is None else {
            "account": row_dict(credit),
            "usages": [row_dict(u) for u in CreditUsage.objects.filter(account=credit).order_by("id")],
            "payments": [row_dict(p) for p in CreditPayment.objects.filter(account=credit).order_by("id")],
        },
        # consents as they stand, and every recorded change with its proof
        "consents": [row_dict(c) for c in Consent.objects.filter(customer=customer).order_by("channel", "purpose")],
        "consent_history": [row_dict(e) for e in ConsentEvent.objects.filter(customer=customer)
                            .order_by("created_at", "id")],
        "change_log": [row_dict(log) for log in CustomerChangeLog.objects.filter(customer=customer)
                       .order_by("created_at", "id")],
        "merges": [row_dict(m, exclude=("snapshot",)) for m in CustomerMerge.objects.filter(
            Q(survivor=customer) | Q(merged=customer)).order_by("created_at", "id")],
    }


@transaction.atomic
def customer_export(*, customer_id, actor: Actor) -> dict:
    """Everything the tenant holds about the person, as JSON-friendly data: the profile, its
    identities, addresses, orders with items, loyalty ledger, credit, consents with their history,
    change log and merges, plus
    the same for every customer merged into it (the same person). Writes one audit entry.
    Merge snapshots are internal undo data and are left out (their ids are in ``merges``)."""
    customer = get_or_not_found(Customer, customer_id, "Customer not found.")
    family = _family(customer)
    data = {
        "format": "cdp.data-subject-export/1",
        "generated_at": timezone.now().isoformat(),
        "customer_id": customer.pk,
        **_customer_export_data(customer),
        "merged_customers": [_customer_export_data(c) for c in Customer.objects.filter(pk__in=family[1:])
                             .order_by("pk")],
    }
    audit_record(actor=actor, action=AuditAction.CUSTOMER_EXPORT, resource_type="customer", resource_id=customer.pk,
                 tenant=connection.tenant, changes={"customer_ids": family, "orders": len(data["orders"])})
    return data

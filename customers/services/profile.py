"""Profile writes: the one conflict rule (who may overwrite what), manual edits, addresses and the
ranking of sources. (The exact order aggregates are ``customers.services.sales``'s.)"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound, full_clean_or_raise
from cdp.ids import get_or_not_found, parse_id
from customers.codes import AuditAction, ErrorCode
from customers.models import (
    DEFAULT_SOURCE_PRIORITY,
    MANUAL_PRIORITY,
    MANUAL_SOURCE,
    Address,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    Customer,
    CustomerChangeLog,
    SourcePriority,
)
from customers.documents import SEALED_FIELDS, document_hashes, postal_code_error
from customers.field_permissions import sensitive_changes_check
from customers.masking import mask_document
from customers.registry import publish_on_commit
from customers.services.common import as_text, empty
from customers.services.consent import consent_record
from customers.services.normalize import (
    COUNTRY_MESSAGE,
    birth_date_parse,
    country_normalize,
    document_number_error,
    document_number_normalize,
    document_type_normalize,
    email_is_valid,
    email_normalize,
    gender_error,
    gender_normalize,
    phone_error,
    phone_normalize,
    text_clean,
)
from tenants.services import audit_record, changes_between

#: Fields that a manual edit (PATCH, portal, admin) may change, besides the profile fields.
MANUAL_ONLY_FIELDS = ("customer_type", "status", "marketing_consent", "tags", "metadata", "notes")
PROFILE_FIELDS = ("email", "phone", "document_type", "document_number", "first_name", "last_name", "birth_date",
                  "gender", "city", "state", "country")


def source_priorities() -> dict[str, int]:
    """The tenant's ranking; ``manual`` always outranks every feed."""
    ranking = dict(SourcePriority.objects.values_list("source", "priority"))
    ranking[MANUAL_SOURCE] = MANUAL_PRIORITY
    return ranking


def source_may_overwrite(*, source: str, current_source: str, priorities: dict[str, int]) -> bool:
    """A non-empty value may be replaced by the source that set it, or by a source ranked strictly
    higher. Equal-ranked different sources therefore never flip-flop a value."""
    if source == current_source:
        return True
    return priorities.get(source, DEFAULT_SOURCE_PRIORITY) > priorities.get(current_source, DEFAULT_SOURCE_PRIORITY)


def _change(customer: Customer, key: str, value, *, source: str, actor: Actor, reason: str) -> CustomerChangeLog:
    """Set ``customer.key`` to ``value`` (in memory) and return its change-log row (old → new)."""
    log = CustomerChangeLog(customer=customer, field=key, old_value=as_text(getattr(customer, key)),
                            new_value=as_text(value), source=source, changed_by=actor.label[:255],
                            reason=reason[:255])
    setattr(customer, key, value)
    return log


def document_holders(document_type: str, number: str):
    """The customers holding this document (matched on its keyed hash under every key)."""
    return Customer.objects.filter(document_type=document_type, document_hash__in=document_hashes(number))


def customer_profile_apply(
    *, customer: Customer, values: dict, source: str, actor: Actor, reason: str, priorities: dict[str, int]
) -> list[str]:
    """Apply normalized ``values`` to ``customer`` in memory and write the change log.

    Empty values never overwrite. A non-empty value is replaced only when the source may
    overwrite the current value's source. Email and document stay unique: a value that belongs to
    another customer is not taken (that is a duplicate to merge, not an update). Returns the
    changed field names; the caller saves the customer.
    """
    changed: list[str] = []
    logs: list[CustomerChangeLog] = []
    sources = dict(customer.field_sources or {})
    pending = dict(values)
    # The document is one identifier in two fields: it changes as a pair or not at all.
    if "document_number" in pending or "document_type" in pending:
        number, doc_type = pending.pop("document_number", None), pending.pop("document_type", None)
        if number and doc_type and (number, doc_type) != (customer.document_number, customer.document_type):
            taken = document_holders(doc_type, number).exclude(pk=customer.pk)
            current_source = sources.get("document_number", customer.source)
            if not taken.exists() and (
                empty(customer.document_number)
                or source_may_overwrite(source=source, current_source=current_source, priorities=priorities)
            ):
                for key, value in (("document_type", doc_type), ("document_number", number)):
                    old = getattr(customer, key)
                    if old != value:
                        why = "filled empty value" if empty(old) else f"{reason}; {source} outranks {current_source}"
                        logs.append(_change(customer, key, value, source=source, actor=actor, reason=why))
                        sources[key] = source
                        changed.append(key)
    for key, value in pending.items():
        if empty(value) and key not in MANUAL_ONLY_FIELDS:
            continue
        old = getattr(customer, key)
        if old == value:
            continue
        current_source = sources.get(key, customer.source)
        if not empty(old) and not source_may_overwrite(source=source, current_source=current_source,
                                                       priorities=priorities):
            continue
        if key == "email" and Customer.objects.filter(email=value).exclude(pk=customer.pk).exists():
            continue
        why = "filled empty value" if empty(old) else (
            reason if source == current_source else f"{reason}; {source} outranks {current_source}")
        logs.append(_change(customer, key, value, source=source, actor=actor, reason=why))
        sources[key] = source
        changed.append(key)
    if changed:
        customer.field_sources = sources
        CustomerChangeLog.objects.bulk_create(logs)
    return changed


#: Longest text a manual edit may store (the columns' lengths; longer is refused, never cut).
MANUAL_TEXT_LIMITS = {"first_name": 150, "last_name": 150, "city": 150, "state": 150, "document_type": 20}


def _manual_values(data: dict, *, country: str = "", document_type: str = "",
                   document_number: str | None = None) -> dict:
    """Normalize a manual edit; raises ApplicationError with per-field messages.

    A person's edit is never silently changed into something else: a value a normalizer cannot
    read (a phone without digits, an unknown gender, a document failing its type's check digits or
    format, a birth date out of range, a country we do not know) is refused with a message on its field, not stored as
    empty. An empty value clears the field on purpose."""
    errors: dict[str, list[str]] = {}
    values: dict = {}
    # Documents are checked in the customer's country (a RUT is Chilean unless they live in Uruguay).
    doc_country = (country_normalize(data["country"]) if "country" in data else country) or ""
    for key, value in data.items():
        if key == "email":
            email = email_normalize(value)
            if email and not email_is_valid(email):
                errors[key] = ["Enter a valid email address."]
            values[key] = email or None
        elif key == "document_type":
            values[key] = document_type_normalize(value)
            if "document_number" not in data and document_number and values[key]:
                # A new type for the stored number: the pair must still be a valid document.
                error = document_number_error(document_number, values[key], doc_country)
                if error:
                    errors[key] = [error]
        elif key == "document_number":
            doc_type = document_type_normalize(data["document_type"]) if "document_type" in data else document_type
            error = document_number_error(value, doc_type, doc_country)
            if error:
                errors[key] = [error]
            values[key] = document_number_normalize(value, doc_type, doc_country)
        elif key == "country":
            country = country_normalize(value)
            if country is None:
                errors[key] = [COUNTRY_MESSAGE]
            values[key] = country or ""
        elif key == "phone":
            error = phone_error(value)
            if error:
                errors[key] = [error]
            values[key] = phone_normalize(value, country_normalize(data.get("country")) or country)
        elif key == "gender":
            error = gender_error(value)
            if error:
                errors[key] = [error]
            values[key] = gender_normalize(value)
        elif key == "birth_date":
            day, error = birth_date_parse(value, today=timezone.localdate())
            if error:
                errors[key] = [error]
            values[key] = day
        elif key in ("first_name", "last_name", "city", "state", "notes"):
            values[key] = text_clean(value) if key != "notes" else str(value or "")
        elif key == "metadata" and not isinstance(value, dict):
            errors[key] = ["Must be a JSON object."]
        elif key == "tags" and not (isinstance(value, list) and all(isinstance(tag, str) for tag in value)):
            errors[key] = ["Must be a list of texts."]
        else:
            values[key] = value
        limit = MANUAL_TEXT_LIMITS.get(key)
        if limit and key not in errors and len(values.get(key) or "") > limit:
            errors[key] = [f"At most {limit} characters."]
    if errors:
        raise ApplicationError("Some fields are invalid.", fields=errors)
    return values


def _audit_text(key: str, value) -> str | None:
    """A value as the audit log keeps it: a sealed field (the document) only masked, since the audit
    log is a public-schema table a dump shows in full (the change log keeps it sealed)."""
    return mask_document(as_text(value)) if key in SEALED_FIELDS else as_text(value)


def _full_clean(customer: Customer) -> None:
    full_clean_or_raise(customer, "Some fields are invalid.", exclude=["merged_into"], validate_unique=False,
                        validate_constraints=False)


def _unknown_fields_refuse(data: dict) -> None:
    unknown = set(data) - set(PROFILE_FIELDS) - set(MANUAL_ONLY_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})


def _identifiers_free(values: dict, *, document_type: str, customer_id: int | None = None) -> None:
    """The email and the document in ``values`` belong to nobody else (but ``customer_id``, the
    customer being edited): 409 ``email_taken`` / ``document_taken``. A document needs its type."""
    others = Customer.objects.exclude(pk=customer_id) if customer_id is not None else Customer.objects.all()
    if values.get("email") and others.filter(email=values["email"]).exists():
        raise Conflict("Another customer has this email.", code=ErrorCode.EMAIL_TAKEN,
                       fields={"email": ["Already taken."]})
    if values.get("document_number"):
        if not document_type:
            raise ApplicationError("A document needs its type.", fields={"document_type": ["Required."]})
        if others.filter(document_type=document_type,
                         document_hash__in=document_hashes(values["document_number"])).exists():
            raise Conflict("Another customer has this document.", code=ErrorCode.DOCUMENT_TAKEN,
                           fields={"document_number": ["Already taken."]})


@transaction.atomic
def _marketing_consent_record(customer: Customer, granted: bool, *, actor: Actor, reason: str) -> None:
    """The old ``marketing_consent`` flag, edited by hand, becomes a consent record (the flag only
    mirrors the records, ``customers.services.consent``): True grants e-mail marketing (what the
    flag always meant; other channels are recorded per channel), False withdraws marketing on
    every channel. Unchanged: nothing happens."""
    if granted == customer.marketing_consent:
        return
    source = ConsentSource.API if actor.api_key_id else ConsentSource.ADMIN
    channels = [ConsentChannel.EMAIL] if granted else ConsentChannel.values
    for channel in channels:
        consent_record(customer_id=customer.pk, channel=channel, purpose=ConsentPurpose.MARKETING, granted=granted,
                       source=source, actor=actor, reason=f"marketing_consent set by {reason}"[:255])
    customer.refresh_from_db(fields=["marketing_consent"])


@transaction.atomic
def customer_update(*, customer_id: int, data: dict, actor: Actor, reason: str = "manual edit") -> Customer:
    """A person's edit (API PATCH, portal, admin). Manual outranks every source, and unlike feeds
    it may clear a value. Every changed field goes to the change log and one audit entry."""
    _unknown_fields_refuse(data)
    customer = get_or_not_found(Customer, customer_id, "Customer not found.", lock=True)
    if customer.is_pseudonymized:
        raise Conflict("This customer was pseudonymized and can no longer be edited.",
                       code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    values = _manual_values(data, country=customer.country, document_type=customer.document_type,
                            document_number=customer.document_number)
    _identifiers_free(values, document_type=values.get("document_type", customer.document_type),
                      customer_id=customer.pk)
    if "document_number" in values and not values["document_number"]:
        values["document_number"] = None
    if "marketing_consent" in values:
        flag_before = customer.marketing_consent
        _marketing_consent_record(customer, bool(values.pop("marketing_consent")), actor=actor, reason=reason)
        if customer.marketing_consent != flag_before:  # the records moved the flag: its change-log line
            flag_now, customer.marketing_consent = customer.marketing_consent, flag_before
            _change(customer, "marketing_consent", flag_now, source=MANUAL_SOURCE, actor=actor, reason=reason).save()
    before = {key: getattr(customer, key) for key in values}
    changed: list[str] = []
    logs = []
    sources = dict(customer.field_sources or {})
    for key, value in values.items():
        if getattr(customer, key) == value:
            continue
        logs.append(_change(customer, key, value, source=MANUAL_SOURCE, actor=actor, reason=reason))
        if key in PROFILE_FIELDS:
            sources[key] = MANUAL_SOURCE
        changed.append(key)
    # Only the fields that really change are checked: sending back an unchanged value is no change.
    sensitive_changes_check(actor=actor, fields=changed, tenant=connection.tenant)
    if changed:
        customer.field_sources = sources
        _full_clean(customer)
        customer.save()
        CustomerChangeLog.objects.bulk_create(logs)
        audit_record(actor=actor, action=AuditAction.CUSTOMER_UPDATE, resource_type="customer", resource_id=customer.pk,
                     tenant=connection.tenant,
                     changes=changes_between({key: _audit_text(key, before[key]) for key in changed},
                                             {key: _audit_text(key, getattr(customer, key)) for key in changed}))
        publish_on_commit([("customer.updated", {"customer_id": customer.pk, "fields": changed})])
    return customer


ADDRESS_EDITABLE = ("address_type", "recipient_name", "line1", "line2", "number", "neighborhood", "city", "state",
                    "postal_code", "country", "phone", "is_default", "is_active")


def _address_values(data: dict) -> dict:
    unknown = set(data) - set(ADDRESS_EDITABLE)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    values = {}
    for key, value in data.items():
        if key in ("is_default", "is_active"):
            values[key] = bool(value)
        elif key == "country":
            country = country_normalize(value)
            if country is None:
                raise ApplicationError("Some fields are invalid.", fields={"country": [COUNTRY_MESSAGE]})
            values[key] = country
        elif key == "phone":
            error = phone_error(value)
            if error:
                raise ApplicationError("Some fields are invalid.", fields={"phone": [error]})
            values[key] = phone_normalize(value, country_normalize(data.get("country")) or "")
        else:
            values[key] = text_clean(value)
    return values


def _postal_code_check(address: Address) -> None:
    """The address's postal code is one of its country's (checked on every manual write, so a
    country changed without the code is caught too)."""
    error = postal_code_error(address.postal_code, address.country)
    if error:
        raise ApplicationError("Some fields are invalid.", fields={"postal_code": [error]})


def _refuse_if_erased(customer: Customer) -> None:
    if customer.is_pseudonymized:
        raise Conflict("This customer was pseudonymized: no personal data can be added to it.",
                       code=ErrorCode.CUSTOMER_PSEUDONYMIZED,
                       fields={"customer": ["Pseudonymized customers cannot be given addresses."]})


def _address_save(address: Address, *, actor: Actor, action: str, before: dict) -> Address:
    full_clean_or_raise(address, "Some fields are invalid.", validate_constraints=False)
    if before.get("postal_code") != address.postal_code or before.get("country") != address.country:
        _postal_code_check(address)
    if address.is_default:
        # The partial unique constraint allows one default per type: demote the old one first.
        Address.objects.filter(customer_id=address.customer_id, address_type=address.address_type,
                               is_default=True).exclude(pk=address.pk).update(is_default=False)
    address.save()
    after = {key: getattr(address, key) for key in ADDRESS_EDITABLE}
    audit_record(actor=actor, action=action, resource_type="customer_address", resource_id=address.pk,
                 tenant=connection.tenant, changes=changes_between(before, after))
    return address


@transaction.atomic
def address_create(*, customer_id: int, data: dict, actor: Actor, source: str = MANUAL_SOURCE) -> Address:
    """Add an address; ``is_default`` demotes the customer's previous default of that type, and the
    first address of a type becomes its default. Refused (409 ``customer_pseudonymized``) for an
    erased person: an address is personal data, and erasure is final."""
    customer = get_or_not_found(Customer, customer_id, "Customer not found.", lock=True)
    _refuse_if_erased(customer)
    values = _address_values(data)
    address = Address(customer=customer, source=source, **values)
    if not Address.objects.filter(customer=customer, address_type=address.address_type, is_default=True).exists():
        address.is_default = True
    return _address_save(address, actor=actor, action=AuditAction.CUSTOMER_ADDRESS_CREATE, before={})


@transaction.atomic
def address_update(*, customer_id: int, address_id: int, data: dict, actor: Actor) -> Address:
    """Change an address; refused (409 ``customer_pseudonymized``) for an erased person."""
    customer_pk, address_pk = parse_id(customer_id), parse_id(address_id)
    customer = Customer.objects.select_for_update().filter(pk=customer_pk).first() if customer_pk else None
    address = Address.objects.filter(pk=address_pk, customer_id=customer_pk).first() if address_pk else None
    if customer is None or address is None:
        raise NotFound("Address not found.")
    _refuse_if_erased(customer)
    before = {key: getattr(address, key) for key in ADDRESS_EDITABLE}
    for key, value in _address_values(data).items():
        setattr(address, key, value)
    return _address_save(address, actor=actor, action=AuditAction.CUSTOMER_ADDRESS_UPDATE, before=before)


@transaction.atomic
def customer_create(*, data: dict, actor: Actor) -> Customer:
    """A customer entered by a person (admin, portal). Email and document stay unique."""
    _unknown_fields_refuse(data)
    values = {key: value for key, value in _manual_values(data).items() if not empty(value)}
    if not (values.get("email") or values.get("document_number") or values.get("first_name")
            or values.get("last_name")):
        raise ApplicationError("Give at least an email, a document or a name.",
                               fields={"email": ["Required without a document or a name."]})
    sensitive_changes_check(actor=actor, fields=list(values), tenant=connection.tenant)
    _identifiers_free(values, document_type=values.get("document_type", ""))
    customer = Customer(source=MANUAL_SOURCE, **values,
                        field_sources={key: MANUAL_SOURCE for key in values if key in PROFILE_FIELDS})
    _full_clean(customer)
    customer.save()
    audit_record(actor=actor, action=AuditAction.CUSTOMER_CREATE, resource_type="customer", resource_id=customer.pk,
                 tenant=connection.tenant, changes={key: _audit_text(key, value) for key, value in values.items()})
    publish_on_commit([("customer.created", {"customer_id": customer.pk, "source": MANUAL_SOURCE})])
    return customer


@transaction.atomic
def source_priority_set(*, source: str, priority: int, actor: Actor, description: str = "") -> SourcePriority:
    """Rank a source for conflict resolution (``manual`` is always highest and cannot be ranked)."""
    source = text_clean(source).lower()
    if not source or source == MANUAL_SOURCE:
        raise ApplicationError("Choose a feed's source name.", fields={"source": ["'manual' always ranks highest."]})
    if not isinstance(priority, int) or not -1000 <= priority < MANUAL_PRIORITY:
        raise ApplicationError("Invalid priority.", fields={"priority": ["A whole number from -1000 up."]})
    row, _ = SourcePriority.objects.update_or_create(source=source,
                                                     defaults={"priority": priority, "description": description})
    audit_record(actor=actor, action=AuditAction.SOURCE_PRIORITY_SET, resource_type="source_priority", resource_id=row.pk,
                 tenant=connection.tenant, changes={"source": source, "priority": priority})
    return row


@transaction.atomic
def source_priority_delete(*, source: str, actor: Actor) -> None:
    """Forget a source's rank: it falls back to the default (DEFAULT_SOURCE_PRIORITY)."""
    row = SourcePriority.objects.select_for_update().filter(source=source).first()
    if row is None:
        raise NotFound("No rank for this source.")
    row.delete()
    audit_record(actor=actor, action=AuditAction.SOURCE_PRIORITY_DELETE, resource_type="source_priority",
                 resource_id=source, tenant=connection.tenant,
                 changes=changes_between({"priority": row.priority}, {}))

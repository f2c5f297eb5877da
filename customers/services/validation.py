"""Validation of canonical order records: every field checked, every problem reported with the
field's path, nothing written. ``order_record_clean`` is pure apart from the tenant's defaults."""

from __future__ import annotations

import datetime
import decimal
import json
import re
import zoneinfo
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from customers.documents import postal_code_error
from customers.models import Address, Order
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

SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
#: A coalition partner's slug (``Order.partner``): lowercase letters, digits, '_' or '-'.
PARTNER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = decimal.Decimal("9999999999999.99")
CENT = decimal.Decimal("0.01")
ORDER_AMOUNT_FIELDS = ("subtotal", "tax_amount", "shipping_cost", "discount_amount")
ADDRESS_FIELDS = ("line1", "line2", "number", "neighborhood", "city", "state", "postal_code", "country",
                  "recipient_name", "phone", "type")
#: Profile fields a record may carry, in the order they are applied.
PROFILE_FIELDS = ("email", "phone", "document_type", "document_number", "first_name", "last_name", "birth_date",
                  "gender", "city", "state", "country")
#: Address parts longer than their column are refused (cut only for lenient records).
ADDRESS_LIMITS = {"line1": 255, "line2": 255, "number": 20, "neighborhood": 100, "city": 150, "state": 150,
                  "postal_code": 20, "country": 255, "recipient_name": 255, "phone": 255, "type": 255}
TEXT_LIMITS = {"first_name": 150, "last_name": 150, "city": 150, "state": 150, "external_id": 255,
               "document_type": 20, "document_number": 50, "payment_method": 100}
#: What stores send about an order besides its amounts, as free text up to these lengths
#: (``payment_status`` is checked against ``Order.PaymentStatus`` on top).
ORDER_TEXT_FIELDS = {"order_number": 64, "payment_status": 20, "shipping_method": 100, "utm_source": 150,
                     "utm_medium": 150, "utm_campaign": 150}

#: The choices' values, computed once: Django builds the ``.values`` list anew at each access, and
#: a batch of 1,000 records asked for it 3,000 times.
ORDER_STATUSES = frozenset(Order.Status.values)
PAYMENT_STATUSES = frozenset(Order.PaymentStatus.values)
ADDRESS_TYPES = frozenset(Address.Type.values)


@dataclass
class CleanOrder:
    """A validated, normalized canonical order."""

    source: str
    external_order_id: str
    partner: str  # a coalition partner's slug, "" when none
    order_date: datetime.datetime
    status: str
    currency: str
    total_amount: decimal.Decimal
    amounts: dict
    payment_method: str
    details: dict  # ORDER_TEXT_FIELDS: order number, payment status, shipping method, UTM
    customer_external_id: str
    profile: dict  # normalized non-empty profile values only
    address: dict | None
    items: list[dict] | None
    raw: object


@dataclass
class Errors:
    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _amount(value, path: str, errors: Errors, *, required: bool = False) -> decimal.Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(path, "This field is required.")
        return None
    if isinstance(value, bool):
        errors.add(path, "Must be a number.")
        return None
    try:
        amount = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        errors.add(path, "Must be a number.")
        return None
    if not amount.is_finite():
        errors.add(path, "Must be a number.")
        return None
    if amount < 0:
        errors.add(path, "Must be zero or more.")
        return None
    if amount > MAX_AMOUNT:
        errors.add(path, "Too large.")
        return None
    return amount.quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def _datetime(value, path: str, errors: Errors, tz, *, required: bool) -> datetime.datetime | None:
    text = text_clean(value)
    if not text:
        if required:
            errors.add(path, "This field is required.")
        return None
    parsed = None
    try:
        parsed = parse_datetime(text.replace(" ", "T", 1) if len(text) > 10 else text)
        if parsed is None:
            day = parse_date(text)
            if day is not None:
                parsed = datetime.datetime.combine(day, datetime.time())
    except ValueError:
        parsed = None
    if parsed is None:
        errors.add(path, "Use an ISO 8601 date or date-time, e.g. 2024-05-31T14:20:00-03:00.")
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, tz)
    if parsed.year < 1970 or parsed > timezone.now() + datetime.timedelta(days=2):
        errors.add(path, "Out of range (before 1970 or in the future).")
        return None
    return parsed


def _bounded_text(value, path: str, errors: Errors, limit: int) -> str:
    if value is not None and not isinstance(value, (str, int, float, decimal.Decimal)):
        errors.add(path, "Must be a string.")
        return ""
    text = text_clean(value)
    if len(text) > limit:
        errors.add(path, f"At most {limit} characters.")
        return ""
    return text


def _customer(data, errors: Errors, *, lenient: bool = False) -> tuple[str, dict, dict | None]:
    """The record's customer: its external id, its normalized profile and its address. An
    optional value that cannot be read (a phone, a gender, an address phone, an address part too
    long) rejects the record; with ``lenient`` (data pulled from a store, see
    ``order_record_clean``) it is left out instead (or cut to length), and being empty it
    overwrites nothing."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.add("customer", "Must be an object.")
        return "", {}, None
    external_id = _bounded_text(data.get("external_id"), "customer.external_id", errors, 255)
    profile: dict = {}
    _contact(data, profile, errors)
    _document(data, profile, errors, lenient=lenient)
    _phone(data, profile, errors, lenient=lenient)
    _person(data, profile, errors, lenient=lenient)
    if not (external_id or profile.get("email") or profile.get("document_number")):
        if not any(key.startswith("customer.") for key in errors.by_field):
            errors.add("customer", "Give at least one identifier: email, external_id or document_number.")
    address = _address(data.get("address"), errors, lenient=lenient, country=profile.get("country", ""))
    return external_id, profile, address


def _contact(data: dict, profile: dict, errors: Errors) -> None:
    """Email and country."""
    email = email_normalize(data.get("email"))
    if email:
        if email_is_valid(email):
            profile["email"] = email
        else:
            errors.add("customer.email", "Enter a valid email address.")
    country = country_normalize(data.get("country"))
    if country is None:
        errors.add("customer.country", COUNTRY_MESSAGE)
    elif country:
        profile["country"] = country


def _phone(data: dict, profile: dict, errors: Errors, *, lenient: bool) -> None:
    """The phone, read in the numbering of the customer's country."""
    phone_problem = phone_error(data.get("phone"))
    if phone_problem and not lenient:
        errors.add("customer.phone", phone_problem)
    phone = "" if phone_problem else phone_normalize(data.get("phone"), profile.get("country", ""))
    if phone:
        profile["phone"] = phone


def _document(data: dict, profile: dict, errors: Errors, *, lenient: bool = False) -> None:
    """The document, a type and a number that go together, checked by its type's check digits and
    format (customers.documents) in the customer's country, kept in compact form. A store's
    invalid document (``lenient``) is left out: empty, it overwrites nothing."""
    doc_type = document_type_normalize(data.get("document_type"))
    raw_number = text_clean(data.get("document_number"))
    if not raw_number:
        return
    if not doc_type:
        errors.add("customer.document_type", "Required with a document number.")
        return
    if len(doc_type) > TEXT_LIMITS["document_type"]:
        errors.add("customer.document_type", "At most 20 characters.")
        return
    country = profile.get("country", "")
    problem = document_number_error(raw_number, doc_type, country)
    if problem:
        if not lenient:
            errors.add("customer.document_number", problem)
        return
    number = document_number_normalize(raw_number, doc_type, country)
    if len(number) > TEXT_LIMITS["document_number"]:
        errors.add("customer.document_number", "At most 50 characters.")
        return
    profile["document_type"] = doc_type
    profile["document_number"] = number


def _person(data: dict, profile: dict, errors: Errors, *, lenient: bool) -> None:
    """Names, city, state, birth date and gender."""
    for key in ("first_name", "last_name", "city", "state"):
        value = _bounded_text(data.get(key), f"customer.{key}", errors, TEXT_LIMITS[key])
        if value:
            profile[key] = value
    day, birth_problem = birth_date_parse(data.get("birth_date"), today=timezone.localdate())
    if birth_problem:
        errors.add("customer.birth_date", birth_problem)
    elif day:
        profile["birth_date"] = day
    gender_problem = gender_error(data.get("gender"))
    if gender_problem and not lenient:
        errors.add("customer.gender", gender_problem)
    gender = gender_normalize(data.get("gender"))
    if gender:
        profile["gender"] = gender


def _address(raw_address, errors: Errors, *, lenient: bool, country: str) -> dict | None:
    """The customer's address (its country defaults to the customer's), or None when absent."""
    if raw_address in (None, "", {}):
        return None
    if not isinstance(raw_address, dict):
        errors.add("customer.address", "Must be an object.")
        return None
    address = {key: text_clean(raw_address.get(key)) for key in ADDRESS_FIELDS}
    for key, limit in ADDRESS_LIMITS.items():
        if len(address[key]) > limit:
            if not lenient:
                errors.add(f"customer.address.{key}", f"At most {limit} characters.")
            address[key] = address[key][:limit]
    address["type"] = address["type"].lower() or Address.Type.SHIPPING.value
    if address["type"] not in ADDRESS_TYPES:
        errors.add("customer.address.type", "Use shipping or billing.")
    if not address["line1"]:
        errors.add("customer.address.line1", "This field is required.")
    address_country = country_normalize(address["country"])
    if address_country is None:
        errors.add("customer.address.country", COUNTRY_MESSAGE)
    address["country"] = address_country or country
    address_phone_problem = phone_error(address["phone"])
    if address_phone_problem and not lenient:
        errors.add("customer.address.phone", address_phone_problem)
    address["phone"] = "" if address_phone_problem else phone_normalize(address["phone"], address["country"])
    postal_problem = postal_code_error(address["postal_code"], address["country"])
    if postal_problem:
        if not lenient:
            errors.add("customer.address.postal_code", postal_problem)
        address["postal_code"] = ""
    return address


def _items(value, errors: Errors) -> list[dict] | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):  # CSV cells carry the items as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            errors.add("items", "Not valid JSON.")
            return None
    if not isinstance(value, list):
        errors.add("items", "Must be a list.")
        return None
    items = []
    for index, item in enumerate(value):
        path = f"items[{index}]"
        if not isinstance(item, dict):
            errors.add(path, "Must be an object.")
            continue
        sku = _bounded_text(item.get("sku"), f"{path}.sku", errors, 100)
        name = _bounded_text(item.get("name"), f"{path}.name", errors, 255)
        if not sku and not name:
            errors.add(f"{path}.sku", "Give a sku or a name.")
        quantity = _amount(item.get("quantity", 1), f"{path}.quantity", errors, required=True)
        if quantity is not None and quantity <= 0:
            errors.add(f"{path}.quantity", "Must be more than zero.")
        unit_price = _amount(item.get("unit_price", 0), f"{path}.unit_price", errors, required=True)
        if quantity is not None and unit_price is not None:
            items.append({"sku": sku, "name": name, "quantity": quantity, "unit_price": unit_price,
                          "total_price": (quantity * unit_price).quantize(CENT)})
    return items


def order_record_clean(record, *, default_source: str, default_currency: str, tz_name: str = "UTC",
                       lenient_profile: bool = False):
    """``(CleanOrder, None)`` or ``(None, {field path: [messages]})`` for one canonical record.

    ``lenient_profile``: for records a connector built from a store's payload (VTEX,
    MercadoLibre). The tenant cannot correct the store's data and rejecting the order would lose
    a sale, so an unreadable optional value (phone, gender, address phone, an address part too
    long) is left out or cut rather than rejecting the record. Left out, it is empty, and empty
    never overwrites: a stored phone survives a store's garbled one. Records sent by people or
    their programs (the ingest API, file imports) are strict: they are rejected with the field's
    reason, so the sender can fix them."""
    errors = Errors()
    if not isinstance(record, dict):
        return None, {"non_field_errors": ["Each order must be an object."]}
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC

    source = text_clean(record.get("source")).lower() or default_source
    if not SOURCE_RE.match(source):
        errors.add("source", "Use up to 50 lowercase letters, digits, '.', '_' or '-'.")
    external_order_id = _bounded_text(record.get("external_order_id"), "external_order_id", errors, 255)
    if not external_order_id and "external_order_id" not in errors.by_field:
        errors.add("external_order_id", "This field is required.")
    partner = text_clean(record.get("partner")).lower()
    if partner and not PARTNER_RE.match(partner):
        errors.add("partner", "A partner's slug: up to 64 lowercase letters, digits, '_' or '-'.")
    order_date = _datetime(record.get("order_date"), "order_date", errors, tz, required=True)
    status = text_clean(record.get("status")).lower() or Order.Status.COMPLETED
    if status not in ORDER_STATUSES:
        errors.add("status", f"Choose one of: {', '.join(Order.Status.values)}.")
    currency = text_clean(record.get("currency")).upper() or default_currency
    if not CURRENCY_RE.match(currency):
        errors.add("currency", "Use an ISO 4217 code such as ARS, BRL or USD.")
    total_amount = _amount(record.get("total_amount"), "total_amount", errors, required=True)
    amounts = {key: _amount(record.get(key), key, errors) for key in ORDER_AMOUNT_FIELDS}
    payment_method = _bounded_text(record.get("payment_method"), "payment_method", errors, 100)
    details = {key: _bounded_text(record.get(key), key, errors, limit) for key, limit in ORDER_TEXT_FIELDS.items()}
    details["payment_status"] = details["payment_status"].lower()
    if details["payment_status"] not in PAYMENT_STATUSES:
        errors.add("payment_status", f"Choose one of: {', '.join(v for v in Order.PaymentStatus.values if v)}.")
    external_id, profile, address = _customer(record.get("customer"), errors, lenient=lenient_profile)
    items = _items(record.get("items"), errors)
    if errors:
        return None, errors.by_field
    return CleanOrder(
        source=source, external_order_id=external_order_id, partner=partner, order_date=order_date, status=status,
        currency=currency, total_amount=total_amount, amounts=amounts, payment_method=payment_method,
        details=details, customer_external_id=external_id, profile=profile, address=address, items=items,
        raw=_raw_without_document(record),
    ), None


def _raw_without_document(record: dict):
    """The payload kept with the order: a canonical record loses its document number (kept sealed on
    the customer only, customers/documents.py); a store's own payload (``raw``) is kept as sent."""
    if "raw" in record:
        return record["raw"]
    customer = record.get("customer")
    if isinstance(customer, dict) and "document_number" in customer:
        return {**record, "customer": {key: value for key, value in customer.items() if key != "document_number"}}
    return record


#: What a customer record (``POST /api/v1/customers/``, lead and subscriber imports) may carry
#: besides the profile fields: how the person came (``kind``), who sent them (``source``), their
#: id there (``external_id``), an address and custom attribute values.
CUSTOMER_RECORD_KINDS = ("lead", "subscriber")
CUSTOMER_RECORD_KEYS = frozenset({*PROFILE_FIELDS, "kind", "source", "external_id", "address", "attributes"})


@dataclass
class CleanCustomerRecord:
    """A validated, normalized customer record (a lead or a subscriber, no order)."""

    kind: str
    source: str
    customer_external_id: str
    profile: dict  # normalized non-empty profile values only
    address: dict | None
    attributes: dict  # raw values by attribute key; checked against the definitions by the service


def customer_record_clean(record, *, default_source: str):
    """``(CleanCustomerRecord, None)`` or ``(None, {field: [messages]})`` for one customer record:
    the profile checked by the rules of an order's customer (strict: the sender can fix it), field
    names without the ``customer.`` prefix, unknown keys refused (a misspelt field is not silently
    dropped)."""
    if not isinstance(record, dict):
        return None, {"non_field_errors": ["Each customer must be an object (a JSON object per line, or a CSV row)."]}
    errors = Errors()
    for key in sorted(set(record) - CUSTOMER_RECORD_KEYS, key=str):
        errors.add(str(key), "Unknown field.")
    kind = text_clean(record.get("kind")).lower() or "lead"
    if kind not in CUSTOMER_RECORD_KINDS:
        errors.add("kind", f"Choose one of: {', '.join(CUSTOMER_RECORD_KINDS)}.")
    source = text_clean(record.get("source")).lower() or default_source
    if not SOURCE_RE.match(source):
        errors.add("source", "Use up to 50 lowercase letters, digits, '.', '_' or '-'.")
    attributes = record.get("attributes") or {}
    if not isinstance(attributes, dict):
        errors.add("attributes", "Must be an object of attribute keys and values.")
        attributes = {}
    customer_errors = Errors()
    external_id, profile, address = _customer(record, customer_errors)
    for path, messages in customer_errors.by_field.items():
        name = "non_field_errors" if path == "customer" else path.removeprefix("customer.")
        for message in messages:
            errors.add(name, message)
    if errors:
        return None, errors.by_field
    return CleanCustomerRecord(kind=kind, source=source, customer_external_id=external_id, profile=profile,
                               address=address, attributes=attributes), None

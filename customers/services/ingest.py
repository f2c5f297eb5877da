"""The one ingest path: canonical order records in, unified customers and idempotent orders out.

Every source (API, CSV/JSONL import, connectors) calls ``order_ingest``. Large files use the
set-based twin in ``customers.services.bulk``, which applies the same rules in SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction

from cdp import registry as cdp_registry
from cdp.context import Actor
from cdp.ops import metrics as ops_metrics
from cdp.exceptions import ApplicationError
from customers.codes import AuditAction, ErrorCode
from customers.models import Customer, CustomerChangeLog, CustomerIdentity, Order, OrderItem, Product
from customers.registry import publish_on_commit
from customers.services.locks import ingest_lock_shared
from customers.services.profile import address_from_order, customer_profile_apply, source_priorities
from customers.services.sales import customer_aggregates_refresh
from customers.services.validation import CleanOrder, order_record_clean
from tenants.services import audit_record

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
#: Attempts per record when a concurrent batch wins a unique constraint (then we find its row).
RESOLVE_ATTEMPTS = 4
#: Order fields compared on re-ingest; a difference makes the record ``updated``.
ORDER_FIELDS = ("order_date", "status", "currency", "total_amount", "subtotal", "tax_amount", "shipping_cost",
                "discount_amount", "payment_method", "order_number", "payment_status", "shipping_method", "utm_source",
                "utm_medium", "utm_campaign")

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
CUSTOMERS, IDENTITIES, ORDERS = Customer._meta.db_table, CustomerIdentity._meta.db_table, Order._meta.db_table
PRODUCTS, ORDER_ITEMS = Product._meta.db_table, OrderItem._meta.db_table


@dataclass
class RecordResult:
    index: int
    status: str
    order_id: int | None = None
    customer_id: int | None = None
    errors: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"index": self.index, "status": self.status, "order_id": self.order_id,
                "customer_id": self.customer_id, "errors": self.errors}


@dataclass
class IngestResult:
    results: list[RecordResult]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    def as_dict(self) -> dict:
        return {"created": self.count(CREATED), "updated": self.count(UPDATED), "unchanged": self.count(UNCHANGED),
                "rejected": self.count(REJECTED), "results": [result.as_dict() for result in self.results]}


def _without_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters: drop them everywhere (keys too)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _new_customer_count(cleaned: list[CleanOrder]) -> int:
    """How many customers the batch would create (for the plan quota), without writing."""
    ext = {(c.source, c.customer_external_id) for c in cleaned if c.customer_external_id}
    emails = {c.profile["email"] for c in cleaned if c.profile.get("email")}
    docs = {(c.profile["document_type"], c.profile["document_number"]) for c in cleaned
            if c.profile.get("document_number")}
    known_ext, known_emails, known_docs = set(), set(), set()
    if ext:
        sources = {s for s, _ in ext}
        known_ext = {(s, e) for s, e in CustomerIdentity.objects.filter(
            source__in=sources, external_id__in=[e for _, e in ext]).values_list("source", "external_id")} & ext
    if emails:
        known_emails = set(Customer.objects.filter(email__in=emails).values_list("email", flat=True))
    if docs:
        known_docs = set(Customer.objects.filter(document_number__in=[n for _, n in docs])
                         .values_list("document_type", "document_number")) & docs
    def known(c: CleanOrder) -> bool:
        """The record names a customer we have (by identity, email or document)."""
        return bool((c.customer_external_id and (c.source, c.customer_external_id) in known_ext)
                    or c.profile.get("email") in known_emails
                    or (c.profile.get("document_type"), c.profile.get("document_number")) in known_docs)

    # New people: records sharing an identity, an email or a document are one person (each
    # person is the set of its keys; a record joining two sets makes them one).
    persons: list[set] = []
    for c in cleaned:
        if known(c):
            continue
        keys = set()
        if c.customer_external_id:
            keys.add(("identity", c.source, c.customer_external_id))
        if c.profile.get("email"):
            keys.add(("email", c.profile["email"]))
        if c.profile.get("document_number"):
            keys.add(("document", c.profile["document_type"], c.profile["document_number"]))
        merged = [p for p in persons if p & keys]
        for p in merged:
            persons.remove(p)
            keys |= p
        persons.append(keys)
    return len(persons)


def _follow_merges(customer: Customer | None) -> Customer | None:
    seen = set()
    while customer is not None and customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_resolve(*, clean: CleanOrder, actor: Actor, priorities: dict[str, int], events: list):
    """Find the record's customer by (source, external id), then normalized email, then document;
    create it when nobody matches; apply the profile under the conflict rule; record the identity.

    Must run inside a savepoint: a concurrent batch creating the same person makes one of the
    unique constraints fail here, and the caller retries, then finding the winner's row."""
    # The three lookups in resolution order, in one round trip (this runs for every record), and
    # the erased person this order already belongs to, if any.
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT i.customer_id, coalesce(i.customer_id,
                     (SELECT id FROM {CUSTOMERS} WHERE email = %s),
                     (SELECT id FROM {CUSTOMERS} WHERE document_type = %s AND document_number = %s)),
                   (SELECT o.customer_id FROM {ORDERS} o JOIN {CUSTOMERS} c ON c.id = o.customer_id
                     WHERE o.source = %s AND o.external_order_id = %s AND c.is_pseudonymized)
              FROM (SELECT (SELECT customer_id FROM {IDENTITIES}
                             WHERE source = %s AND external_id = %s) AS customer_id) i""",
                       [clean.profile.get("email"), clean.profile.get("document_type"),
                        clean.profile.get("document_number"), clean.source, clean.external_order_id, clean.source,
                        clean.customer_external_id])
        by_identity, found, erased_owner = cursor.fetchone()
    if erased_owner is not None:
        # An erased person's order sent again: it may update the order, never a profile. Its
        # customer data must not re-create the person (a new profile) nor re-attach an identity.
        return Customer.objects.select_for_update().get(pk=erased_owner)

    if found is None:
        profile = dict(clean.profile)
        customer = Customer.objects.create(
            source=clean.source, field_sources={key: clean.source for key in profile}, **profile,
        )
        events.append(("customer.created", {"customer_id": customer.pk, "source": clean.source}))
    else:
        customer = Customer.objects.select_for_update().get(pk=found)
        if customer.merged_into_id:  # merged away: the survivor is the customer now
            customer = Customer.objects.select_for_update().get(pk=_follow_merges(customer).pk)
        if not customer.is_pseudonymized:
            changed = customer_profile_apply(customer=customer, values=clean.profile, source=clean.source,
                                             actor=actor, priorities=priorities,
                                             reason=f"order {clean.source}:{clean.external_order_id}")
            if changed:
                customer.save(update_fields=[*changed, "field_sources", "updated_at"])
                events.append(("customer.updated", {"customer_id": customer.pk, "fields": changed}))
    if clean.customer_external_id and by_identity is None:
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO {IDENTITIES} (customer_id, source, external_id, created_at, last_seen_at)
                VALUES (%s, %s, %s, now(), now())
                ON CONFLICT (source, external_id) DO NOTHING RETURNING id""",
                           [customer.pk, clean.source, clean.customer_external_id])
            if cursor.fetchone() is None:
                # A concurrent batch recorded this identity first: start the record again, which
                # then finds the customer through it (nothing of this attempt is kept).
                raise IntegrityError(f"identity {clean.source}:{clean.customer_external_id} recorded concurrently")
    return customer


def _items_signature(items) -> list[tuple]:
    return sorted((i["sku"], i["name"], i["quantity"], i["unit_price"]) for i in items)


def _items_write(order: Order, items: list[dict]) -> None:
    """The order's items, each linked to its product (created when its sku is new, named after
    the last item naming it). Two statements whatever the number of items: the products, then
    the items, which read the products in a new snapshot (one a concurrent batch just committed
    included)."""
    skus = {item["sku"]: item["name"] for item in items if item["sku"]}
    with connection.cursor() as cursor:
        if skus:
            cursor.execute(f"""
                INSERT INTO {PRODUCTS} (sku, name, category, brand, currency, is_active, metadata,
                                        created_at, updated_at)
                SELECT sku, name, '', '', '', true, '{{}}', now(), now() FROM unnest(%s::text[], %s::text[]) AS p(sku, name)
                ON CONFLICT (sku) DO NOTHING""", [list(skus), list(skus.values())])
        cursor.execute(f"""
            INSERT INTO {ORDER_ITEMS} (order_id, product_id, sku, name, quantity, unit_price, total_price)
            SELECT %s, p.id, i.sku, i.name, i.quantity, i.unit_price, i.total_price
              FROM unnest(%s::text[], %s::text[], %s::numeric[], %s::numeric[], %s::numeric[])
                   WITH ORDINALITY AS i(sku, name, quantity, unit_price, total_price, n)
              LEFT JOIN {PRODUCTS} p ON p.sku = i.sku AND i.sku <> ''
             ORDER BY i.n""",
                       [order.pk, *([item[key] for item in items]
                                    for key in ("sku", "name", "quantity", "unit_price", "total_price"))])


def _order_upsert(*, clean: CleanOrder, customer: Customer, actor: Actor) -> tuple[Order, str]:
    values = {"order_date": clean.order_date, "status": clean.status, "currency": clean.currency,
              "total_amount": clean.total_amount, "payment_method": clean.payment_method, **clean.amounts,
              **clean.details}
    order = (Order.objects.select_for_update(of=("self",)).select_related("customer")
             .filter(source=clean.source, external_order_id=clean.external_order_id).first())
    if order is None:
        order = Order.objects.create(customer=customer, source=clean.source,
                                     external_order_id=clean.external_order_id, raw=clean.raw,
                                     shipping_address=clean.address, **values)
        if clean.items:
            _items_write(order, clean.items)
        return order, CREATED

    changes = {key: (getattr(order, key), value) for key, value in values.items() if getattr(order, key) != value}
    items_changed = False
    if clean.items is not None:
        current = [{"sku": i.sku, "name": i.name, "quantity": i.quantity, "unit_price": i.unit_price}
                   for i in order.items.all()]
        items_changed = _items_signature(current) != _items_signature(clean.items)
    if not changes and not items_changed:
        return order, UNCHANGED
    for key, (_, new) in changes.items():
        setattr(order, key, new)
    if not order.customer.is_pseudonymized:
        # An erased person's order keeps its scrubbed payload: a source re-sending the order
        # must not bring the personal data back.
        order.raw = clean.raw
        if clean.address:
            order.shipping_address = clean.address
    order.save()
    if items_changed:
        order.items.all().delete()
        _items_write(order, clean.items)
        changes["items"] = (len(current), len(clean.items))
    CustomerChangeLog.objects.bulk_create([
        CustomerChangeLog(customer_id=order.customer_id, field=f"order.{key}",
                          old_value=None if old is None else str(old), new_value=None if new is None else str(new),
                          source=clean.source, changed_by=actor.label[:255],
                          reason=f"order {clean.source}:{clean.external_order_id} re-ingested")
        for key, (old, new) in changes.items()
    ])
    return order, UPDATED


def _ingest_one(*, clean: CleanOrder, actor: Actor, priorities: dict[str, int], events: list) -> RecordResult:
    last_error: Exception | None = None
    for _ in range(RESOLVE_ATTEMPTS):
        record_events: list = []
        try:
            with transaction.atomic():
                customer = customer_resolve(clean=clean, actor=actor, priorities=priorities, events=record_events)
                order, outcome = _order_upsert(clean=clean, customer=customer, actor=actor)
                if clean.address and not customer.is_pseudonymized:
                    address_from_order(customer=customer, address=clean.address, source=clean.source)
        except (IntegrityError, OperationalError) as exc:
            # Lost a race (unique violation) or a deadlock with a concurrent batch: the savepoint
            # is gone, so nothing of this record is written; look again and find the winner's rows.
            last_error = exc
            continue
        events.extend(record_events)
        if outcome != UNCHANGED:
            events.append(("order.ingested", {"order_id": order.pk, "customer_id": order.customer_id,
                                              "outcome": outcome}))
        return RecordResult(index=-1, status=outcome, order_id=order.pk, customer_id=order.customer_id)
    raise DatabaseError(f"Could not store order {clean.source}:{clean.external_order_id}: {last_error}")


def order_ingest(*, records: list, actor: Actor, tenant, default_source: str = "api",
                 lenient_profile: bool = False) -> IngestResult:
    """Ingest canonical order records (at most MAX_BATCH) and report each one.

    Promises: invalid records are rejected with field-level reasons and leave nothing behind;
    valid ones are stored in the same call (one savepoint each); re-sending a record is
    ``unchanged``; a changed status or amount is ``updated`` and logged; concurrent batches naming
    the same new person create one customer; aggregates are exact when this returns; events are
    published after commit. Raises QuotaExceeded (nothing written) when the plan's customer limit
    would be passed. ``lenient_profile`` is for connectors: see ``order_record_clean``."""
    if not isinstance(records, list):
        raise ApplicationError("`orders` must be a list.", fields={"orders": ["Must be a list."]})
    if len(records) > MAX_BATCH:
        raise ApplicationError(f"At most {MAX_BATCH} orders per batch.", code=ErrorCode.BATCH_TOO_LARGE,
                               fields={"orders": [f"At most {MAX_BATCH} orders per batch; got {len(records)}."]})
    currency = tenant.setting("currency")
    tz_name = tenant.setting("timezone")
    results: list[RecordResult | None] = [None] * len(records)
    valid: list[tuple[int, CleanOrder]] = []
    seen_orders: dict[tuple[str, str], int] = {}
    for index, record in enumerate(records):
        record = _without_nul(record)
        clean, errors = order_record_clean(record, default_source=default_source, default_currency=currency,
                                           tz_name=tz_name, lenient_profile=lenient_profile)
        if errors:
            results[index] = RecordResult(index=index, status=REJECTED, errors=errors)
            continue
        key = (clean.source, clean.external_order_id)
        if key in seen_orders:
            results[index] = RecordResult(index=index, status=REJECTED, errors={
                "external_order_id": [f"Same order as record {seen_orders[key]} of this batch."]})
            continue
        seen_orders[key] = index
        valid.append((index, clean))

    events: list = []
    with transaction.atomic():
        if valid:
            with connection.cursor() as cursor:
                ingest_lock_shared(cursor)
            adding = _new_customer_count([clean for _, clean in valid])
            if adding:
                cdp_registry.quota_check("customers", tenant=tenant, adding=adding)
            priorities = source_priorities()
            touched: set[int] = set()
            # In the batch's own order: a later record may link identities an earlier one created.
            # (A deadlock with a concurrent batch is retried like a lost race, per record.)
            for index, clean in valid:
                result = _ingest_one(clean=clean, actor=actor, priorities=priorities, events=events)
                result.index = index
                results[index] = result
                touched.add(result.customer_id)
            customer_aggregates_refresh(customer_ids=touched)
        result = IngestResult(results=results)
        if valid:
            audit_record(actor=actor, action=AuditAction.ORDERS_INGEST, resource_type="order", tenant=tenant,
                         changes={key: result.count(key) for key in (CREATED, UPDATED, UNCHANGED, REJECTED)})
        publish_on_commit(events)
    ops_metrics.orders_ingested(source=default_source, counts={
        key: result.count(key) for key in (CREATED, UPDATED, UNCHANGED, REJECTED)})
    return result

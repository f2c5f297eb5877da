"""Leads and subscribers through the API: ``POST /api/v1/customers/`` (one record) and
``POST /api/v1/customers/bulk/`` (JSON, CSV or JSON Lines, at most 1,000 records), both through
``customers.services.leads.customer_ingest`` (identity resolution, priorities, change log)."""

from __future__ import annotations

from django.db import connection
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response

from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from customers import selectors
from customers.api import serializers
from customers.services.ingest import CREATED, REJECTED
from customers.services.lead_files import csv_records, jsonl_records
from customers.services.leads import customer_ingest


class _TextParser(BaseParser):
    reader = None

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            text = stream.read().decode((parser_context or {}).get("encoding") or "utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("The body must be UTF-8 text.") from exc
        return {"customers": list(type(self).reader(text))}


class CsvParser(_TextParser):
    """A CSV with a header row: record fields as columns, ``address_<part>`` and ``attribute_<key>``."""

    media_type = "text/csv"
    reader = staticmethod(csv_records)


class JsonLinesParser(_TextParser):
    """One JSON record per line."""

    media_type = "application/x-ndjson"
    reader = staticmethod(jsonl_records)


BULK_PARSERS = [JSONParser, CsvParser, JsonLinesParser]

LEAD_DESCRIPTION = (
    "Upsert a lead or a subscriber (a customer without an order) through the order ingest's identity "
    "resolution: (source, external_id), then e-mail, then document. The source's priority decides which stored "
    "values it may overwrite; an empty value never overwrites; every change is in the change log. Sending the "
    "same record again changes nothing (`unchanged`): retries are safe without an idempotency key. 201 when a "
    "customer was created, 200 otherwise; 400 with field errors when the record is invalid."
)
BULK_DESCRIPTION = (
    "Upsert up to 1,000 leads or subscribers: `{\"customers\": [...]}` as JSON, a CSV (`text/csv`: columns named "
    "as the record's fields, `address_<part>` and `attribute_<key>`) or JSON Lines (`application/x-ndjson`). One "
    "result per record, in order; the good records are stored even when others are rejected."
)


def lead_create(request) -> Response:
    """One record: the customer, or the record's field errors (400, nothing stored)."""
    result = customer_ingest(records=[request.data], actor=actor_from_request(request), tenant=connection.tenant)
    outcome = result.results[0]
    if outcome.status == REJECTED:
        raise ApplicationError("The customer record is invalid.", fields=outcome.errors)
    customer = selectors.customer_get(customer_id=outcome.customer_id)
    body = {"status": outcome.status, "customer_id": outcome.customer_id,
            "customer": serializers.CustomerOutputSerializer(customer, context={"request": request}).data}
    return Response(body, status=status.HTTP_201_CREATED if outcome.status == CREATED else status.HTTP_200_OK)


def lead_bulk(request) -> Response:
    records = request.data.get("customers") if isinstance(request.data, dict) else None
    result = customer_ingest(records=records, actor=actor_from_request(request), tenant=connection.tenant)
    body = result.as_dict()
    for item in body["results"]:
        item.pop("order_id", None)
    return Response(body, status=status.HTTP_200_OK)

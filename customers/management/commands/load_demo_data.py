"""Load the demo store's history (``customers.demo``: a Pareto/NBD buying process with
Gamma-Gamma spend, several channels, seasonality, pending and cancelled orders) into a tenant.

It goes through the bulk loader (the set-based twin of the ingest service, with the same rules:
tests/customers/test_import_command.py) as a CSV, because ``make run`` waits for it: seven thousand
orders take seconds instead of minutes. Idempotent: orders are keyed by source and external id and
the history up to a moment never changes, so a second run changes nothing but what happened since."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from cdp.commands import TenantCommand
from cdp.context import Actor
from customers.demo import demo_records
from customers.services.bulk import orders_bulk_load

ORDER_KEYS = ("source", "external_order_id", "order_number", "order_date", "status", "payment_status", "currency",
              "total_amount", "subtotal", "shipping_cost", "payment_method", "shipping_method", "utm_source",
              "utm_medium", "utm_campaign")
CUSTOMER_KEYS = ("email", "external_id", "first_name", "last_name", "phone", "document_type", "document_number",
                 "city", "state", "country")
ADDRESS_KEYS = ("line1", "number", "city", "state", "postal_code", "country")


def demo_csv(records: list[dict], path: Path) -> Path:
    """The canonical records as the bulk loader's CSV (customer_ and customer_address_ columns)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*ORDER_KEYS, "items", *(f"customer_{key}" for key in CUSTOMER_KEYS),
                         *(f"customer_address_{key}" for key in ADDRESS_KEYS)])
        for record in records:
            customer = record["customer"]
            address = customer.get("address") or {}
            writer.writerow([*(record.get(key, "") for key in ORDER_KEYS), json.dumps(record["items"]),
                             *(customer.get(key, "") for key in CUSTOMER_KEYS),
                             *(address.get(key, "") for key in ADDRESS_KEYS)])
    return path


class Command(TenantCommand):
    help = "Load LATAM demo customers and orders into a tenant (idempotent): load_demo_data --tenant SLUG"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--customers", type=int, default=700, help="New customers per two years.")

    def handle_tenant(self, tenant, *args, customers, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        # Up to the last whole hour: a second run within the hour sees exactly the same history.
        records = demo_records(customers=customers, now=timezone.now().replace(minute=0, second=0, microsecond=0))
        self.stderr.write(f"{len(records):,} demo orders")
        with tempfile.TemporaryDirectory() as folder:
            result = orders_bulk_load(path=demo_csv(records, Path(folder) / "demo.csv"), tenant=tenant,
                                      actor=Actor.system("command:load_demo_data"), default_source="demo",
                                      progress=lambda step: self.stderr.write(f"  {step}"))
        totals = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                  "rejected": len(result.rejected)}
        self.stdout.write(f"Demo orders for {tenant.slug}: " + ", ".join(f"{v:,} {k}" for k, v in totals.items()))

"""Import leads and subscribers (customers without orders) from a CSV or JSON Lines file into one
tenant, through the lead ingest (identity resolution, priorities, change log), 1,000 records per
transaction:

    manage.py import_customers --tenant demo newsletter.csv --source newsletter
    manage.py import_customers --tenant demo leads.jsonl

CSV: a header row with the record's field names (``email``, ``first_name``, ``kind``...),
``address_<part>`` and ``attribute_<key>`` columns. Rejected rows are written beside the input
(``<name>.rejected.jsonl``) with their reasons.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management.base import CommandError

from cdp.commands import TenantCommand
from cdp.context import Actor
from customers.services.ingest import MAX_BATCH, REJECTED
from customers.services.lead_files import csv_records, jsonl_records
from customers.services.leads import customer_ingest


class Command(TenantCommand):
    help = "Import leads and subscribers from CSV or JSON Lines: import_customers --tenant SLUG FILE [--source S]"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--source", default="import", help="Source for records without one (default: import).")
        parser.add_argument("--format", choices=["auto", "csv", "jsonl"], default="auto")

    def handle_tenant(self, tenant, *args, file, source, format, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"Cannot read {path}: no such file.")
        fmt = format if format != "auto" else ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
        actor = Actor.system(f"command:import_customers:{path.name}")
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        rejected: list[dict] = []
        batch: list = []
        line = 0

        def flush():
            result = customer_ingest(records=batch, actor=actor, tenant=tenant, default_source=source)
            for offset, outcome in enumerate(result.results):
                if outcome.status == REJECTED:
                    rejected.append({"record": line - len(batch) + offset + 1, "errors": outcome.errors})
                else:
                    counts[outcome.status] += 1
            batch.clear()

        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                for record in (csv_records(handle) if fmt == "csv" else jsonl_records(handle)):
                    line += 1
                    batch.append(record)
                    if len(batch) >= MAX_BATCH:
                        flush()
                if batch:
                    flush()
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {path}: {str(exc).splitlines()[0]}") from exc
        out = None
        if rejected:
            out = path.with_name(f"{path.stem}.rejected.jsonl")
            with open(out, "w", encoding="utf-8") as handle:
                for row in rejected:
                    handle.write(json.dumps(row) + "\n")
        self.stdout.write(f"{line:,} records: {counts['created']:,} created, {counts['updated']:,} updated, "
                          f"{counts['unchanged']:,} unchanged, {len(rejected):,} rejected"
                          + (f" (reasons in {out})" if out else "") + ".")

"""Import canonical orders from a CSV or JSON Lines file into one tenant.

CSV: one row per order, canonical column names, customer fields prefixed ``customer_``
(``customer_email``), address fields ``customer_address_`` (``customer_address_line1``), optional
``items`` as JSON. JSON Lines: one canonical record per line. Rejected rows are written beside the
input (``<name>.rejected.csv`` / ``.rejected.jsonl``) with their reasons. Big CSV files take the
set-based path (COPY + SQL); the rules are the same.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DataError

from cdp.commands import TenantCommand
from cdp.context import Actor
from cdp.csv import CsvFileWriter, open_csv
from customers.services.bulk import (
    ADDRESS_COLUMNS,
    INVALID_COLUMNS_MESSAGE,
    csv_columns,
    invalid_columns,
    missing_columns,
    orders_bulk_load,
)
from customers.services.ingest import MAX_BATCH, REJECTED, order_ingest

#: CSV files above this size take the set-based path unless --mode says otherwise.
BULK_THRESHOLD_BYTES = 2 * 1024 * 1024


class Progress:
    """A one-line progress bar on stderr (no dependency): bytes read of the file's size."""

    def __init__(self, stream, total: int, enabled: bool = True):
        self.stream, self.total, self.enabled = stream, max(total, 1), enabled
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, done: int, rows: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.2):
            return
        self.last = now
        fraction = min(done / self.total, 1.0)
        bar = "#" * int(fraction * 30)
        rate = rows / max(now - self.started, 1e-6)
        self.stream.write(f"\r[{bar:<30}] {fraction:6.1%} {rows:,} rows {rate:,.0f} rows/s")
        self.stream.flush()

    def note(self, message: str) -> None:
        if self.enabled:
            self.stream.write(f"\r{message:<70}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def csv_row_to_record(row: dict) -> dict:
    """A flat CSV row as a canonical record (empty cells are absent values)."""
    record: dict = {"customer": {}}
    address: dict = {}
    for key, value in row.items():
        if key is None:
            continue
        key = key.strip().lower()
        value = value if value not in ("", None) else None
        if key.startswith("customer_address_"):
            if key[len("customer_address_"):] in ADDRESS_COLUMNS and value is not None:
                address[key[len("customer_address_"):]] = value
        elif key.startswith("customer_"):
            record["customer"][key[len("customer_"):]] = value
        else:
            record[key] = value
    if address:
        record["customer"]["address"] = address
    record["raw"] = {key: value for key, value in row.items() if key and value not in ("", None)}
    return record


class Command(TenantCommand):
    help = "Import orders from a CSV or JSON Lines file: import_orders --tenant SLUG FILE"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--source", default="import",
                            help="Source for records without one (default: import).")
        parser.add_argument("--format", choices=["auto", "csv", "jsonl"], default="auto")
        parser.add_argument("--mode", choices=["auto", "records", "bulk"], default="auto",
                            help="bulk: set-based COPY path (CSV only); auto picks it for files over 2 MB.")
        parser.add_argument("--no-progress", action="store_true")

    def handle_tenant(self, tenant, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"Cannot read {path}: no such file.")
        fmt = options["format"]
        if fmt == "auto":
            fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
        actor = Actor.system(f"command:import_orders:{path.name}")
        progress = Progress(sys.stderr, path.stat().st_size, enabled=not options["no_progress"])
        started = time.monotonic()
        try:
            if fmt == "csv":
                columns = csv_columns(path)
                invalid = invalid_columns(columns)
                if invalid:
                    raise CommandError(f"{path.name}: " + INVALID_COLUMNS_MESSAGE.format(", ".join(invalid)))
                missing = missing_columns(columns)
                if missing:
                    raise CommandError(f"{path.name} lacks required columns: {', '.join(missing)}.")
                mode = options["mode"]
                if mode == "auto":
                    mode = "bulk" if path.stat().st_size > BULK_THRESHOLD_BYTES else "records"
                if mode == "bulk":
                    summary, rejected = self._bulk(path, tenant, actor, options["source"], progress)
                else:
                    summary, rejected = self._records(self._csv_records(path), tenant, actor,
                                                      options["source"], progress)
            else:
                if options["mode"] == "bulk":
                    raise CommandError("--mode bulk reads CSV only.")
                summary, rejected = self._records(self._jsonl_records(path), tenant, actor,
                                                  options["source"], progress)
        except (OSError, UnicodeDecodeError, csv.Error, DataError) as exc:
            # DataError: the bulk COPY met bytes PostgreSQL cannot store (not UTF-8, NUL).
            raise CommandError(f"Cannot read {path}: {str(exc).splitlines()[0]}") from exc
        progress.finish()
        rejected_path = self._write_rejected(path, fmt, rejected) if rejected else None
        elapsed = time.monotonic() - started
        total = summary["created"] + summary["updated"] + summary["unchanged"] + len(rejected)
        self.stdout.write(
            f"{total:,} rows in {elapsed:.1f}s: {summary['created']:,} created, {summary['updated']:,} updated, "
            f"{summary['unchanged']:,} unchanged, {len(rejected):,} rejected"
            + (f" (reasons in {rejected_path})" if rejected_path else "") + "."
        )

    # --- readers: (row number, original row, record) ---------------------------------------
    def _csv_records(self, path: Path):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for number, row in enumerate(reader, start=1):
                yield number, row, csv_row_to_record(row), None

    def _jsonl_records(self, path: Path):
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    yield number, line.rstrip("\n"), None, None
                    continue
                yield number, record, record, None

    # --- paths ------------------------------------------------------------------------------
    def _records(self, rows, tenant, actor, source, progress):
        summary = {"created": 0, "updated": 0, "unchanged": 0}
        rejected: list[tuple[int, object, dict]] = []
        batch: list[tuple[int, object, dict]] = []
        done_bytes = 0
        count = 0

        def flush():
            records = [record for _, _, record in batch]
            result = order_ingest(records=records, actor=actor, tenant=tenant, default_source=source)
            for (number, original, _), outcome in zip(batch, result.results, strict=True):
                if outcome.status == REJECTED:
                    rejected.append((number, original, outcome.errors))
                else:
                    summary[outcome.status] += 1
            batch.clear()

        for number, original, record, _ in rows:
            count += 1
            done_bytes += len(json.dumps(original, default=str)) if not isinstance(original, str) else len(original)
            if record is None:
                rejected.append((number, original, {"non_field_errors": ["Not valid JSON."]}))
                continue
            batch.append((number, original, record))
            if len(batch) >= MAX_BATCH:
                flush()
                progress.update(done_bytes, count)
        if batch:
            flush()
        progress.update(progress.total, count, force=True)
        return summary, rejected

    def _bulk(self, path, tenant, actor, source, progress):
        progress.update(0, 0, force=True)
        result = orders_bulk_load(path=path, actor=actor, tenant=tenant, default_source=source,
                                  progress=lambda step: progress.note(f"bulk: {step}…"))
        progress.update(progress.total, result.created + result.updated + result.unchanged + len(result.rejected),
                        force=True)
        rejected_rows = {number: errors for number, errors in result.rejected}
        rejected = []
        if rejected_rows:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                for number, row in enumerate(csv.DictReader(handle), start=1):
                    if number in rejected_rows:
                        rejected.append((number, row, rejected_rows[number]))
        return result.as_dict(), rejected

    # --- output -----------------------------------------------------------------------------
    def _write_rejected(self, path: Path, fmt: str, rejected) -> Path:
        def reasons(errors: dict) -> str:
            return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())

        if fmt == "csv":
            out = path.with_name(f"{path.stem}.rejected.csv")
            fieldnames = ["row", *[key for key in rejected[0][1] if key is not None], "errors"]
            with open_csv(out) as handle:
                writer = CsvFileWriter(handle, fieldnames=fieldnames, extrasaction="ignore")
                writer.writeheader()
                for number, row, errors in rejected:
                    writer.writerow({**row, "row": number, "errors": reasons(errors)})
        else:
            out = path.with_name(f"{path.stem}.rejected.jsonl")
            with open(out, "w", encoding="utf-8") as handle:
                for number, original, errors in rejected:
                    handle.write(json.dumps({"line": number, "record": original, "errors": errors,
                                             "reason": reasons(errors)}, default=str) + "\n")
        return out

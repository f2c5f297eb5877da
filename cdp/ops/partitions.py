"""Monthly range partitions for the append-only tables that grow without bound, and retention that
drops whole months.

A table is converted once by a migration of the app that owns it (``partition_convert``), and
registered in that app's ``partitions.py`` (``register``) so that beat creates its partitions
ahead (``partitions_ensure``) and drops the expired ones (``partitions_drop_expired``).

How a converted table looks, and why:
- The parent is ``PARTITION BY RANGE (<time column>)``; one child per calendar month (UTC),
  named ``<table>_pYYYY_MM``, plus ``<table>_default`` for rows outside every month created so far
  (an analytics run for an old as-of date, a clock far ahead): an insert never fails for want of a
  partition. Creating a month later moves that month's rows out of the default first.
- PostgreSQL requires every unique constraint of a partitioned table to contain the partition
  column, so the primary key becomes ``(id, <time column>)``. Ids still come from one sequence, so
  ``id`` stays unique and Django keeps using it as the primary key (it never reads the
  constraint). Foreign keys *to* such a table are impossible (they would need a unique ``id``):
  the models declare them ``db_constraint=False`` and the conversion refuses to run while a
  database-enforced one remains.
- ``id`` is a plain sequence default rather than an identity column, which partitioned tables
  only support from PostgreSQL 17 (``DATABASE_URL`` may point at 14+).
- Retention drops a month only when all of it is older than the cutoff: a current row is never
  touched, and the rows of older months go in one cheap ``DROP TABLE`` instead of a ``DELETE``
  that bloats the table and the WAL.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)

#: How many months beyond the current one always have their partition.
MONTHS_AHEAD = 3

_PARTITION_RE = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class PartitionedTable:
    """One partitioned table: where it lives and how long its rows are kept.

    ``schema`` is ``"public"`` or ``"tenant"`` (every tenant schema has its own copy).
    ``retention`` is ``"tenant"`` (the tenant's ``data_retention_days``, or for a public table
    with a ``tenant_column`` the longest of all tenants' since a month is shared by all of them),
    a number of months (capped by the tenant's ``data_retention_days`` in a tenant schema), or
    ``"setting:NAME"``: a number of days in Django's settings (platform tables with no tenant)."""

    table: str
    column: str
    schema: str
    retention: str | int = "tenant"
    tenant_column: str | None = None
    reason: str = ""


_REGISTRY: dict[str, PartitionedTable] = {}


def register(entry: PartitionedTable) -> PartitionedTable:
    _REGISTRY[entry.table] = entry
    return entry


def registry() -> list[PartitionedTable]:
    """Every registered table (apps register in their ``partitions.py``, discovered here)."""
    autodiscover_modules("partitions")
    return sorted(_REGISTRY.values(), key=lambda entry: entry.table)


# --- months --------------------------------------------------------------------------------------

def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_add(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: datetime.date) -> str:
    return f"{table}_p{month:%Y_%m}"


def _bound(month: datetime.date, is_date: bool) -> str:
    return f"'{month:%Y-%m-%d}'" if is_date else f"'{month:%Y-%m-%d} 00:00:00+00'"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# --- introspection (current schema) -------------------------------------------------------------

def _is_partitioned(cursor, table: str) -> bool:
    cursor.execute("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", [_qualified(cursor, table)])
    row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def _qualified(cursor, table: str) -> str:
    cursor.execute("SELECT current_schema()")
    return f'"{cursor.fetchone()[0]}".{_q(table)}'


def _column_is_date(cursor, table: str, column: str) -> bool:
    cursor.execute("SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                   "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s", [_qualified(cursor, table), column])
    return cursor.fetchone()[0] == "date"


def partitions_of(table: str) -> list[tuple[str, datetime.date | None]]:
    """The children of ``table`` in the current schema: (name, month), month None for the default."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [_qualified(cursor, table)])
        names = [row[0] for row in cursor.fetchall()]
    out = []
    for name in names:
        match = _PARTITION_RE.search(name)
        out.append((name, datetime.date(int(match.group(1)), int(match.group(2)), 1) if match else None))
    return out


# --- conversion (migrations) --------------------------------------------------------------------

def partition_convert(*, table: str, column: str, now: datetime.date | None = None) -> None:
    """Turn the plain table ``table`` of the current schema into a monthly partitioned one with the
    same name, columns, defaults, checks, indexes, foreign keys and rows (see the module docstring).
    Runs inside the migration's transaction; idempotent."""
    with connection.cursor() as cursor:
        if _is_partitioned(cursor, table):
            return
        qualified = _qualified(cursor, table)
        cursor.execute(
            "SELECT conname, conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass "
            "AND conrelid <> confrelid", [qualified])
        inbound = cursor.fetchall()
        if inbound:
            raise RuntimeError(f"{table} is referenced by database foreign keys {inbound}: declare them "
                               "db_constraint=False first (a partitioned table's id is not unique on its own)")
        # What to rebuild on the new parent, with the original names.
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)", [qualified])
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('f', 'u', 'p') ORDER BY contype, conname", [qualified])
        constraints = cursor.fetchall()
        for name, kind, definition in constraints:
            if kind == "u" and column not in definition:
                raise RuntimeError(f"{table}: unique constraint {name} ({definition}) must include {column}")
        is_date = _column_is_date(cursor, table, column)
        cursor.execute(f"SELECT min({_q(column)}), max({_q(column)}), max(id) FROM {qualified}")
        low, high, max_id = cursor.fetchone()

        old, sequence = f"{table}_unpartitioned", f"{table}_id_seq"
        cursor.execute(f"ALTER TABLE {qualified} RENAME TO {_q(old)}")
        for name, kind, _definition in constraints:
            if kind == "p":  # its index name would clash with the new primary key's
                cursor.execute(f"ALTER TABLE {_q(old)} RENAME CONSTRAINT {_q(name)} TO {_q(old + '_pkey')}")
        # An identity column's sequence is named <table>_id_seq too: free the name.
        cursor.execute(f"ALTER TABLE {_q(old)} ALTER COLUMN id DROP IDENTITY IF EXISTS")
        cursor.execute(f"DROP SEQUENCE IF EXISTS {_q(sequence)}")
        cursor.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
            f"INCLUDING COMMENTS) PARTITION BY RANGE ({_q(column)})")
        cursor.execute(f"CREATE SEQUENCE {_q(sequence)} OWNED BY {_q(table)}.id")
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        cursor.execute(f"SELECT setval('{sequence}', %s, %s)", [max_id or 1, max_id is not None])
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id, {_q(column)})")

        today = now or datetime.date.today()
        first = month_start(low.date() if isinstance(low, datetime.datetime) else low) if low else month_start(today)
        last = month_start(high.date() if isinstance(high, datetime.datetime) else high) if high else month_start(today)
        first, last = min(first, month_start(today)), max(last, month_add(month_start(today), MONTHS_AHEAD))
        cursor.execute(f"CREATE TABLE {_q(table + '_default')} PARTITION OF {_q(table)} DEFAULT")
        month = first
        while month <= last:
            _create_month(cursor, table, month, is_date, move_from_default=False)
            month = month_add(month, 1)
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        cursor.execute(f"DROP TABLE {_q(old)}")
        for name, kind, definition in constraints:
            if kind == "p":
                continue
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for definition in indexes:
            cursor.execute(definition)


def partition_revert(*, table: str, column: str) -> None:
    """The reverse of ``partition_convert``: one plain table again (for migrating backwards)."""
    with connection.cursor() as cursor:
        if not _is_partitioned(cursor, table):
            return
        qualified = _qualified(cursor, table)
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)", [qualified])
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                       "AND contype IN ('f', 'u')", [qualified])
        constraints = cursor.fetchall()
        cursor.execute(f"SELECT max(id) FROM {qualified}")
        max_id = cursor.fetchone()[0]
        old, sequence = f"{table}_partitioned", f"{table}_id_seq"
        cursor.execute(f"ALTER TABLE {qualified} RENAME TO {_q(old)}")
        cursor.execute(f"ALTER TABLE {_q(old)} RENAME CONSTRAINT {_q(table + '_pkey')} TO {_q(old + '_pkey')}")
        cursor.execute(f"ALTER TABLE {_q(old)} ALTER COLUMN id DROP DEFAULT")
        cursor.execute(f"DROP SEQUENCE IF EXISTS {_q(sequence)}")
        cursor.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
                       [table, max_id or 1, max_id is not None])
        cursor.execute(f"DROP TABLE {_q(old)} CASCADE")
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id)")
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for definition in indexes:
            cursor.execute(definition)


def _create_month(cursor, table: str, month: datetime.date, is_date: bool, *, move_from_default: bool) -> bool:
    """Create ``month``'s partition unless it exists. Rows of that month sitting in the default
    partition move into it first (attaching would otherwise fail). Returns True if created."""
    name = partition_name(table, month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [_q(name)])
    if cursor.fetchone()[0]:
        return False
    low, high = _bound(month, is_date), _bound(month_add(month, 1), is_date)
    if not move_from_default:
        cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM ({low}) TO ({high})")
        _copy_storage_parameters(cursor, table, name)
        return True
    column = _partition_column(cursor, table)
    default = _q(table + "_default")
    cursor.execute(f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(f"WITH moved AS (DELETE FROM {default} WHERE {_q(column)} >= {low} AND {_q(column)} < {high} "
                   f"RETURNING *) INSERT INTO {_q(name)} SELECT * FROM moved")
    cursor.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM ({low}) TO ({high})")
    _copy_storage_parameters(cursor, table, name)
    return True


def _copy_storage_parameters(cursor, table: str, name: str) -> None:
    """A partitioned table has no storage parameters of its own: its default partition holds the
    table's (autovacuum settings of a migration) and each new month gets them too."""
    cursor.execute("SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = to_regclass(%s)",
                   [_q(table + "_default")])
    row = cursor.fetchone()
    if row and row[0]:
        cursor.execute(f"ALTER TABLE {_q(name)} SET ({row[0]})")


def _partition_column(cursor, table: str) -> str:
    cursor.execute("SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid "
                   "AND a.attnum = p.partattrs[0] WHERE p.partrelid = to_regclass(%s)", [_qualified(cursor, table)])
    return cursor.fetchone()[0]


# --- maintenance (beat) -------------------------------------------------------------------------

def partitions_ensure(*, schema: str, today: datetime.date | None = None, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of the current month and ``months_ahead`` more for every registered
    table of ``schema`` ("public" or "tenant"), in the connection's current schema. Returns the
    partitions created."""
    today = today or datetime.date.today()
    created = []
    for entry in registry():
        if entry.schema != schema:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            if not _is_partitioned(cursor, entry.table):
                continue  # not migrated yet in this schema
            is_date = _column_is_date(cursor, entry.table, entry.column)
            for offset in range(months_ahead + 1):
                month = month_add(month_start(today), offset)
                if _create_month(cursor, entry.table, month, is_date, move_from_default=True):
                    created.append(partition_name(entry.table, month))
    if created:
        logger.info("partitions created: %s", ", ".join(created))
    return created


def retention_cutoff(entry: PartitionedTable, *, today: datetime.date, tenant_days: int | None) -> datetime.date:
    """The first day kept: rows before it may go."""
    days = tenant_days
    if isinstance(entry.retention, str) and entry.retention.startswith("setting:"):
        return today - datetime.timedelta(days=int(getattr(settings, entry.retention.split(":", 1)[1])))
    if isinstance(entry.retention, int):
        month_cutoff = month_add(month_start(today), -entry.retention)
        day_cutoff = today - datetime.timedelta(days=days) if days else month_cutoff
        return max(month_cutoff, day_cutoff)
    return today - datetime.timedelta(days=days or 0)


def partitions_drop_expired(entry: PartitionedTable, *, cutoff: datetime.date) -> list[str]:
    """Drop every month of ``entry`` (current schema) that ends on or before ``cutoff``, and delete
    the default partition's rows older than it. Never touches a month that has a row to keep."""
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        if not _is_partitioned(cursor, entry.table):
            return []
        for name, month in partitions_of(entry.table):
            if month is not None and month_add(month, 1) <= cutoff:
                cursor.execute(f"DROP TABLE {_q(name)}")
                dropped.append(name)
        # A date compares with a timestamptz at midnight of the session's time zone: UTC (USE_TZ).
        cursor.execute(f"DELETE FROM {_q(entry.table + '_default')} WHERE {_q(entry.column)} < %s", [cutoff])
    if dropped:
        logger.info("partitions dropped (before %s): %s", cutoff, ", ".join(dropped))
    return dropped


# --- row retention (tables not worth partitioning, or columns that expire before their row) -----

@dataclass(frozen=True)
class RowRetention:
    """Rows (or, with ``update``, some columns of rows) older than a period: deleted or blanked.

    The period is ``months`` or the days in the Django setting ``days_setting``; in a tenant schema
    it never exceeds the tenant's ``data_retention_days``. ``where`` narrows the rows (SQL with
    ``%s`` placeholders for ``params``: domain values such as statuses are passed from the app's
    choices, never written into the SQL)."""

    table: str
    column: str
    schema: str = "tenant"
    months: int | None = None
    days_setting: str | None = None
    update: str | None = None
    where: str = ""
    params: tuple = ()
    reason: str = ""


_ROW_REGISTRY: dict[str, RowRetention] = {}


def register_rows(entry: RowRetention) -> RowRetention:
    _ROW_REGISTRY[f"{entry.table}:{entry.update or 'delete'}"] = entry
    return entry


def row_registry() -> list[RowRetention]:
    registry()  # discovers the apps' partitions.py, which register both kinds
    return sorted(_ROW_REGISTRY.values(), key=lambda entry: entry.table)


def rows_cutoff(entry: RowRetention, *, today: datetime.date, tenant_days: int | None) -> datetime.date:
    if entry.months is not None:
        cutoff = month_add(month_start(today), -entry.months)
    else:
        cutoff = today - datetime.timedelta(days=int(getattr(settings, entry.days_setting)))
    if tenant_days:
        cutoff = max(cutoff, today - datetime.timedelta(days=tenant_days))
    return cutoff


def rows_expire(entry: RowRetention, *, cutoff: datetime.date) -> int:
    """Delete (or blank) ``entry``'s rows older than ``cutoff`` in the current schema; returns how many."""
    where = f"{_q(entry.column)} < %s" + (f" AND ({entry.where})" if entry.where else "")
    params = [cutoff, *entry.params]
    with connection.cursor() as cursor:
        if entry.update:
            cursor.execute(f"UPDATE {_q(entry.table)} SET {entry.update} WHERE {where}", params)
        else:
            cursor.execute(f"DELETE FROM {_q(entry.table)} WHERE {where}", params)
        return cursor.rowcount

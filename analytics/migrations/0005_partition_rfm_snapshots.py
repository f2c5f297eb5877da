"""A run appends a row per customer: monthly partitions by as-of date, kept 12 months (issue #19)."""

from django.db import migrations


def _converter(table, column, reverse=False):
    def run(apps, schema_editor):
        from cdp.ops.partitions import partition_convert, partition_revert

        (partition_revert if reverse else partition_convert)(table=table, column=column)
    return run


def _partition(table, column):
    """Monthly range partitions for an append-only table (cdp/ops/partitions.py explains how)."""
    return migrations.RunPython(_converter(table, column), _converter(table, column, reverse=True), elidable=False)


class Migration(migrations.Migration):

    dependencies = [("analytics", "0004_clv_diagnostics_and_ad_performance")]

    operations = [
        _partition("analytics_rfmsnapshot", "as_of"),
    ]

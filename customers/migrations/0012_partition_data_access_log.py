"""A row per read of personal data, forever otherwise: monthly partitions, dropped past the
tenant's retention (issue #21, the pattern of issue #19)."""

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

    dependencies = [("customers", "0011_data_access_log")]

    operations = [
        _partition("customers_dataaccesslog", "created_at"),
    ]

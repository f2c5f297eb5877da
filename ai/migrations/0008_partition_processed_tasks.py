"""One row per AI call, for ever otherwise: monthly partitions on ``created_at`` (the pattern of
issues #19 and #21, cdp/ops/partitions.py). Nothing references a processed task by foreign key."""

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

    dependencies = [("ai", "0007_seed_customer_summary_prompts")]

    operations = [
        _partition("ai_processedtask", "created_at"),
    ]

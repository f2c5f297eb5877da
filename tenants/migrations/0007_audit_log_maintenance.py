"""The audit log's months are insert-only: vacuum their inserted pages early (visibility map, so
the tenant's audit page reads the index alone) and analyze at 2% so "the last 30 days" estimates
stay right as a month fills. Storage parameters go on each partition (a partitioned table has
none of its own): the ones that exist now, and cdp/ops/partitions.py copies them from the
parent's default partition to every month it creates (issue #19, seed 000)."""

from django.db import migrations


def forward(apps, schema_editor):
    from cdp.ops.partitions import partitions_of

    with schema_editor.connection.cursor() as cursor:
        for name, _month in partitions_of("tenants_auditlog"):
            cursor.execute(f'ALTER TABLE "{name}" SET (autovacuum_vacuum_insert_scale_factor = 0.05, '
                           "autovacuum_analyze_scale_factor = 0.02)")


class Migration(migrations.Migration):

    dependencies = [("tenants", "0006_partition_audit_log")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]

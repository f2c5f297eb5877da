"""The result tables are rewritten up to a million rows at a time (see
``analytics.models.RESULT_FK``): their relations stay but PostgreSQL no longer checks the foreign
keys row by row, and they drop the indexes no query uses (the RFM history's customer and segment
indexes, the LIKE twins of the segment, tier and band indexes)."""

import django.db.models.deletion
from django.db import migrations, models


def _relation(kind, to, related_name, **extra):
    return kind(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to=to,
                **extra)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_default_rfm_definitions"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(model_name="customerrfm", name="customer",
                              field=_relation(models.OneToOneField, "customers.customer", "analytics_rfm")),
        migrations.AlterField(model_name="rfmsnapshot", name="customer",
                              field=_relation(models.ForeignKey, "customers.customer", "+", db_index=False)),
        migrations.AlterField(model_name="rfmsnapshot", name="segment",
                              field=models.CharField(blank=True, max_length=50)),
        migrations.AlterField(model_name="customerclv", name="customer",
                              field=_relation(models.OneToOneField, "customers.customer", "analytics_clv")),
        migrations.AlterField(model_name="customerclv", name="log",
                              field=_relation(models.ForeignKey, "analytics.clvcalculationlog", "rows")),
        migrations.AlterField(model_name="customerchurn", name="customer",
                              field=_relation(models.OneToOneField, "customers.customer", "analytics_churn")),
        migrations.AlterField(model_name="customerchurn", name="log",
                              field=_relation(models.ForeignKey, "analytics.churnpredictionlog", "rows")),
        migrations.AlterField(model_name="customerrfm", name="segment",
                              field=models.CharField(blank=True, max_length=50)),
        migrations.AddIndex(model_name="customerrfm",
                            index=models.Index(fields=["segment"], name="rfm_current_segment_idx")),
        migrations.AlterField(model_name="customerclv", name="tier", field=models.CharField(
            choices=[("high", "High"), ("medium", "Medium"), ("low", "Low")], max_length=10)),
        migrations.AddIndex(model_name="customerclv", index=models.Index(fields=["tier"], name="clv_tier_idx")),
        migrations.AlterField(model_name="customerchurn", name="band", field=models.CharField(
            choices=[("active", "Active"), ("at_risk", "At risk"), ("churning", "Churning"), ("churned", "Churned")],
            max_length=10)),
        migrations.AddIndex(model_name="customerchurn", index=models.Index(fields=["band"], name="churn_band_idx")),
        migrations.AlterField(model_name="segmentmembership", name="segment",
                              field=_relation(models.ForeignKey, "analytics.segment", "memberships")),
        migrations.AlterField(model_name="segmentmembership", name="customer",
                              field=_relation(models.ForeignKey, "customers.customer",
                                              "analytics_segment_memberships")),
    ]

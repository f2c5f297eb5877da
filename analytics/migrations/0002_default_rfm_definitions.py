from django.db import migrations


def seed(apps, schema_editor):
    from analytics.services.rfm import DEFAULT_DEFINITIONS

    Definition = apps.get_model("analytics", "RfmSegmentDefinition")
    existing = set(Definition.objects.values_list("code", flat=True))
    Definition.objects.bulk_create([
        Definition(code=code, name=name, priority=priority, r_min=r[0], r_max=r[1], f_min=f[0], f_max=f[1],
                   color=color, suggested_action=action)
        for code, name, priority, r, f, color, action in DEFAULT_DEFINITIONS if code not in existing
    ])


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

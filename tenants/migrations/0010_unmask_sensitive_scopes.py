"""Existing API keys keep seeing what they saw when masking by role arrived (issue #21).

Before, every key that could ``read`` customers saw e-mail, phone and document in full and the
sensitive fields (document, birth date, notes): keys holding ``read`` get ``unmask`` and
``sensitive``. Only owners and admins (or keys scoped ``keys``) could issue keys, and both roles
hold ``unmask`` and ``sensitive`` by default, so no key gains anything its issuer's role did not
hold. New keys get only what they are issued with (the default, read and write, sees masked data).
"""

from django.db import migrations

ADDED = ("unmask", "sensitive")


def grant(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.only("id", "scopes").iterator():
        scopes = list(key.scopes)
        if "read" in scopes:
            added = [scope for scope in ADDED if scope not in scopes]
            if added:
                ApiKey.objects.filter(pk=key.pk).update(scopes=scopes + added)


def ungrant(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.only("id", "scopes").iterator():
        kept = [scope for scope in key.scopes if scope not in ADDED]
        if kept != list(key.scopes):
            ApiKey.objects.filter(pk=key.pk).update(scopes=kept)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0009_loyalty_key_scope")]

    operations = [migrations.RunPython(grant, ungrant)]

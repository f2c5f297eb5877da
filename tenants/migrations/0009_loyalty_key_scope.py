"""Existing API keys keep doing what they did when ``loyalty`` was split from ``integrations``.

Editing the loyalty program and its tier rules used to need ``integrations`` (the capability the
role table grants to owners and admins); it now has its own capability, ``loyalty``, held by the
same roles. Keys holding ``integrations`` get ``loyalty`` so no client loses an ability; new keys
get only what they are issued with. Only holders of ``keys`` (owners, admins) issued those keys,
and both roles hold ``loyalty``, so no key gains anything its issuer's role does not hold.
"""

from django.db import migrations

OLD, NEW = "integrations", "loyalty"


def split_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.filter(scopes__contains=[OLD]).exclude(scopes__contains=[NEW]).only("id", "scopes"):
        ApiKey.objects.filter(pk=key.pk).update(scopes=[*key.scopes, NEW])


def unsplit_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.filter(scopes__contains=[NEW]).only("id", "scopes"):
        ApiKey.objects.filter(pk=key.pk).update(scopes=[scope for scope in key.scopes if scope != NEW])


class Migration(migrations.Migration):
    dependencies = [("tenants", "0008_system_events")]

    operations = [migrations.RunPython(split_scopes, unsplit_scopes)]

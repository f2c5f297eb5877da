"""Existing API keys keep doing what they did when ``sales`` was split from ``integrations``.

Changing the counted-sale rule (which order statuses count as a sale) used to need
``integrations``, the capability the role table grants to owners and admins; it now has its own
capability, ``sales``, held by the same roles. Keys holding ``integrations`` get ``sales`` so no
client loses an ability (as ``0009_loyalty_key_scope`` did for ``loyalty``); new keys get only
what they are issued with. Only owners and admins issued those keys, and both hold ``sales``.
"""

from django.db import migrations

OLD, NEW = "integrations", "sales"


def split_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.filter(scopes__contains=[OLD]).exclude(scopes__contains=[NEW]).only("id", "scopes"):
        ApiKey.objects.filter(pk=key.pk).update(scopes=[*key.scopes, NEW])


def unsplit_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.filter(scopes__contains=[NEW]).only("id", "scopes"):
        ApiKey.objects.filter(pk=key.pk).update(scopes=[scope for scope in key.scopes if scope != NEW])


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_user_language")]

    operations = [migrations.RunPython(split_scopes, unsplit_scopes)]

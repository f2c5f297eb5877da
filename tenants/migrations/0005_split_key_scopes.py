"""Existing API keys keep doing what they did when a capability was split in two.

- ``integrations`` also guarded approving, suspending and reinstating B2B credit: keys holding it
  get ``credit``.
- ``keys`` also guarded reading the audit log: keys holding it get ``audit``.
- ``read`` also guarded the segment CSV export: keys holding it get ``export``.
- ``members`` is new power (people were never managed through the API), so no key gets it.

Only the people who held ``keys`` (owners, admins, keys scoped ``keys``) could issue keys, and
those roles hold ``credit``, ``audit`` and ``export`` under the new table, so no key gains anything
its issuer's role does not hold. New keys get only what they are issued with.
"""

from django.db import migrations

SPLITS = {"integrations": "credit", "keys": "audit", "read": "export"}


def split_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    for key in ApiKey.objects.only("id", "scopes").iterator():
        scopes = list(key.scopes)
        added = [new for old, new in SPLITS.items() if old in scopes and new not in scopes]
        if added:
            ApiKey.objects.filter(pk=key.pk).update(scopes=scopes + added)


def unsplit_scopes(apps, schema_editor):
    ApiKey = apps.get_model("tenants", "ApiKey")
    new = set(SPLITS.values()) | {"members"}
    for key in ApiKey.objects.only("id", "scopes").iterator():
        kept = [scope for scope in key.scopes if scope not in new]
        if kept != list(key.scopes):
            ApiKey.objects.filter(pk=key.pk).update(scopes=kept)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_invitations_status_reason_email_ci")]

    operations = [migrations.RunPython(split_scopes, unsplit_scopes)]

"""Before each tenant schema had its own ``django_admin_log``, the tenant admins wrote their
history into the public table. Entries about the models of tenant-only apps (customers,
analytics, integrations) cannot be given back to their tenant: object ids repeat in every schema
and platform staff could act in any tenant, so nothing in the row says whose it is. They are
also what leaked (customer names, webhook URLs with tokens). They are deleted: the audit log,
which has a tenant column and records every write the admin makes through the services, stays
the authoritative history. Entries about public models (tenants, memberships, API keys...) stay:
they are the platform's own objects, which the operators may see."""

from django.conf import settings
from django.db import migrations


def tenant_only_app_labels() -> list[str]:
    from django.apps import apps as global_apps

    names = {name for name in settings.TENANT_APPS if name not in settings.SHARED_APPS}
    return [config.label for config in global_apps.get_app_configs() if config.name in names]


def forwards(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    LogEntry.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label__in=tenant_only_app_labels()).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0002_user_sessions"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

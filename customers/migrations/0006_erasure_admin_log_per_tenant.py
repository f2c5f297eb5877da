"""Each tenant schema gets its own ``django_admin_log`` (``django.contrib.admin`` is in TENANT_APPS
as well as SHARED_APPS; see tenants/admin_history.py).

1. The table. A schema created before admin became a tenant app already has admin's migrations
   recorded as applied (django-tenants records every app's migrations in every schema and only
   runs the allowed ones), so admin's migrations will never create it there: this does. In a
   schema created since, admin's migrations made it and this does nothing.
2. Its foreign keys to two public tables, ``tenants_user`` and ``django_content_type``. Django
   enforces ``on_delete`` in Python, in the current schema only: deleting a user on the platform
   host removes that user's public entries, and their entries in the tenant schemas would break
   the foreign key at commit (the user could never be deleted). The database does it instead, in
   every tenant schema: a deleted user's entries go with it (Django's CASCADE) and a deleted
   content type leaves its entries without one (Django's SET_NULL).

Every statement names the tenant schema's table explicitly: with the search path
``<tenant>, public``, a bare ``django_admin_log`` would be the public one wherever the tenant's
is missing. This lives in ``customers`` because it is the tenant app every schema has; a tenant
app's migrations run in tenant schemas only (``TenantSyncRouter``)."""

from django.db import migrations

FOREIGN_KEYS = """
DO $$
DECLARE
  log regclass := (quote_ident(current_schema()) || '.django_admin_log')::regclass;
  c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = log AND contype = 'f'
              AND confrelid IN ('public.tenants_user'::regclass, 'public.django_content_type'::regclass) LOOP
    EXECUTE 'ALTER TABLE ' || log::text || ' DROP CONSTRAINT ' || quote_ident(c.conname);
  END LOOP;
  EXECUTE 'ALTER TABLE ' || log::text || '
    ADD CONSTRAINT django_admin_log_user_id_{user_action} FOREIGN KEY (user_id)
        REFERENCES public.tenants_user (id) {user_rule} DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT django_admin_log_content_type_id_{type_action} FOREIGN KEY (content_type_id)
        REFERENCES public.django_content_type (id) {type_rule} DEFERRABLE INITIALLY DEFERRED';
END $$;
"""  # no "%" anywhere: Django runs deferred SQL with (empty) parameters
FORWARD = FOREIGN_KEYS.format(user_action="cascade", user_rule="ON DELETE CASCADE", type_action="set_null",
                              type_rule="ON DELETE SET NULL")
BACKWARD = FOREIGN_KEYS.format(user_action="fk", user_rule="", type_action="fk", type_rule="")


def _tenant_schema(schema_editor) -> str | None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    return None if schema == "public" else schema


def forwards(apps, schema_editor):
    schema = _tenant_schema(schema_editor)
    if schema is None:  # never the platform's table (the router keeps this migration out of public anyway)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(quote_ident(%s) || '.django_admin_log')", [schema])
        exists = cursor.fetchone()[0] is not None
    if not exists:
        schema_editor.create_model(apps.get_model("admin", "LogEntry"))
    # After the create's own (deferred) foreign keys, which it replaces.
    schema_editor.deferred_sql.append(FORWARD)


def backwards(apps, schema_editor):
    if _tenant_schema(schema_editor) is not None:
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_updated_at_indexes"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

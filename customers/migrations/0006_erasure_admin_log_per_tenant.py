"""The tenant's own ``django_admin_log`` (``django.contrib.admin`` is in TENANT_APPS too, so each
tenant schema has the table) points at two public tables: ``tenants_user`` and
``django_content_type``. Django enforces ``on_delete`` in Python, in the current schema only: deleting
a user on the platform host removes that user's public log entries, and the entries in the tenant
schemas would then break the foreign key at commit (the user could never be deleted). Here the
database does it instead, in every tenant schema: a deleted user's entries go with it (Django's own
CASCADE) and a deleted content type leaves its entries without one (Django's SET_NULL).

This lives in ``customers`` because it is the tenant app every schema has, and a tenant app's
migrations run in tenant schemas only (``TenantSyncRouter``)."""

from django.db import migrations

DROP_FOREIGN_KEYS = """
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'django_admin_log'::regclass AND contype = 'f'
              AND confrelid IN ('tenants_user'::regclass, 'django_content_type'::regclass) LOOP
    EXECUTE format('ALTER TABLE django_admin_log DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
"""

FORWARD = DROP_FOREIGN_KEYS + """
ALTER TABLE django_admin_log
  ADD CONSTRAINT django_admin_log_user_id_cascade FOREIGN KEY (user_id) REFERENCES tenants_user (id)
      ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT django_admin_log_content_type_id_set_null FOREIGN KEY (content_type_id)
      REFERENCES django_content_type (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
"""

BACKWARD = DROP_FOREIGN_KEYS + """
ALTER TABLE django_admin_log
  ADD CONSTRAINT django_admin_log_user_id_fk FOREIGN KEY (user_id) REFERENCES tenants_user (id)
      DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT django_admin_log_content_type_id_fk FOREIGN KEY (content_type_id)
      REFERENCES django_content_type (id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_updated_at_indexes"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

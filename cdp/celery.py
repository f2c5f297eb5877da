"""The Celery app. Tasks sent inside a tenant's context carry its schema and run inside it."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")

app = CeleryApp("cdp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = {
    "analytics.*": {"queue": "analytics"},
    "integrations.*": {"queue": "syncs"},
}
app.autodiscover_tasks()

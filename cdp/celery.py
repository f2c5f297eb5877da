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

# Task durations for the metrics, task ids in the log lines (cdp/ops/).
from cdp.ops import logs as _ops_logs, metrics as _ops_metrics  # noqa: E402

_ops_metrics.connect_celery_signals()
_ops_logs.connect_celery_signals()

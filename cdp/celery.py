"""The Celery app. Tasks sent inside a tenant's context carry its schema and run inside it."""

import os

from celery.signals import beat_init, celeryd_init
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")

app = CeleryApp("cdp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = {
    "analytics.*": {"queue": "analytics"},
    "integrations.*": {"queue": "syncs"},
}
app.autodiscover_tasks()
app.autodiscover_tasks(["cdp.ops"])  # the core's own tasks (backups, retention)


@celeryd_init.connect
@beat_init.connect
def _start_embedded_services(**kwargs):
    """A worker or beat started on its own starts (or reuses) the embedded servers; under
    `manage.py serve` or with DATABASE_URL/REDIS_URL set this does nothing. Not at import: every
    module of the project imports this one through cdp/__init__.py."""
    from cdp import embedded

    embedded.start()


# Task durations for the metrics, task ids in the log lines (cdp/ops/).
from cdp.ops import logs as _ops_logs, metrics as _ops_metrics  # noqa: E402

_ops_metrics.connect_celery_signals()
_ops_logs.connect_celery_signals()

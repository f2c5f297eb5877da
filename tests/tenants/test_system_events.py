"""System events and error monitoring (issue #22 item 7): unhandled errors of requests and tasks,
migrations, deployments and configuration changes are recorded with request id, tenant and user;
nothing personal is kept; operators see them filtered and counted per day; erasure and retention
reach them; optional forwarding to Sentry with the official SDK."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from celery.signals import task_failure
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_migrate
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from tenants.models import FeatureFlag, SystemEvent
from tenants.services.system_events import (
    deployment_record,
    error_record,
    system_event_record,
    system_events_prune,
)
from tests.conftest import two_factor_pass

PERSONAL = "no row for ana.rojas@example.com with document 20-31234567-9"


@pytest.fixture(autouse=True)
def _no_events_before(world):
    """Building the test world migrated schemas (recorded events): each test starts without them."""
    SystemEvent.objects.all().delete()


def _boom(*args, **kwargs):
    raise ValueError(PERSONAL)


def _raise_and_record(**kwargs) -> SystemEvent:
    try:
        _boom()
    except ValueError as exc:
        return error_record(exc=exc, **kwargs)


def test_an_unhandled_api_error_is_recorded_with_its_request_tenant_and_reference(world, api_key, monkeypatch):
    monkeypatch.setattr("customers.api.views.selectors.customer_list", _boom)
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Api-Key {api_key(world.alpha)}",
                    raise_request_exception=False)

    first = client.get("/api/v1/customers/", {"q": "ana.rojas@example.com"})
    second = client.get("/api/v1/customers/")

    assert first.status_code == second.status_code == 500
    events = list(SystemEvent.objects.filter(kind=SystemEvent.Kind.ERROR).order_by("id"))
    assert len(events) == 2
    event = events[0]
    assert event.tenant == world.alpha and event.level == SystemEvent.Level.ERROR
    assert event.method == "GET" and event.path == "/api/v1/customers/"  # no query string
    assert event.request_id and event.request_id in first.json()["error"]["message"]
    assert first["X-Request-ID"] == event.request_id
    assert event.title.startswith("ValueError in tests.tenants.test_system_events._boom")
    assert "ana.rojas" not in event.detail and "31234567" not in event.detail
    assert "[email]" in event.detail and "[number]" in event.detail
    assert "test_system_events.py" in event.detail  # where it happened, without any value
    assert events[1].fingerprint == event.fingerprint  # one cause, one group


def test_a_portal_error_records_the_signed_in_member(world, monkeypatch):
    monkeypatch.setattr("customers.views.selectors.customer_list", _boom)
    client = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
    client.force_login(world.user("alpha_analyst"))

    response = client.get("/customers/")

    assert response.status_code == 500
    event = SystemEvent.objects.get(kind=SystemEvent.Kind.ERROR)
    assert event.user == world.user("alpha_analyst") and event.tenant == world.alpha
    assert event.request_id in response.content.decode()  # the page gives the reference


def test_a_task_that_fails_for_good_is_recorded():
    class Task:
        name = "analytics.tasks.rfm_compute_task"

    task = Task()
    try:
        _boom()
    except ValueError as exc:
        task_failure.send(sender=task, task_id="t-1", exception=exc, args=(), kwargs={}, traceback=None, einfo=None)

    event = SystemEvent.objects.get(kind=SystemEvent.Kind.ERROR)
    assert event.title.endswith("(task analytics.tasks.rfm_compute_task)")
    assert "ana.rojas" not in event.title + event.detail


def test_migrations_and_a_new_release_are_recorded_once(world, settings):
    settings.CDP_RELEASE = "2026.12.1"
    plan = [(SimpleNamespace(app_label="tenants", name="0008_system_events"), False)]

    post_migrate.send(sender=apps.get_app_config("tenants"), app_config=apps.get_app_config("tenants"),
                      verbosity=0, interactive=False, using="default", apps=apps, plan=plan)
    post_migrate.send(sender=apps.get_app_config("tenants"), app_config=apps.get_app_config("tenants"),
                      verbosity=0, interactive=False, using="default", apps=apps, plan=[])

    migration = SystemEvent.objects.get(kind=SystemEvent.Kind.MIGRATION)
    assert migration.title == "1 migrations applied to schema public" and "tenants.0008_system_events" in migration.detail
    deployment = SystemEvent.objects.get(kind=SystemEvent.Kind.DEPLOYMENT)  # the restart is not a deployment
    assert deployment.release == "2026.12.1"

    settings.CDP_RELEASE = "2026.12.2"
    assert deployment_record().title == "Release 2026.12.2 started (was 2026.12.1)"
    assert deployment_record() is None


def test_a_tenant_schema_migration_names_the_tenant(world):
    with tenant_context(world.beta):
        post_migrate.send(sender=apps.get_app_config("tenants"), app_config=apps.get_app_config("tenants"),
                          verbosity=0, interactive=False, using="default", apps=apps,
                          plan=[(SimpleNamespace(app_label="customers", name="0010_hot_table_maintenance"), False)])
    event = SystemEvent.objects.get(kind=SystemEvent.Kind.MIGRATION)
    assert event.tenant == world.beta and event.title.endswith("tenant beta")


def test_configuration_changes_are_recorded(world):
    flag = FeatureFlag.objects.create(key="new-dashboard", enabled=True)
    flag.delete()
    titles = list(SystemEvent.objects.filter(kind=SystemEvent.Kind.CONFIG_CHANGE).order_by("id")
                  .values_list("title", flat=True))
    assert titles == ["Feature flag 'new-dashboard' changed", "Feature flag 'new-dashboard' deleted"]


def test_recording_never_turns_one_failure_into_two(world):
    with transaction.atomic():
        with pytest.raises(Exception):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1/0")
        # the transaction is broken: the event is dropped (and logged), the caller goes on
        assert system_event_record(kind=SystemEvent.Kind.ERROR, title="after the failure") is None
        transaction.set_rollback(True)
    assert not SystemEvent.objects.filter(title="after the failure").exists()


def test_erasure_masks_error_reports_that_quote_the_person(world):
    from customers.services.privacy import customer_pseudonymize
    from tests.customers.factories import CustomerFactory

    with tenant_context(world.alpha):
        person = CustomerFactory(first_name="Lucía", last_name="Quispe", email="lucia.quispe@example.com")
        quoting = system_event_record(kind=SystemEvent.Kind.ERROR, title="KeyError in customers.x",
                                      detail="KeyError: 'Lucía Quispe'", tenant=world.alpha)
        other = system_event_record(kind=SystemEvent.Kind.ERROR, title="KeyError in customers.y",
                                    detail="KeyError: 'segment 7'", tenant=world.alpha)
        customer_pseudonymize(customer_id=person.pk, actor=Actor.system("tests"))

    quoting.refresh_from_db()
    other.refresh_from_db()
    assert quoting.title == "[erased]" and quoting.detail == ""
    assert other.detail == "KeyError: 'segment 7'"


def test_old_events_are_pruned_after_the_retention_period(world, settings):
    settings.CDP_SYSTEM_EVENT_RETENTION_DAYS = 30
    old = system_event_record(kind=SystemEvent.Kind.ERROR, title="old")
    recent = system_event_record(kind=SystemEvent.Kind.ERROR, title="recent")
    SystemEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=31))

    assert system_events_prune() == 1
    assert list(SystemEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_operators_see_events_counted_per_day_and_errors_grouped(world):
    for _ in range(3):
        _raise_and_record()
    system_event_record(kind=SystemEvent.Kind.CONFIG_CHANGE, title="System setting 'banner' changed")
    client = Client(HTTP_HOST="localhost")
    client.force_login(world.staff)
    two_factor_pass(client, world.staff)

    page = client.get("/admin/tenants/systemevent/", {"kind__exact": "error"})

    assert page.status_code == 200
    body = page.content.decode()
    assert "Events per day" in body and "<svg" in body
    assert page.context["daily"][-1]["counts"] == {"error": 3}  # the filter applies to the counts
    assert [event.occurrences for event in page.context["cl"].result_list] == [3, 3, 3]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_tenant_members_cannot_open_the_operators_screen(world, role):
    client = Client(HTTP_HOST="localhost")
    client.force_login(world.user(f"alpha_{role}"))
    response = client.get("/admin/tenants/systemevent/")
    assert response.status_code in (302, 403)
    assert "Events per day" not in response.content.decode()


class _SentryIngest(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "0"}')

    def log_message(self, *args):
        pass


def test_errors_reach_sentry_masked_when_a_dsn_is_set():
    _SentryIngest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import django, sentry_sdk\n"
        "django.setup()\n"
        "try:\n"
        f"    raise ValueError({PERSONAL!r})\n"
        "except ValueError:\n"
        "    sentry_sdk.capture_exception()\n"
        "sentry_sdk.flush(timeout=10)\n"
    )
    env = {**os.environ, "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/42",
           "DJANGO_SETTINGS_MODULE": "cdp.settings.test", "CDP_RELEASE": "2026.12.3"}
    try:
        subprocess.run([sys.executable, "-c", script], env=env, cwd=settings.BASE_DIR, check=True, timeout=60)
    finally:
        server.shutdown()
        server.server_close()

    payload = b"\n".join(_SentryIngest.received).decode()
    assert "ValueError" in payload and "2026.12.3" in payload
    assert "ana.rojas" not in payload and "31234567" not in payload and "[email]" in payload
    events = [json.loads(line) for line in payload.splitlines() if line.startswith("{") and '"exception"' in line]
    assert events and events[0]["exception"]["values"][0]["value"].startswith("no row for [email]")

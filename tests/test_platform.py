"""Health, embedded services, scheduled fan-out, throttling and the portal basics."""

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from cdp import embedded
from cdp.context import Actor
from tenants.models import AuditLog
from tests.conftest import PASSWORD, api_client

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_reports_database_and_broker_on_any_host(world, client):
    for host in ("localhost", "alpha.localhost", "127.0.0.1"):
        response = client.get("/healthz", HTTP_HOST=host)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"]["status"] == "ok" and body["broker"]["status"] == "ok"


def test_healthz_reports_a_dead_broker_as_503(world, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "error" and response.json()["database"]["status"] == "ok"


def test_configured_urls_are_used_untouched(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example:5433/cdp")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6380/2")
    assert embedded.database_url() == "postgresql://u:p@db.example:5433/cdp"
    assert embedded.redis_url() == "redis://cache.example:6380/2"
    assert embedded.celery_broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"


def _env_with_own_data_dir(directory: Path) -> dict:
    """The environment of a process that runs on ``directory`` as a fresh checkout would: no
    server URLs inherited from this test run, no pytest(-xdist) variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE") and not k.startswith("PYTEST_")}
    env["CDP_DATA_DIR"] = str(directory)
    return env


def _processes_of(directory: Path) -> list[str]:
    """Live processes that belong to ``directory``: started with it as CDP_DATA_DIR (gunicorn,
    Celery, PostgreSQL and Redis inherit it) or naming it on their command line."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            if str(directory) in cmdline or process.environ().get("CDP_DATA_DIR") == str(directory):
                found.append(f"{process.pid} {cmdline}")
        except psutil.Error:
            continue
    return found


@pytest.mark.processes
def test_a_second_data_dir_runs_its_own_postgresql_and_redis_side_by_side(tmp_path, db):
    # given a second checkout's data directory
    env = _env_with_own_data_dir(tmp_path / "other")
    script = (
        "from cdp import embedded; import psycopg, redis;"
        "embedded.start(); db = embedded.database_url(); r = embedded.redis_url();"
        "print(db); print(r);"
        "print(psycopg.connect(db).execute('select current_database()').fetchone()[0]);"
        "print(redis.Redis.from_url(r).ping())"
    )
    # when it starts its embedded services while ours are running
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    # then it gets its own servers, under its own directory, and ours are untouched
    assert result.returncode == 0, result.stderr
    db_url, redis_url, dbname, pong = result.stdout.strip().splitlines()[-4:]
    assert dbname == "cdp" and pong == "True"
    assert db_url != embedded.database_url() and str(tmp_path / "other") in db_url + redis_url
    assert (tmp_path / "other" / "pgdata" / "PG_VERSION").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    # and its servers stopped when it exited
    assert _processes_of(tmp_path / "other") == []


@pytest.mark.processes
def test_importing_the_settings_starts_no_server(tmp_path):
    env = _env_with_own_data_dir(tmp_path / "data")
    script = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cdp.settings.local'; django.setup();"
              "from django.conf import settings; print(settings.DATABASES['default']['HOST'])")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "data" / "pgdata")  # where it will listen once started
    assert not (tmp_path / "data" / "pgdata").exists() and not (tmp_path / "data" / "redis").exists()


@pytest.mark.processes
def test_a_test_run_stops_the_servers_it_started(tmp_path):
    """`make test` used to leave the embedded Redis running after every run."""
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:schemathesis",
         "-p", "no:hypothesispytest", "tests/test_platform.py::test_configured_urls_are_used_untouched"],
        cwd=ROOT, env=_env_with_own_data_dir(data), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (data / "pgdata" / "PG_VERSION").exists() and (data / "redis" / "redis.conf").exists()  # it ran them
    assert _processes_of(data) == []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.processes
def test_serve_stops_every_process_it_started_on_ctrl_c(tmp_path):
    """`make run` then Ctrl-C: gunicorn, the Celery worker and beat, PostgreSQL and Redis all stop."""
    import time
    import urllib.request

    data = tmp_path / "data"
    env = _env_with_own_data_dir(data)
    # given a data directory where beat finds its tables (the rest of the schema does not matter here)
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--shared", "django_celery_beat", "-v", "0"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    assert _processes_of(data) == []  # a manage.py command stops what it started, too
    # when `manage.py serve` runs in a terminal's process group until its worker and beat are up
    port, log = _free_port(), tmp_path / "serve.log"
    with open(log, "w") as out:
        serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
                                 cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, healthy = time.monotonic() + 180, False
        while time.monotonic() < deadline and serve.poll() is None:
            text = log.read_text()
            if not healthy:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                        healthy = response.status == 200
                except OSError:
                    pass
            if healthy and " ready." in text and "beat: Starting" in text:
                break
            time.sleep(0.5)
        assert healthy and serve.poll() is None, log.read_text()[-3000:]
        assert len(_processes_of(data)) >= 6  # gunicorn x2, worker (+ its pool), beat, postgres, redis
        # and Ctrl-C reaches the terminal's process group
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(timeout=90) == 0, log.read_text()[-3000:]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    # then nothing of that data directory is left running
    assert "Stopped." in log.read_text()
    assert _processes_of(data) == []
    assert "SIGKILL" not in log.read_text()  # gunicorn reports a worker it had to kill


def test_beat_dispatcher_runs_the_per_tenant_task_inside_each_tenant(world):
    from tenants.tasks import tenants_dispatch_task

    # given old and recent audit entries in both tenants, alpha keeping 30 days
    from tenants.services import tenant_update

    tenant_update(tenant=world.alpha, actor=Actor.system("tests"), settings={"data_retention_days": 30})
    old = timezone.now() - datetime.timedelta(days=60)
    for tenant in (world.alpha, world.beta):
        AuditLog.objects.create(tenant=tenant, actor_label="t", action="old.entry", resource_type="x",
                                created_at=old)
    # when beat's public-schema dispatcher fans the task out (eager in tests: runs inline)
    dispatched = tenants_dispatch_task.apply(kwargs={"task_name": "tenants.tasks.audit_retention_prune_task"}).get()
    # then each tenant's task ran in its own schema with its own retention
    assert dispatched == 2
    assert not AuditLog.objects.filter(tenant=world.alpha, action="old.entry").exists()
    assert AuditLog.objects.filter(tenant=world.beta, action="old.entry").exists()  # 2555 days retention
    assert connection.schema_name == "public"


def test_every_scheduled_task_is_registered_and_routed(world):
    from django.conf import settings

    from cdp.celery import app

    app.loader.import_default_modules()  # what a worker does at start: import every app's tasks
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["queue"] in settings.CELERY_TASK_QUEUES_NAMES
        assert entry["options"]["expires"] > 0
        if "task_name" in entry.get("kwargs", {}):
            assert entry["kwargs"]["task_name"] in app.tasks


def test_sessions_prune_task_deletes_only_expired_sessions(world):
    from django.contrib.sessions.models import Session

    from tenants.tasks import sessions_prune_task

    Session.objects.create(session_key="expired1", session_data="x",
                           expire_date=timezone.now() - datetime.timedelta(days=1))
    Session.objects.create(session_key="alive1", session_data="x",
                           expire_date=timezone.now() + datetime.timedelta(days=1))
    assert sessions_prune_task.apply().get() >= 1
    assert set(Session.objects.filter(session_key__in=["expired1", "alive1"]).values_list(
        "session_key", flat=True)) == {"alive1"}


def test_api_keys_are_throttled_per_key_with_retry_after(world, api_key, settings):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        cache.clear()
        slow, other = api_key(world.alpha), api_key(world.alpha)
        codes = [api_client("alpha.localhost", slow).get("/api/v1/tenant/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = api_client("alpha.localhost", slow).get("/api/v1/tenant/")
        assert int(limited["Retry-After"]) > 0 and limited.json()["error"]["code"] == "throttled"
        assert api_client("alpha.localhost", other).get("/api/v1/tenant/").status_code == 200
    finally:
        SimpleRateThrottle.THROTTLE_RATES = {"api_key": "600/min"}
        cache.clear()


def test_portal_login_dashboard_and_logout(world, alpha_client):
    client = alpha_client()
    assert client.get("/").status_code == 302
    page = client.post("/accounts/login/", {"username": "viewer@alpha.test", "password": PASSWORD}, follow=True)
    body = page.content.decode()
    assert page.status_code == 200 and "Dashboard" in body and "Alpha Store" in body
    assert "Members" in body  # navigation
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_portal_password_reset_sends_a_working_link(world, alpha_client):
    client = alpha_client()
    client.post("/accounts/password-reset/", {"email": "viewer@alpha.test"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("alpha.localhost", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "Brand-New-Pass-77",
                                                    "new_password2": "Brand-New-Pass-77"})
    assert done.status_code == 302
    assert client.login(username="viewer@alpha.test", password="Brand-New-Pass-77")


def test_portal_api_keys_page_creates_shows_once_and_revokes(world, alpha_client):
    from tenants.models import ApiKey

    client = alpha_client(world.user("alpha_admin"))
    page = client.post("/settings/api-keys/", {"name": "Portal key", "scopes": ["read"]})
    body = page.content.decode()
    stored = ApiKey.objects.get(name="Portal key")
    assert f"cdp_{stored.prefix}_" in body
    assert f"cdp_{stored.prefix}_" not in client.get("/settings/api-keys/").content.decode()
    client.post(f"/settings/api-keys/{stored.pk}/revoke/")
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    assert alpha_client(world.user("alpha_viewer")).get("/settings/api-keys/").status_code == 403


def test_members_page_filters_and_paginates(world, alpha_client):
    body = alpha_client(world.user("alpha_viewer")).get("/members/?role=admin").content.decode()
    assert "admin@alpha.test" in body and "owner@alpha.test" not in body and "beta" not in body


@pytest.mark.parametrize("flag_pct, expected", [(0, False), (100, True)])
def test_feature_flag_rollout(world, flag_pct, expected):
    from tenants.models import FeatureFlag
    from tenants.selectors import feature_flag_is_enabled

    FeatureFlag.objects.create(key="new-thing", enabled=True, rollout_percentage=flag_pct)
    assert feature_flag_is_enabled("new-thing", tenant=world.alpha) is expected
    FeatureFlag.objects.filter(key="new-thing").update(enabled=False)
    assert feature_flag_is_enabled("new-thing", tenant=world.alpha) is False


def test_feature_flag_explicit_tenants_and_stable_buckets(world):
    from tenants.models import FeatureFlag
    from tenants.selectors import feature_flag_is_enabled
    from tenants.selectors import rollout_bucket

    flag = FeatureFlag.objects.create(key="beta-ui", enabled=True, rollout_percentage=0)
    flag.tenants.add(world.beta)
    assert feature_flag_is_enabled("beta-ui", tenant=world.beta) is True
    assert feature_flag_is_enabled("beta-ui", tenant=world.alpha) is False
    assert rollout_bucket("beta-ui", "alpha") == rollout_bucket("beta-ui", "alpha")


def test_portal_navigation_shows_only_what_the_role_may_open(world, alpha_client):
    viewer = alpha_client(world.user("alpha_viewer")).get("/").content.decode()
    owner = alpha_client(world.user("alpha_owner")).get("/").content.decode()
    assert 'href="/billing/"' in owner and 'href="/integrations/"' in owner
    assert 'href="/billing/"' not in viewer and 'href="/integrations/"' not in viewer
    assert 'href="/customers/"' in viewer
    assert 'href="/settings/api-keys/"' in owner and 'href="/settings/api-keys/"' not in viewer


def test_search_path_is_set_once_per_tenant_switch_and_survives_rolled_back_savepoints(world):
    """TENANT_LIMIT_SET_CALLS: one SET search_path per tenant switch, not one per cursor. A SET made
    inside a savepoint that rolls back is undone by PostgreSQL; the next query must still run in
    the tenant's schema, never in public or in the previous tenant's."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from customers.models import Customer

    with tenant_context(world.beta):
        Customer.objects.create(email="only-in-beta@example.com")
    with tenant_context(world.alpha):
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                Customer.objects.count()
        assert sum("search_path" in q["sql"] for q in queries.captured_queries) <= 1

    with tenant_context(world.alpha):
        Customer.objects.count()  # the server's search_path is alpha's
        with pytest.raises(RuntimeError), transaction.atomic():
            connection.set_tenant(world.beta)
            Customer.objects.count()  # SET search_path to beta, inside the savepoint
            raise RuntimeError
        # The rollback undid that SET (the server is back on alpha) while the connection still
        # names beta: the next query must re-issue the SET, not trust a stale "already set".
        assert connection.tenant == world.beta
        assert Customer.objects.filter(email="only-in-beta@example.com").exists()


def test_operators_sign_in_and_out_of_the_platform_admin_without_a_next_page(world):
    """A scripted sign-in posts no ?next=, and the admin's logout uses none: both used to resolve
    the portal's URL names on the platform host, where they do not exist (a 500)."""
    from django.test import Client

    from tests.conftest import PASSWORD, totp_code, two_factor_device

    client = Client(HTTP_HOST="localhost")
    response = client.post("/admin/login/", {"username": world.staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    # operators always pass the second step (two-factor sign-in) before the admin opens
    assert client.post("/account/two-factor/verify/", {"token": totp_code(two_factor_device(world.staff))}
                       )["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.post("/admin/logout/").status_code == 200  # the admin's "logged out" page
    assert client.get("/admin/").status_code == 302


def test_portal_sign_out_lands_on_the_sign_in_page(world):
    from django.test import Client

    from tests.conftest import PASSWORD

    client = Client(HTTP_HOST=world.alpha.domains.first().domain)
    client.post("/accounts/login/", {"username": f"admin@{world.alpha.slug}.test", "password": PASSWORD})
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"

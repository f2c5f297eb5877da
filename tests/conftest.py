"""Test world: two tenants (alpha, beta) with members of every role, created once per test
database in the real PostgreSQL and committed, so live-server browser tests see them too. Each
test runs inside a transaction that is rolled back.

The suite starts the embedded PostgreSQL and Redis itself (``pytest_configure``) and stops them
when it exits; pytest-xdist workers inherit their URLs. Under xdist the controller builds the test
database and its world once (``test_cdp``, the template) before the workers start, and each worker
runs on a copy of it (``test_cdp_gw0``, ...: ``CREATE DATABASE ... TEMPLATE``, a file copy instead of
the migrations of three schemas) and on a Redis database of its own (cdp/settings/test.py). Run
serially (``-n0``), the process builds its test database as before."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from cdp.context import Actor
from tenants.models import Domain, Role, Tenant, User

PASSWORD = "Correct-Horse-42"
_TEMPLATE = pytest.StashKey["_Template"]()


@dataclass
class World:
    public: Tenant
    alpha: Tenant
    beta: Tenant
    staff: User
    users: dict[str, User]

    def user(self, name: str) -> User:
        return self.users[name]


def _build_world() -> World:
    from tenants.services import membership_set, tenant_provision, user_create

    assert connection.settings_dict["NAME"].startswith("test_"), "refusing to build the test world in a real DB"
    actor = Actor.system("tests")
    public = Tenant.objects.create(schema_name="public", name="Platform", slug="platform")
    for host in ("localhost", "testserver"):
        Domain.objects.create(domain=host, tenant=public, is_primary=host == "localhost")
    # English: the suite asserts English text; tests/i18n switches languages itself. (A new
    # tenant's default is Spanish: tenants.models.DEFAULT_TENANT_SETTINGS.)
    alpha = tenant_provision(slug="alpha", name="Alpha Store", actor=actor, settings={"language": "en"})
    beta = tenant_provision(slug="beta", name="Beta Store", actor=actor, settings={"language": "en"})
    staff = user_create(email="staff@cdp.test", password=PASSWORD, is_superuser=True, actor=actor)
    users = {}
    for tenant in (alpha, beta):
        for role in Role.values:
            user = user_create(email=f"{role}@{tenant.slug}.test", password=PASSWORD, actor=actor)
            membership_set(user=user, tenant=tenant, role=role, actor=actor)
            users[f"{tenant.slug}_{role}"] = user
    users["outsider"] = user_create(email="outsider@cdp.test", password=PASSWORD, actor=actor)
    return World(public=public, alpha=alpha, beta=beta, staff=staff, users=users)


def _load_world() -> World:
    """The world of a test database copied from the template."""
    users = {f"{slug}_{role}": User.objects.get(email=f"{role}@{slug}.test") for slug in ("alpha", "beta")
             for role in Role.values}
    users["outsider"] = User.objects.get(email="outsider@cdp.test")
    return World(public=Tenant.objects.get(schema_name="public"), alpha=Tenant.objects.get(slug="alpha"),
                 beta=Tenant.objects.get(slug="beta"), staff=User.objects.get(email="staff@cdp.test"), users=users)


def pytest_configure(config):
    """The suite is an entry point: it starts (or reuses) the embedded servers, and stops them at
    exit when it started them. xdist workers inherit DATABASE_URL/REDIS_URL and start nothing."""
    if config.option.help or config.option.version:
        return
    from cdp import embedded

    embedded.start()


def _is_xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and config.pluginmanager.has_plugin("dsession")


class _Template:
    """The xdist controller's template test database, built in a thread while the workers start
    and collect (both take a while: the migrations of three schemas, the imports of the suite)."""

    def __init__(self, config):
        from cdp.embedded import data_dir

        self.config = config
        self.name = connection.creation._get_test_db_name()
        run = data_dir() / "run"
        run.mkdir(exist_ok=True)
        self.ready = run / f"test-template-{os.getpid()}.ready"  # "ok", or the error
        self.ready.unlink(missing_ok=True)
        self.thread = threading.Thread(target=self._build, name="test-template", daemon=True)
        self.thread.start()

    def _build(self):
        from django.db import connections
        from django.test.utils import setup_databases
        from pytest_django.plugin import blocking_manager_key

        try:
            with self.config.stash[blocking_manager_key].unblock():
                setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
                _build_world()
                connections.close_all()  # a template must have no session while it is copied
            outcome = "ok"
        except BaseException:
            outcome = traceback.format_exc()
        self.ready.write_text(outcome)

    def teardown(self):
        from pytest_django.plugin import blocking_manager_key

        self.thread.join()
        assert self.name.startswith("test_"), self.name
        with self.config.stash[blocking_manager_key].unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.ready.unlink(missing_ok=True)


def _wait_for_template(ready: Path, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not ready.exists() or not ready.read_text():
        if time.monotonic() > deadline:
            pytest.fail(f"the template test database was not ready after {timeout:.0f}s")
        time.sleep(0.1)
    outcome = ready.read_text()
    if outcome != "ok":
        pytest.fail(f"building the template test database failed:\n{outcome}", pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Under xdist, start building the template test database before the workers start."""
    if _is_xdist_controller(session.config):
        session.config.stash[_TEMPLATE] = _Template(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: tell each worker which template to copy, and where to learn that it is ready."""
    template = node.config.stash.get(_TEMPLATE, None)
    if template:
        node.workerinput["cdp_test_template"] = (template.name, str(template.ready))


def pytest_sessionfinish(session):
    template = session.config.stash.get(_TEMPLATE, None)
    if template:
        template.teardown()


def _schedule_rank(item) -> int:
    """Long tests first, so that the run does not end with one worker busy and the other idle:
    tests that start processes of their own, then the fuzz tests, then the rest."""
    if item.get_closest_marker("processes"):
        return 0
    if "fuzzed" in getattr(item, "originalname", item.name):
        return 1
    return 2


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Under xdist: the browser tests share one worker (and so one Chromium) with ``--dist
    loadgroup``, and the long tests are handed out first (every worker sorts the same way)."""
    if not hasattr(config, "workerinput"):
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
    items.sort(key=_schedule_rank)  # stable: the collection order within a rank


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """Replaces pytest-django's: the test database with its world, built here or copied from the
    xdist controller's template."""
    from django.core.cache import cache
    from django.test.utils import setup_databases, teardown_databases

    template = getattr(request.config, "workerinput", {}).get("cdp_test_template")
    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        cache.clear()  # the tests' own Redis database (cdp/settings/test.py): nothing left from a past run
        if template:
            from django.conf import settings

            template, ready = template
            _wait_for_template(Path(ready))
            old_name, test_name = connection.settings_dict["NAME"], connection.creation._get_test_db_name()
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{test_name}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{template}"')
            connection.close()
            settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = test_name
            world = _load_world()
        else:
            db_cfg = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"},
                                     serialized_aliases=set())
            world = _build_world()
    yield world
    with django_db_blocker.unblock():
        # Connections left by live-server threads would block dropping the test database; so would
        # this one's, kept open by PgBouncer after we close ours (tests/ops): ended from another
        # database.
        test_name = connection.settings_dict["NAME"]
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [test_name])
        if template:
            connection.creation.destroy_test_db(old_name, verbosity=verbosity)
        else:
            teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(scope="session")
def _world(django_db_setup):
    return django_db_setup


@pytest.fixture
def world(_world, db) -> World:
    return _world


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    """Requests switch the connection's schema; every test starts from the public one, and outside
    any request (a request cut short by an exception leaves no "serving a request" mark behind)."""
    from cdp.http import web_request_forget

    web_request_forget()
    yield
    connection.set_schema_to_public()


def host_client(host: str, user: User | None = None) -> Client:
    """A client on ``host``, signed in as ``user``; an operator (staff) also passes the second step
    of two-factor sign-in, which operators always need (``two_factor_pass``)."""
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
        if user.is_staff or user.is_superuser:
            two_factor_pass(client, user)
    return client


def two_factor_device(user: User):
    """The user's authenticator app (a confirmed TOTP device), enrolled now if they have none."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return (TOTPDevice.objects.filter(user=user, confirmed=True).first()
            or TOTPDevice.objects.create(user=user, name="tests", confirmed=True))


def totp_code(device, offset_steps: int = 0) -> str:
    """The code ``device``'s app shows now (or ``offset_steps`` time steps later)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def two_factor_pass(client: Client, user: User):
    """Mark ``client``'s signed-in session as verified by ``user``'s app (as the code step does),
    enrolling one if needed: tests of everything behind two-factor sign-in use this instead of
    turning the requirement off. Returns the device."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = two_factor_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def actor():
    """The actor of writes a test makes through services (the one fixture every package uses)."""
    return Actor.system("tests")


@pytest.fixture
def alpha_client():
    return lambda user=None: host_client("alpha.localhost", user)


@pytest.fixture
def beta_client():
    return lambda user=None: host_client("beta.localhost", user)


@pytest.fixture
def public_client():
    return lambda user=None: host_client("localhost", user)


@pytest.fixture
def api_key(world):
    """Issue a key: ``api_key(tenant, scopes=[...])`` returns the secret. By default a key like
    those integrators held before masking by role (read, write, and seeing personal data in full:
    tenants/migrations/0010); masking tests issue keys without ``unmask``/``sensitive``."""
    from tenants.services import api_key_create

    def issue(tenant: Tenant, scopes=("read", "write", "unmask", "sensitive"), name="test key") -> str:
        return api_key_create(tenant=tenant, name=name, scopes=list(scopes), actor=Actor.system("tests")).key

    return issue


def api_client(host: str, key: str) -> Client:
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}")


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@functools.cache
def tenant_api_operations(path_regex: str = "") -> list[tuple[str, str]]:
    """(METHOD, path) of every operation a tenant's host documents, known at collection time so
    that the fuzz tests are one pytest test per operation (xdist spreads them over its workers).

    The document comes from the view that serves it, without the database: a few views' querysets
    read the tenant's licence, so the parameters may differ from what alpha's host serves, but
    the operations do not (tests/test_openapi.py checks). The fuzzers use the served document."""
    from django.test import RequestFactory
    from django.urls import resolve

    # What the tenant middleware would set. Never saved: the views only build their querysets.
    tenant = Tenant(pk=1, schema_name="alpha", slug="alpha", name="Alpha Store")
    request = RequestFactory().get("/api/schema/", {"format": "json"}, HTTP_HOST="alpha.localhost")
    request.tenant, request.urlconf = tenant, "cdp.urls.tenant"
    connection.set_tenant(tenant)
    try:
        response = resolve("/api/schema/", urlconf="cdp.urls.tenant").func(request)
        response.render()
    finally:
        connection.set_schema_to_public()
    return openapi_operations(json.loads(response.content), path_regex)


def openapi_operations(document: dict, path_regex: str = "") -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in document["paths"].items() if re.match(path_regex, path)
            for method in item if method in _HTTP_METHODS]


class OperationPicker:
    """A schemathesis filter that lets through the one operation a parametrized fixture picked
    (``picker.current = (METHOD, path)``). A filter on the schema a fixture returns does not do:
    schemathesis replaces it with the test's own filters."""

    __name__ = "picked_operation"  # schemathesis labels function filters by name

    def __init__(self):
        self.current: tuple[str, str] | None = None

    def __call__(self, ctx) -> bool:
        return (ctx.operation.method.upper(), ctx.operation.path) == self.current


@pytest.fixture(scope="session")
def served_tenant_schema(_world, django_db_blocker):
    """The OpenAPI document alpha's host serves, fetched once per test database, as schemathesis
    loads it (the fuzz tests pick their operation from it)."""
    import schemathesis

    with django_db_blocker.unblock():
        response = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json")
        connection.set_schema_to_public()
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content))

"""Test world: two tenants (alpha, beta) with members of every role, created once per session
in the real PostgreSQL and committed, so live-server browser tests see them too. Each test runs
inside a transaction that is rolled back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from cdp.context import Actor
from tenants.models import Domain, Role, Tenant, User

PASSWORD = "Correct-Horse-42"


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
    alpha = tenant_provision(slug="alpha", name="Alpha Store", actor=actor)
    beta = tenant_provision(slug="beta", name="Beta Store", actor=actor)
    staff = user_create(email="staff@cdp.test", password=PASSWORD, is_superuser=True, actor=actor)
    users = {}
    for tenant in (alpha, beta):
        for role in Role.values:
            user = user_create(email=f"{role}@{tenant.slug}.test", password=PASSWORD, actor=actor)
            membership_set(user=user, tenant=tenant, role=role, actor=actor)
            users[f"{tenant.slug}_{role}"] = user
    users["outsider"] = user_create(email="outsider@cdp.test", password=PASSWORD, actor=actor)
    return World(public=public, alpha=alpha, beta=beta, staff=staff, users=users)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        world = _build_world()
    yield world
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # Connections left by live-server threads would block dropping the test database.
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session")
def _world(django_db_setup):
    return django_db_setup


@pytest.fixture
def world(_world, db) -> World:
    return _world


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    """Requests switch the connection's schema; every test starts from the public one."""
    yield
    connection.set_schema_to_public()


def host_client(host: str, user: User | None = None) -> Client:
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


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
    """Issue a key: ``api_key(tenant, scopes=[...])`` returns the secret."""
    from tenants.services import api_key_create

    def issue(tenant: Tenant, scopes=("read", "write"), name="test key") -> str:
        return api_key_create(tenant=tenant, name=name, scopes=list(scopes), actor=Actor.system("tests")).key

    return issue


def api_client(host: str, key: str) -> Client:
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}")

"""The data-access log (issue #21 item 3): every profile read, list or search returning personal
data and export is recorded once per request (who, when, what, how many, from where), readable
and filterable by owners and admins only, append-only and partitioned, kept per retention."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from analytics.services import segment_create
from cdp.context import Actor
from cdp.ops import partitions
from cdp.ops.retention import retention_apply_tenant
from customers.models import DataAccessLog
from tenants.models import Tenant
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory

EMAIL = "ana.silva@dominio.com"


@pytest.fixture
def people(world):
    with tenant_context(world.alpha):
        first = CustomerFactory(email=EMAIL, country="BR")
        CustomerFactory(country="BR")
        CustomerFactory(country="AR")
        return first


def entries(world, **filters):
    with tenant_context(world.alpha):
        return list(DataAccessLog.objects.filter(**filters).order_by("id"))


def test_api_profile_read_list_and_search_are_logged_once_per_request(world, people):
    viewer = world.user("alpha_viewer")
    client = host_client("alpha.localhost", viewer)

    assert client.get(f"/api/v1/customers/{people.pk}/").status_code == 200
    listed = client.get("/api/v1/customers/", {"country": "BR"}).json()
    client.get("/api/v1/customers/", {"email": EMAIL.upper()})
    client.get("/api/v1/customers/")
    client.get(f"/api/v1/customers/{people.pk}/changes/")

    logged = entries(world, actor_label=viewer.email)
    assert [e.action for e in logged] == ["profile.read", "customer.search", "customer.search", "customer.list",
                                        "changes.read"]
    read = logged[0]
    assert (read.resource_type, read.resource_id, read.rows, read.channel, read.masked, read.user_id) == (
        "customer", str(people.pk), 1, "api", True, viewer.pk)
    assert read.ip_address == "127.0.0.1"
    # one row per request, counting the people it returned; search terms are kept masked
    assert logged[1].rows == len(listed["results"]) >= 2 and logged[1].query == {"country": "BR"}
    assert logged[2].query == {"email": "a***@d***.com"} and logged[2].rows == 1
    assert EMAIL not in json.dumps([e.query for e in logged]).lower()


def test_portal_admin_and_exports_are_logged(world, alpha_client, people):
    with tenant_context(world.alpha):
        segment = segment_create(name="Brazil", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "BR"}]}, actor=Actor.system("tests"), tenant=world.alpha)
    owner = world.user("alpha_owner")
    portal = alpha_client(world.user("alpha_viewer"))
    admin = alpha_client(owner)

    portal.get("/customers/")
    portal.get(f"/customers/{people.pk}/")
    portal.get(f"/customers/{people.pk}/changes/")
    portal.get(f"/analytics/segments/{segment.pk}/")
    admin.get("/admin/customers/customer/")
    admin.get(f"/admin/customers/customer/{people.pk}/change/")
    b"".join(admin.get(f"/analytics/segments/{segment.pk}/export.csv").streaming_content)
    admin.get(f"/api/v1/customers/{people.pk}/export/")

    portal_rows = entries(world, actor_label=world.user("alpha_viewer").email, channel="portal")
    assert [e.action for e in portal_rows] == ["customer.list", "profile.read", "changes.read", "segment.members"]
    assert portal_rows[3].resource_type == "segment" and portal_rows[3].rows >= 2
    owner_rows = entries(world, actor_label=owner.email)
    assert [(e.channel, e.action) for e in owner_rows] == [
        ("admin", "customer.list"), ("admin", "profile.read"), ("portal", "export"), ("api", "export")]
    assert owner_rows[2].rows == 2 and owner_rows[2].resource_id == str(segment.pk)
    assert owner_rows[2].masked is False


def test_access_log_api_is_for_owners_and_admins_with_filters(world, people, api_key):
    viewer = world.user("alpha_viewer")
    host_client("alpha.localhost", viewer).get(f"/api/v1/customers/{people.pk}/")
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))

    for client in (owner, admin, api_client("alpha.localhost", api_key(world.alpha, scopes=["audit"]))):
        body = client.get("/api/v1/access-log/", {"action": "profile.read", "actor": "viewer@"}).json()
        assert [row["resource_id"] for row in body["results"]] == [str(people.pk)]
        assert body["results"][0]["actor_label"] == viewer.email and body["results"][0]["ip_address"] == "127.0.0.1"
    since = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert owner.get("/api/v1/access-log/", {"since": since}).json()["results"] == []
    # lower roles and keys without ``audit`` are refused
    for role in ("alpha_analyst", "alpha_viewer"):
        assert host_client("alpha.localhost", world.user(role)).get("/api/v1/access-log/").status_code == 403
    assert api_client("alpha.localhost", api_key(world.alpha, scopes=["read"])).get(
        "/api/v1/access-log/").status_code == 403
    # bad filters are field errors
    bad = owner.get("/api/v1/access-log/", {"action": "nope", "since": "yesterday"})
    assert bad.status_code == 400 and {"action", "since"} <= set(bad.json()["error"]["fields"])
    # another tenant's owner sees none of it
    beta = host_client("beta.localhost", world.user("beta_owner")).get("/api/v1/access-log/").json()
    assert all(row["actor_label"] != viewer.email for row in beta["results"])


def test_access_log_admin_is_read_only_and_for_audit_holders(world, alpha_client, people):
    host_client("alpha.localhost", world.user("alpha_viewer")).get(f"/api/v1/customers/{people.pk}/")
    with tenant_context(world.alpha):
        entry = DataAccessLog.objects.latest("id")
    owner = alpha_client(world.user("alpha_owner"))
    assert owner.get("/admin/customers/dataaccesslog/").status_code == 200
    assert owner.get(f"/admin/customers/dataaccesslog/{entry.pk}/change/").status_code == 200
    assert owner.post(f"/admin/customers/dataaccesslog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert alpha_client(world.user("alpha_viewer")).get("/admin/customers/dataaccesslog/").status_code in (302, 403)


def test_access_log_is_partitioned_and_kept_per_tenant_retention(world):
    entry = next(e for e in partitions.registry() if e.table == "customers_dataaccesslog")
    assert (entry.schema, entry.retention, entry.column) == ("tenant", "tenant", "created_at")
    with tenant_context(world.alpha):
        old_month = partitions.month_add(partitions.month_start(timezone.now().date()), -36)
        partitions.partitions_ensure(schema="tenant", today=old_month, months_ahead=0)
        old = DataAccessLog.objects.create(actor_label="x", action="customer.list", channel="api",
                                           resource_type="customer")
        current = DataAccessLog.objects.create(actor_label="x", action="customer.list", channel="api",
                                               resource_type="customer")
        DataAccessLog.objects.filter(pk=old.pk).update(
            created_at=timezone.make_aware(datetime.datetime.combine(old_month, datetime.time(12))))
        tenant = Tenant.objects.get(pk=world.alpha.pk)
        tenant.settings = {**tenant.settings, "data_retention_days": 365}
        with world_connection_immediate():
            report = retention_apply_tenant(tenant=tenant)
        assert partitions.partition_name("customers_dataaccesslog", old_month) in report["dropped"]
        assert not DataAccessLog.objects.filter(pk=old.pk).exists()
        assert DataAccessLog.objects.filter(pk=current.pk).exists()


class world_connection_immediate:
    """Pending deferred checks of this test's writes fire now (a table with pending trigger events
    cannot be dropped, which only a test writing and pruning in one transaction can have)."""

    def __enter__(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def __exit__(self, *exc):
        return False


def test_portal_access_log_page_for_owners_and_admins_only(world, alpha_client, people):
    host_client("alpha.localhost", world.user("alpha_viewer")).get(f"/api/v1/customers/{people.pk}/")
    for role in ("alpha_owner", "alpha_admin"):
        page = alpha_client(world.user(role)).get("/customers/access-log/", {"action": "profile.read"})
        assert page.status_code == 200 and world.user("alpha_viewer").email in page.content.decode()
    for role in ("alpha_analyst", "alpha_viewer"):
        assert alpha_client(world.user(role)).get("/customers/access-log/").status_code == 403
    assert alpha_client(world.user("alpha_owner")).get("/customers/access-log/", {"since": "x"}).status_code == 200

"""The admin history (Django's LogEntry) is per tenant and holds no secrets (review C5).

Each tenant schema has its own ``django_admin_log``: a tenant's history pages and "Recent actions"
show only its own entries, in both directions, whatever the object ids; the operators' admin on
the platform host shows only the platform's. Entries never keep a URL's token, and a deleted user
takes their entries in every schema with them."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from cdp.context import Actor
from customers.models import Customer
from integrations.models import WebhookEndpoint
from tenants.admin_site import tenant_admin_site
from tenants.models import FeatureFlag, Role, Tenant, User
from tests.customers.factories import CustomerFactory
from tests.security.conftest import admin_customer_form

B_TOKEN = "B-PRIVATE-TOKEN-123"
B_URL = f"https://crm.b-corp.example/hooks?token={B_TOKEN}"
A_TOKEN = "A-PRIVATE-TOKEN-456"
A_URL = f"https://user:{A_TOKEN}@crm.a-corp.example/hooks/{A_TOKEN}"


def _twin(model, tenant: Tenant, pk: int, **fields):
    """A row with exactly this primary key in ``tenant``'s schema (ids repeat across schemas)."""
    with tenant_context(tenant):
        row = model.objects.create(pk=pk, **fields)
        with connection.cursor() as cursor:  # later inserts must not draw this id again
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))"
                           .format(model._meta.db_table), [model._meta.db_table])
        return row


def _admin_add_webhook(client, url: str) -> WebhookEndpoint:
    response = client.post("/admin/integrations/webhookendpoint/add/", {
        "url": url, "description": "crm", "events": '["customer.updated"]', "is_active": "on"})
    # Added: the answer is the page showing the new signing secret once (not a redirect).
    assert "tenants/admin_secret_once.html" in [t.name for t in response.templates], (
        response.context["adminform"].form.errors if response.context and "adminform" in response.context else "")
    return WebhookEndpoint.objects.get(url=url)


@pytest.fixture
def shared_staffer(world, actor):
    """A consultant who administers both tenants (a user may belong to several)."""
    from tenants.services import membership_set, user_create

    user = user_create(email="consultant@both.test", password="Correct-Horse-42", actor=actor)
    membership_set(user=user, tenant=world.alpha, role=Role.ADMIN, actor=actor)
    membership_set(user=user, tenant=world.beta, role=Role.ADMIN, actor=actor)
    return user


@pytest.fixture
def beta_history(world, beta_client):
    """B's owner adds a webhook endpoint with a token and edits B's customer, in B's admin;
    A has a customer and an endpoint with the same ids."""
    client = beta_client(world.user("beta_owner"))
    with tenant_context(world.beta):
        customer = CustomerFactory(first_name="Bruna", last_name="Bsecretname", phone="+5511999990000")
        endpoint = _admin_add_webhook(client, B_URL)
    response = client.post(f"/admin/customers/customer/{customer.pk}/change/",
                           admin_customer_form(client, customer.pk, first_name="Brunella", phone="+5511999990001"))
    assert response.status_code == 302
    _twin(Customer, world.alpha, customer.pk, first_name="Alba", last_name="Aperson")
    _twin(WebhookEndpoint, world.alpha, endpoint.pk, url="https://a.example/hook", events=["*"],
          secret_encrypted="x")
    return customer.pk, endpoint.pk


def test_a_tenant_never_sees_another_tenants_history_pages(world, alpha_client, beta_client, beta_history):
    customer_id, endpoint_id = beta_history
    alpha = alpha_client(world.user("alpha_owner"))

    # A's history pages of its own objects with the same ids
    customer_page = alpha.get(f"/admin/customers/customer/{customer_id}/history/")
    endpoint_page = alpha.get(f"/admin/integrations/webhookendpoint/{endpoint_id}/history/")

    for page in (customer_page, endpoint_page):
        body = page.content.decode()
        assert page.status_code == 200
        assert "owner@beta.test" not in body and "Bsecretname" not in body and "Brunella" not in body
        assert list(page.context["action_list"]) == []
    # while B sees its own
    beta_page = beta_client(world.user("beta_owner")).get(f"/admin/customers/customer/{customer_id}/history/")
    assert "owner@beta.test" in beta_page.content.decode() and len(beta_page.context["action_list"]) == 1


def test_history_is_isolated_in_both_directions_for_a_member_of_both(world, alpha_client, beta_client,
                                                                     shared_staffer):
    alpha, beta = alpha_client(shared_staffer), beta_client(shared_staffer)
    with tenant_context(world.alpha):
        a_customer = CustomerFactory(first_name="Alba", last_name="Aonlyname")
    _twin(Customer, world.beta, a_customer.pk, first_name="Bruna", last_name="Bonlyname")

    # the same person edits customer N in A, then customer N in B
    for client, name in ((alpha, "Alberta"), (beta, "Brunilda")):
        response = client.post(f"/admin/customers/customer/{a_customer.pk}/change/",
                               admin_customer_form(client, a_customer.pk, first_name=name))
        assert response.status_code == 302

    a_index, b_index = alpha.get("/admin/").content.decode(), beta.get("/admin/").content.decode()
    a_history = alpha.get(f"/admin/customers/customer/{a_customer.pk}/history/")
    b_history = beta.get(f"/admin/customers/customer/{a_customer.pk}/history/")
    # "Recent actions" and the history pages show each tenant's own entry only
    assert "Alberta" in a_index and "Brunilda" not in a_index
    assert "Brunilda" in b_index and "Alberta" not in b_index
    assert [e.object_repr for e in a_history.context["action_list"]] == ["Alberta Aonlyname"]
    assert [e.object_repr for e in b_history.context["action_list"]] == ["Brunilda Bonlyname"]
    # and each entry is in its own schema's table, none in public
    for tenant, repr_ in ((world.alpha, "Alberta Aonlyname"), (world.beta, "Brunilda Bonlyname")):
        with tenant_context(tenant):
            assert list(LogEntry.objects.values_list("object_repr", flat=True)) == [repr_]
    with schema_context("public"):
        assert not LogEntry.objects.filter(object_repr__in=["Alberta Aonlyname", "Brunilda Bonlyname"]).exists()


def test_operators_on_the_platform_host_see_only_platform_history(world, public_client, beta_client, beta_history):
    # given the operator also works in B's admin (superusers may) and on a platform object
    staff_in_beta = beta_client(world.staff)
    customer_id, _ = beta_history
    response = staff_in_beta.post(f"/admin/customers/customer/{customer_id}/change/",
                                  admin_customer_form(staff_in_beta, customer_id, last_name="Staffedit"))
    assert response.status_code == 302
    operators = public_client(world.staff)
    saved = operators.post("/admin/tenants/featureflag/add/", {"key": "platform-flag", "description": "",
                                                               "rollout_percentage": "100"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    flag_id = FeatureFlag.objects.get(key="platform-flag").pk

    # then the platform's "Recent actions" and history show the platform object only
    index = operators.get("/admin/").content.decode()
    assert "platform-flag" in index
    assert "Staffedit" not in index and "Bsecretname" not in index and "crm.b-corp.example" not in index
    connection.set_schema_to_public()
    public_entries = LogEntry.objects.all()
    assert {e.content_type.app_label for e in public_entries} <= {"tenants", "licensing", "billing", "auth",
                                                                  "django_celery_beat"}
    history = operators.get(f"/admin/tenants/featureflag/{flag_id}/history/")
    assert [e.object_repr for e in history.context["action_list"]] == ["platform-flag"]
    # and B's admin keeps the operator's edit of B's customer
    with tenant_context(world.beta):
        assert LogEntry.objects.filter(user=world.staff, object_id=str(customer_id)).exists()


def test_history_keeps_no_token_of_a_webhook_url(world, beta_client, alpha_client, beta_history):
    _, endpoint_id = beta_history
    beta = beta_client(world.user("beta_owner"))
    alpha = alpha_client(world.user("alpha_owner"))
    with tenant_context(world.alpha):
        endpoint = _admin_add_webhook(alpha, A_URL)
    alpha.post(f"/admin/integrations/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"})

    indexes = [beta.get("/admin/"), alpha.get("/admin/")]  # "Recent actions"
    history = beta.get(f"/admin/integrations/webhookendpoint/{endpoint_id}/history/")
    for page in indexes:
        body = page.content.decode()
        assert B_TOKEN not in body and A_TOKEN not in body
    assert [e.object_repr for e in history.context["action_list"]] == [f"https://crm.b-corp.example/… #{endpoint_id}"]
    for tenant in (world.alpha, world.beta):
        with tenant_context(tenant):
            stored = " ".join(f"{e.object_repr} {e.change_message}" for e in LogEntry.objects.all())
            assert B_TOKEN not in stored and A_TOKEN not in stored
    with tenant_context(world.alpha):
        assert LogEntry.objects.filter(action_flag=3, object_repr=f"https://crm.a-corp.example/… #{endpoint.pk}").exists()


def test_every_tenant_model_admin_redacts_its_history():
    from tenants.admin_history import RedactedHistoryMixin, history_text

    assert history_text("see https://u:p@h.example:8443/a/b?token=x#f and ftp://h2.example") == \
        "see https://h.example/… and ftp://h2.example"

    assert all(isinstance(model_admin, RedactedHistoryMixin) for model_admin in tenant_admin_site._registry.values())


def test_deleting_a_user_takes_their_entries_in_every_schema(world, alpha_client, shared_staffer):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
    client = alpha_client(shared_staffer)
    client.post(f"/admin/customers/customer/{customer.pk}/change/",
                admin_customer_form(client, customer.pk, first_name="Gone"))
    with tenant_context(world.alpha):
        assert LogEntry.objects.filter(user=shared_staffer).count() == 1

    connection.set_schema_to_public()
    User.objects.get(pk=shared_staffer.pk).delete()
    with connection.cursor() as cursor:  # check the foreign keys now, not at the (rolled back) commit
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    with tenant_context(world.alpha):
        assert not LogEntry.objects.filter(user_id=shared_staffer.pk).exists()


def test_public_leftovers_of_tenant_admins_are_removed_by_the_migration(world):
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    migration = importlib.import_module("tenants.migrations.0003_erasure_admin_log_public_cleanup")
    with schema_context("public"):
        tenant_row = LogEntry.objects.create(user=world.staff, content_type=ContentType.objects.get_for_model(
            Customer), object_id="1", object_repr="Bruna Bsecretname", action_flag=2)
        platform_row = LogEntry.objects.create(user=world.staff, content_type=ContentType.objects.get_for_model(
            Tenant), object_id=str(world.beta.pk), object_repr="Beta Store (beta)", action_flag=2)

        migration.forwards(apps, type("Editor", (), {"connection": connection})())

        assert not LogEntry.objects.filter(pk=tenant_row.pk).exists()
        assert LogEntry.objects.filter(pk=platform_row.pk).exists()


def test_erasure_removes_the_person_from_the_admin_history(world, beta_client, beta_history):
    from customers.services.privacy import customer_pseudonymize

    customer_id, _ = beta_history
    with tenant_context(world.beta):
        customer_pseudonymize(customer_id=customer_id, actor=Actor.system("tests"))

    beta = beta_client(world.user("beta_owner"))
    for url in ("/admin/", f"/admin/customers/customer/{customer_id}/history/"):
        body = beta.get(url).content.decode()
        assert "Brunella" not in body and "Bsecretname" not in body
    with tenant_context(world.beta):
        assert not LogEntry.objects.filter(object_repr__icontains="Bsecretname").exists()


def _admin_log_foreign_keys(schema: str) -> dict[str, str]:
    """{referenced table: on-delete action} of ``schema``'s django_admin_log ('c' cascade, 'n' set
    null, 'a' no action)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT confrelid::regclass::text, confdeltype FROM pg_constraint
                           WHERE conrelid = (quote_ident(%s) || '.django_admin_log')::regclass AND contype = 'f'""",
                       [schema])
        return {table.rsplit(".", 1)[-1]: action for table, action in cursor.fetchall()}


def test_a_schema_created_before_the_change_gets_its_own_admin_log(world):
    """Schemas that existed before admin became a tenant app have admin's migrations recorded but
    no table: the customers migration creates it there, and never touches the public one."""
    from django.apps import apps

    migration = importlib.import_module("customers.migrations.0006_erasure_admin_log_per_tenant")
    connection.set_tenant(world.alpha)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{world.alpha.schema_name}".django_admin_log')  # rolled back after the test
    public_before = _admin_log_foreign_keys("public")

    with connection.schema_editor() as editor:
        migration.forwards(apps, editor)

    assert _admin_log_foreign_keys(world.alpha.schema_name) == {"tenants_user": "c", "django_content_type": "n"}
    assert _admin_log_foreign_keys("public") == public_before
    with tenant_context(world.alpha):
        customer = CustomerFactory()
        LogEntry.objects.create(user=world.staff, object_id=str(customer.pk), object_repr="x", action_flag=2)
        assert LogEntry.objects.count() == 1
    with schema_context("public"):
        assert not LogEntry.objects.filter(object_repr="x").exists()

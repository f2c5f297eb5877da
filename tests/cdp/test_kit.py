"""The interface kit in ``cdp/``: ids, ordering, scoping, admin actions and inlines, commands,
enqueue by name, app settings. Each piece is tested here once; the apps only use it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from cdp.admin_mixins import service_action
from cdp.commands import TenantCommand, tenant_by_slug
from cdp.conf import AppSettings, coerce, env_app_settings
from cdp.context import Actor, actor_from_request
from cdp.exceptions import ApplicationError, NotFound
from cdp.ids import MAX_ID, get_or_not_found
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory

# --- ids ---------------------------------------------------------------------------------------


def test_get_or_not_found_answers_the_row_or_not_found(world):
    from customers.models import Customer

    with tenant_context(world.alpha):
        customer = CustomerFactory()
        assert get_or_not_found(Customer, customer.pk) == customer
        assert get_or_not_found(Customer.objects.filter(pk=customer.pk), str(customer.pk), lock=True) == customer
        for bad in ("²", MAX_ID + 1, "abc", None, customer.pk + 10**6):
            with pytest.raises(NotFound, match="No such person"):
                get_or_not_found(Customer, bad, "No such person.")


@pytest.mark.parametrize("path", ["/api/v1/orders/9999999999999999999/", "/api/v1/orders/99999999999999999999/",
                                  "/api/v1/orders/%C2%B2/"])
def test_api_ids_past_bigint_are_404_not_500(world, api_key, path):
    response = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"])).get(path)
    assert response.status_code == 404


def test_portal_ids_past_bigint_are_404_not_500(world, alpha_client):
    client = alpha_client(world.user("alpha_owner"))
    assert client.get(f"/customers/{MAX_ID + 1}/").status_code == 404
    assert client.get("/customers/99999999999999999999999/").status_code == 404

# --- ordering ----------------------------------------------------------------------------------


def test_an_unknown_ordering_is_a_400_naming_what_may_be_sorted(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    refused = client.get("/api/v1/orders/?ordering=raw")
    assert refused.status_code == 400
    message = refused.json()["error"]["fields"]["ordering"][0]
    assert "Cannot sort by raw" in message and "order_date" in message
    assert client.get("/api/v1/orders/?ordering=-total_amount,order_date").status_code == 200

# --- public-schema viewsets scoped to the tenant -------------------------------------------------


def test_a_tenant_scoped_viewset_sees_only_the_request_tenants_rows(world):
    from rest_framework import viewsets

    from cdp.api.viewsets import BaseViewSetMixin, TenantScopedViewSetMixin
    from tenants.models import AuditLog
    from tenants.services import audit_record

    for tenant in (world.alpha, world.beta):
        audit_record(actor=Actor.system("tests"), action="kit.test", resource_type="kit", resource_id=1, tenant=tenant)

    class AuditView(TenantScopedViewSetMixin, BaseViewSetMixin, viewsets.GenericViewSet):
        queryset = AuditLog.objects.filter(action="kit.test")
        ordering = "-id"

    view = AuditView()
    connection.set_tenant(world.beta)
    assert {row.tenant_id for row in view.get_queryset()} == {world.beta.pk}
    connection.set_schema_to_public()
    with pytest.raises(AssertionError, match="outside a tenant's host"):
        view.get_queryset()

# --- admin actions and inlines -----------------------------------------------------------------


class _Admin:
    def __init__(self):
        self.said = []

    def message_user(self, request, message, level):
        self.said.append((level, message))


def test_service_action_tries_every_row_reports_each_refusal_and_counts_the_rest(world):
    from django.contrib import messages

    from customers.models import Customer

    seen = []

    @service_action(description="Touch", done="customer(s) touched")
    def touch(customer, *, actor, request):
        seen.append((customer.pk, actor.label))
        if customer.first_name == "Refused":
            raise ApplicationError("Not this one.", fields={"email": ["Taken."]})

    request = RequestFactory().post("/admin/")
    request.user = world.user("alpha_owner")
    admin = _Admin()
    with tenant_context(world.alpha):
        rows = [CustomerFactory(first_name=name) for name in ("Ana", "Refused", "Bea")]
        touch(admin, request, Customer.objects.filter(pk__in=[r.pk for r in rows]))

    assert [pk for pk, _ in seen] == sorted(r.pk for r in rows)
    assert {label for _, label in seen} == {"owner@alpha.test"}
    assert (messages.ERROR, f"{rows[1]}: Not this one. email: Taken.") in admin.said
    assert (messages.SUCCESS, "2 customer(s) touched.") in admin.said
    assert touch.short_description == "Touch" and touch.__name__ == "touch"


def test_read_only_inlines_show_to_the_tenants_managers_not_only_to_superusers(world, alpha_client):
    """Tenant owners and admins hold no Django model permissions; the customer's identities,
    addresses, orders and change log must still show on its admin page (and stay read-only)."""
    from customers.models import CustomerIdentity

    with tenant_context(world.alpha):
        customer = CustomerFactory()
        CustomerIdentity.objects.create(customer=customer, source="vtex", external_id="vtex-kit-42")
    for role in ("owner", "admin"):
        page = alpha_client(world.user(f"alpha_{role}")).get(f"/admin/customers/customer/{customer.pk}/change/")
        assert page.status_code == 200
        assert "vtex-kit-42" in page.content.decode()
        identities = next(f for f in page.context["inline_admin_formsets"] if f.opts.model is CustomerIdentity)
        assert not identities.has_add_permission and not identities.has_change_permission
    assert alpha_client(world.user("alpha_viewer")).get(
        f"/admin/customers/customer/{customer.pk}/change/").status_code in (302, 403)

# --- commands ----------------------------------------------------------------------------------


class _Probe(TenantCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--refuse", action="store_true")

    def handle_tenant(self, tenant, *args, **options):
        if options["refuse"]:
            raise ApplicationError("Cannot do that.", fields={"name": ["Too long."]})
        self.stdout.write(f"{tenant.slug} {connection.schema_name}")


def test_tenant_command_runs_in_the_tenants_schema(world, capsys):
    call_command(_Probe(), "--tenant", "beta")
    assert capsys.readouterr().out.strip() == "beta beta"


def test_tenant_command_fails_on_one_readable_line(world):
    with pytest.raises(CommandError, match=r"^Unknown tenant 'nobody'\.$"):
        call_command(_Probe(), "--tenant", "nobody")
    with pytest.raises(CommandError, match=r"^Cannot do that\. name: Too long\.$"):
        call_command(_Probe(), "--tenant", "alpha", "--refuse")
    with pytest.raises(CommandError, match="Unknown tenant 'platform'"):
        tenant_by_slug("platform")  # the public tenant is nobody's to run commands on

# --- actors ------------------------------------------------------------------------------------


def test_actor_from_request_names_the_api_key_then_the_user(world, api_key):
    from tenants.models import ApiKey

    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4")
    api_key(world.alpha, scopes=["read"])
    key = ApiKey.objects.filter(tenant=world.alpha).latest("id")
    request.auth, request.user = key, world.user("alpha_owner")
    actor = actor_from_request(request)
    assert (actor.label, actor.api_key_id, actor.user_id, actor.ip) == (f"api-key:{key.prefix}", key.pk, None,
                                                                          "198.51.100.4")
    request.auth = None
    assert actor_from_request(request).label == "owner@alpha.test"

# --- app settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, default, expected", [
    ("30", 1.5, 30.0), ("7", 3, 7), ("yes", False, True), ("off", True, False), ("1, 3,5", (1, 3, 5), (1, 3, 5)),
    ('{"high": 90}', {"high": 80.0}, {"high": 90}), ("600/min", "120/min", "600/min"), (12, 3, 12),
])
def test_environment_text_takes_the_defaults_type(text, default, expected):
    assert coerce(text, default) == expected


def test_a_setting_wins_over_the_default_and_bad_text_names_the_setting(settings):
    conf = AppSettings({"KIT_TIMEOUT": 30.0, "KIT_NAME": "x"})
    assert conf.get("KIT_TIMEOUT") == 30.0
    settings.KIT_TIMEOUT = "45"
    assert conf.get("KIT_TIMEOUT") == 45.0
    settings.KIT_TIMEOUT = "soon"
    with pytest.raises(ValueError, match="Setting KIT_TIMEOUT"):
        conf.get("KIT_TIMEOUT")


def test_only_app_prefixes_come_from_the_environment():
    environ = {"INTEGRATIONS_HTTP_TIMEOUT": "5", "BILLING_X": "1", "HOME": "/root", "CDP_DATA_DIR": "/x",
               "CDP_LICENSE_CACHE_SECONDS": "9"}
    assert env_app_settings(environ, taken={"BILLING_X"}) == {"INTEGRATIONS_HTTP_TIMEOUT": "5",
                                                              "CDP_LICENSE_CACHE_SECONDS": "9"}


def test_the_ops_tenant_export_names_an_unknown_tenant_like_every_command(world, tmp_path):
    with pytest.raises(CommandError, match=r"^Unknown tenant 'nobody'\.$"):
        call_command("tenant_export", "nobody", str(tmp_path / "export.tar"))
    assert not (tmp_path / "export.tar").exists()

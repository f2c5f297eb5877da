"""Every admin changelist and add page renders for the people who use it."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tenants.admin_site import tenant_admin_site


def operator_admin_urls():
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        yield f"admin:{info[0]}_{info[1]}_changelist", None
        yield f"admin:{info[0]}_{info[1]}_add", model_admin


def tenant_admin_urls():
    for model, model_admin in tenant_admin_site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        yield f"tenant_admin:{info[0]}_{info[1]}_changelist", None
        yield f"tenant_admin:{info[0]}_{info[1]}_add", model_admin


@pytest.mark.parametrize("url_name, model_admin", list(operator_admin_urls()), ids=lambda v: str(v))
def test_operators_admin_pages_render_for_staff(world, public_client, url_name, model_admin):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = world.staff
    if model_admin is not None and not model_admin.has_add_permission(request):
        pytest.skip("append-only model: no add page by design")
    response = public_client(world.staff).get(reverse(url_name, urlconf="cdp.urls.public"))
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize("url_name, model_admin", list(tenant_admin_urls()), ids=lambda v: str(v))
def test_tenant_admin_pages_render_for_owner(world, alpha_client, url_name, model_admin):
    client = alpha_client(world.user("alpha_owner"))
    if model_admin is not None and url_name.endswith("_add"):
        from django.test import RequestFactory

        request = RequestFactory().get("/")
        request.user = world.user("alpha_owner")
        from django.db import connection

        connection.set_tenant(world.alpha)
        allowed = model_admin.has_add_permission(request)
        connection.set_schema_to_public()
        if not allowed:
            pytest.skip("append-only model: no add page by design")
    response = client.get(reverse(url_name, urlconf="cdp.urls.tenant"))
    assert response.status_code == 200, response.content[:500]


def test_operator_changelists_search_and_filter(world, public_client):
    client = public_client(world.staff)
    response = client.get("/admin/tenants/tenant/?q=alpha&type__exact=business")
    body = response.content.decode()
    assert response.status_code == 200 and "Alpha Store" in body and "Beta Store" not in body
    assert "Open admin" in body


def test_operators_admin_never_shows_key_hashes(world, public_client, api_key):
    from tenants.models import ApiKey

    api_key(world.alpha, name="hash-check")
    stored = ApiKey.objects.get(name="hash-check")
    client = public_client(world.staff)
    for url in ("/admin/tenants/apikey/", f"/admin/tenants/apikey/{stored.pk}/change/"):
        assert stored.hashed_key not in client.get(url).content.decode()


def test_admin_creates_tenant_through_the_provisioning_service(world, public_client):
    from tenants.models import AuditLog, Tenant

    response = public_client(world.staff).post(
        "/admin/tenants/tenant/add/", {"name": "Gamma", "slug": "gamma", "type": "trial", "domain": ""})
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.get_primary_domain().domain == "gamma.localhost"
    assert AuditLog.objects.filter(action="tenant.provision", tenant=tenant, actor=world.staff).exists()


def test_admin_add_tenant_rejects_bad_slug_on_the_form(world, public_client):
    response = public_client(world.staff).post(
        "/admin/tenants/tenant/add/", {"name": "Bad", "slug": "9bad", "type": "trial"})
    assert response.status_code == 200 and "starting with a letter" in response.content.decode()


def test_admin_api_key_is_shown_once_as_a_message(world, public_client):
    from tenants.models import ApiKey

    client = public_client(world.staff)
    response = client.post("/admin/tenants/apikey/add/",
                           {"tenant": world.alpha.pk, "name": "from-admin", "scopes": ["read"]}, follow=True)
    body = response.content.decode()
    stored = ApiKey.objects.get(name="from-admin")
    assert f"cdp_{stored.prefix}_" in body
    again = client.get(f"/admin/tenants/apikey/{stored.pk}/change/").content.decode()
    assert f"cdp_{stored.prefix}_" not in again


def test_staff_jumps_from_operators_admin_into_tenant_admin(world, public_client, alpha_client, beta_client):
    response = public_client(world.staff).get(f"/admin/tenants/tenant/{world.alpha.pk}/jump/")
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith("http://alpha.localhost") and "/admin/jump/?token=" in target
    path = target.split("alpha.localhost", 1)[1].lstrip(":0123456789")
    # the token is bound to its tenant...
    assert beta_client().get(path).status_code == 403
    # ...signs the staff user in there once...
    client = alpha_client()
    landing = client.get(path)
    assert landing.status_code == 302 and landing["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # ...and cannot be replayed
    assert alpha_client().get(path).status_code == 403


def test_non_superuser_cannot_mint_jump_tokens(world, public_client):
    from tenants.models import User

    staff_only = User.objects.create_user("ops@cdp.test", "x-Password-1", is_staff=True)
    assert public_client(staff_only).get(f"/admin/tenants/tenant/{world.alpha.pk}/jump/").status_code in (302, 403)

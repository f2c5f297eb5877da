"""The operators' admin of tenants, host names, feature flags and system settings: every write
goes through a service (audited), and a refusal is an error on the form, never a 500."""

from __future__ import annotations

import json

from django import forms

from tenants.models import AuditLog, Domain, FeatureFlag, SystemConfig, Tenant
from tests.tenants.factories import DomainFactory


def posted_form(client, url: str, **changes) -> dict:
    """The admin form at ``url`` as a browser posts it (read-only inlines send no rows), with ``changes``."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()  # already as the widget shows it (JSON as text)
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        if isinstance(field, forms.ModelMultipleChoiceField):
            data[name] = [str(v.pk if hasattr(v, "pk") else v) for v in value or []]
            continue
        data[name] = "" if value is None else value
    for inline in page.context.get("inline_admin_formsets", []):
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


def test_a_tenant_change_goes_through_the_service_and_a_refusal_stays_on_the_form(world, public_client):
    client = public_client(world.staff)
    url = f"/admin/tenants/tenant/{world.beta.pk}/change/"
    before = Tenant.objects.get(pk=world.beta.pk).settings
    # when the settings are invalid
    bad = {**before, "currency": "dollars"}
    response = client.post(url, posted_form(client, url, settings=json.dumps(bad)))
    # then the form answers with the error (formerly a 500) and nothing changed
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Tenant.objects.get(pk=world.beta.pk).settings == before
    # and settings that are not an object are refused as well (formerly a 500)
    response = client.post(url, posted_form(client, url, settings=json.dumps("text")))
    assert response.status_code == 200 and response.context["adminform"].form.errors
    # when a valid change is made
    response = client.post(url, posted_form(client, url, name="Beta Shop"))
    assert response.status_code == 302
    assert Tenant.objects.get(pk=world.beta.pk).name == "Beta Shop"
    entry = AuditLog.objects.get(action="tenant.update", tenant=world.beta)
    assert entry.changes == {"name": ["Beta Store", "Beta Shop"]}


def test_suspending_tenants_is_a_service_action(world, public_client):
    response = public_client(world.staff).post("/admin/tenants/tenant/", {
        "action": "suspend", "_selected_action": [world.beta.pk]}, follow=True)
    assert "1 tenant(s) suspended." in response.content.decode()
    assert Tenant.objects.get(pk=world.beta.pk).status == Tenant.Status.SUSPENDED
    assert AuditLog.objects.filter(action="tenant.update", tenant=world.beta).exists()


def test_jumping_into_an_unknown_tenant_is_a_404(world, public_client):
    assert public_client(world.staff).get(f"/admin/tenants/tenant/{world.public.pk}/jump/").status_code == 404
    assert public_client(world.staff).get("/admin/tenants/tenant/9999999/jump/").status_code == 404


def test_host_names_are_added_changed_and_removed_with_audit_entries(world, public_client):
    client = public_client(world.staff)
    # a host that is not one is refused on the form
    response = client.post("/admin/tenants/domain/add/", {"domain": "not a host", "tenant": world.beta.pk})
    assert response.status_code == 200 and "not a valid host name" in response.content.decode()
    # when
    response = client.post("/admin/tenants/domain/add/", {"domain": "Shop.Beta.Example", "tenant": world.beta.pk})
    # then
    assert response.status_code == 302
    domain = Domain.objects.get(domain="shop.beta.example")
    created = AuditLog.objects.get(action="domain.create", tenant=world.beta)
    assert created.changes == {"domain": [None, "shop.beta.example"], "is_primary": [None, False],
                               "tenant": [None, "Beta Store (beta)"]}
    url = f"/admin/tenants/domain/{domain.pk}/change/"
    assert client.post(url, posted_form(client, url, domain="shop2.beta.example")).status_code == 302
    assert AuditLog.objects.get(action="domain.update").changes == {
        "domain": ["shop.beta.example", "shop2.beta.example"]}
    assert client.post(f"/admin/tenants/domain/{domain.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Domain.objects.filter(pk=domain.pk).exists()
    assert AuditLog.objects.get(action="domain.delete").changes == {
        "domain": ["shop2.beta.example", None], "is_primary": [False, None]}


def test_feature_flags_are_written_through_the_service_from_the_form_and_the_list(world, public_client):
    client = public_client(world.staff)
    response = client.post("/admin/tenants/featureflag/add/", {
        "key": "new-ui", "description": "", "rollout_percentage": "10", "tenants": [world.alpha.pk]})
    assert response.status_code == 302
    flag = FeatureFlag.objects.get(key="new-ui")
    assert list(flag.tenants.all()) == [world.alpha]
    assert AuditLog.objects.get(action="feature_flag.create").changes["tenants"] == [None, ["Alpha Store (alpha)"]]
    # when the list's editable columns are saved
    response = client.post("/admin/tenants/featureflag/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": flag.pk, "form-0-enabled": "on", "form-0-rollout_percentage": "50", "_save": "Save"})
    # then
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.enabled and flag.rollout_percentage == 50
    assert AuditLog.objects.get(action="feature_flag.update").changes == {
        "enabled": [False, True], "rollout_percentage": [10, 50]}
    # and a refused value is an error on the list, not a 500
    response = client.post("/admin/tenants/featureflag/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": flag.pk, "form-0-enabled": "on", "form-0-rollout_percentage": "150", "_save": "Save"})
    assert response.status_code == 200
    assert FeatureFlag.objects.get(pk=flag.pk).rollout_percentage == 50


def test_system_settings_are_audited(world, public_client):
    client = public_client(world.staff)
    response = client.post("/admin/tenants/systemconfig/add/", {
        "key": "maintenance", "value": json.dumps({"on": False}), "description": ""})
    assert response.status_code == 302
    config = SystemConfig.objects.get(key="maintenance")
    url = f"/admin/tenants/systemconfig/{config.pk}/change/"
    assert client.post(url, posted_form(client, url, value=json.dumps({"on": True}))).status_code == 302
    assert AuditLog.objects.get(action="system_config.update").changes == {"value": [{"on": False}, {"on": True}]}
    assert AuditLog.objects.filter(action="system_config.create", tenant=None).exists()


def test_deleting_the_selected_host_names_goes_through_the_service_row_by_row(world, public_client):
    hosts = DomainFactory.create_batch(2, tenant=world.beta)
    client = public_client(world.staff)
    response = client.post("/admin/tenants/domain/", {
        "action": "delete_selected", "_selected_action": [str(h.pk) for h in hosts], "post": "yes"})
    assert response.status_code == 302
    assert not Domain.objects.filter(pk__in=[h.pk for h in hosts]).exists()
    assert AuditLog.objects.filter(action="domain.delete", resource_id__in=[str(h.pk) for h in hosts]).count() == 2


def test_a_refused_delete_is_a_message_and_nothing_is_deleted(world, public_client):
    from tenants.models import Membership

    owner = Membership.objects.get(tenant=world.alpha, role="owner")
    viewer = Membership.objects.get(tenant=world.alpha, role="viewer")
    client = public_client(world.staff)
    # the last owner, alone and among other rows: refused, and the other row stays too
    alone = client.post(f"/admin/tenants/membership/{owner.pk}/delete/", {"post": "yes"}, follow=True)
    assert alone.status_code == 200
    assert "at least one owner" in " ".join(str(m) for m in alone.context["messages"])
    both = client.post("/admin/tenants/membership/", {
        "action": "delete_selected", "_selected_action": [str(owner.pk), str(viewer.pk)], "post": "yes"}, follow=True)
    assert "Nothing was deleted" in " ".join(str(m) for m in both.context["messages"])
    assert Membership.objects.filter(pk__in=[owner.pk, viewer.pk]).count() == 2


def test_operators_create_change_and_reset_users_through_audited_services(world, public_client):
    from tenants.models import User

    client = public_client(world.staff)
    password = "Another-Horse-43"
    inlines = client.get("/admin/tenants/user/add/").context["inline_admin_formsets"]
    management = {f"{inline.formset.prefix}-{name}": "0" for inline in inlines
                  for name in ("TOTAL_FORMS", "INITIAL_FORMS")}
    response = client.post("/admin/tenants/user/add/", {
        "email": "New.Operator@CDP.test", "full_name": "New Operator", "usable_password": "true",
        "password1": password, "password2": password, **management})
    assert response.status_code == 302
    user = User.objects.get(email="new.operator@cdp.test")
    assert user.check_password(password)
    assert AuditLog.objects.filter(action="user.create", resource_id=str(user.pk)).exists()
    # who made whom staff and superuser is on record, field by field
    url = f"/admin/tenants/user/{user.pk}/change/"
    assert client.post(url, posted_form(client, url, is_staff="on", is_superuser="on")).status_code == 302
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser
    assert AuditLog.objects.get(action="user.update", resource_id=str(user.pk)).changes == {
        "is_staff": [False, True], "is_superuser": [False, True]}
    # an e-mail someone else holds is an error on the form, and nothing changes
    taken = client.post(url, posted_form(client, url, email=world.staff.email))
    assert taken.status_code == 200 and "email" in taken.context["adminform"].form.errors
    # a password reset by an operator is audited, without the password
    reset = client.post(f"/admin/tenants/user/{user.pk}/password/", {
        "usable_password": "true", "password1": "Third-Horse-44", "password2": "Third-Horse-44"})
    assert reset.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Third-Horse-44")
    entry = AuditLog.objects.get(action="user.password_set", resource_id=str(user.pk))
    assert "Third-Horse-44" not in json.dumps(entry.changes)

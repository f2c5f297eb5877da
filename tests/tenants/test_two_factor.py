"""Two-factor sign-in (issue #22 item 6): TOTP with recovery codes, for operators always and for
members of tenants that require it; wrong, reused and guessed codes refused; the tenant's choice
owners' and admins' only."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from cdp.context import Actor
from cdp.exceptions import PermissionDenied
from tenants.codes import AuditAction
from tenants.models import AuditLog, RecoveryCode, Tenant, recovery_code_digest
from tenants.services.twofactor import tenant_two_factor_set, two_factor_reset
from tests.conftest import PASSWORD, api_client, totp_code, two_factor_device, two_factor_pass

SYSTEM = Actor.system("tests")
VERIFY = "/account/two-factor/verify/"
ENROL = "/account/two-factor/"


def password_sign_in(host: str, user, *, path="/accounts/login/") -> Client:
    """The first step through the real form: the session is signed in, not yet verified."""
    client = Client(HTTP_HOST=host)
    response = client.post(path, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def audit_actions(user) -> list[str]:
    return list(AuditLog.objects.filter(resource_type="user", resource_id=str(user.pk)).order_by("pk")
                .values_list("action", flat=True))


def enrol_through_the_page(client: Client) -> list[str]:
    """Read the secret off the enrolment page as a person's app would, answer with its code,
    and return the recovery codes shown once."""
    page = client.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth://totp/" in html
    key = client.session["two_factor_pending_key"]
    code = totp_code(TOTPDevice(key=key))
    shown = client.post(ENROL, {"token": code, "next": "/"})
    assert shown.status_code == 200
    return re.findall(r"<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>", shown.content.decode())


def test_a_wrong_totp_code_is_refused_and_audited(world):
    # given a member who enrolled, signed in with the password only
    viewer = world.user("alpha_viewer")
    device = two_factor_device(viewer)
    client = password_sign_in("alpha.localhost", viewer)
    assert client.get("/")["Location"].startswith(VERIFY)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    # when
    response = client.post(VERIFY, {"token": wrong, "next": "/"})
    # then
    assert response.status_code == 400
    assert client.get("/")["Location"].startswith(VERIFY)
    assert AuditAction.TWO_FACTOR_FAILURE in audit_actions(viewer)


def test_the_right_code_passes_once_and_the_same_code_is_refused_again(world):
    viewer = world.user("alpha_viewer")
    device = two_factor_device(viewer)
    code = totp_code(device)
    first = password_sign_in("alpha.localhost", viewer)
    assert first.post(VERIFY, {"token": code, "next": "/customers/"})["Location"] == "/customers/"
    assert first.get("/").status_code == 200
    # when the same code is presented by another sign-in (read over a shoulder)
    second = password_sign_in("alpha.localhost", viewer)
    assert second.post(VERIFY, {"token": code}).status_code == 400
    assert second.get("/").status_code == 302
    assert audit_actions(viewer)[-2:] == [AuditAction.TWO_FACTOR_VERIFY, AuditAction.TWO_FACTOR_FAILURE]


def test_a_recovery_code_signs_in_once_and_is_stored_only_as_a_digest(world):
    # given a member enrolled through the page
    analyst = world.user("alpha_analyst")
    codes = enrol_through_the_page(password_sign_in("alpha.localhost", analyst))
    assert len(codes) == 10
    stored = set(RecoveryCode.objects.filter(device__user=analyst).values_list("digest", flat=True))
    assert stored == {recovery_code_digest(code) for code in codes}
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)
    # when the code is used (typed in lower case, without the dash)
    client = password_sign_in("alpha.localhost", analyst)
    assert client.post(VERIFY, {"token": codes[0].replace("-", "").lower(), "next": "/"}).status_code == 302
    assert client.get("/").status_code == 200
    # then it does not work a second time; another code still does
    again = password_sign_in("alpha.localhost", analyst)
    assert again.post(VERIFY, {"token": codes[0]}).status_code == 400
    assert RecoveryCode.objects.filter(device__user=analyst, used_at__isnull=True).count() == 9


def test_a_member_of_a_tenant_requiring_it_reaches_nothing_before_enrolling(world, api_key):
    # given alpha requires two-factor sign-in (a fresh instance: the world's is shared by every test)
    tenant_two_factor_set(tenant=Tenant.objects.get(pk=world.alpha.pk), required=True, actor=SYSTEM)
    viewer = world.user("alpha_viewer")
    client = password_sign_in("alpha.localhost", viewer)
    # then every page leads to enrolment, the session-signed API refuses, API keys are not sessions
    for path in ("/", "/customers/", "/settings/sessions/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(ENROL + "?next="), path
    refused = client.get("/api/v1/customers/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "two_factor_required"
    assert api_client("alpha.localhost", api_key(world.alpha)).get("/api/v1/customers/").status_code == 200
    # and beta, which does not require it, is not affected
    beta = password_sign_in("beta.localhost", world.user("beta_viewer"))
    assert beta.get("/").status_code == 200
    # when the member enrols, the portal opens
    enrol_through_the_page(client)
    assert client.get("/").status_code == 200


def test_an_operator_without_two_factor_cannot_reach_the_admin(world):
    # given the operator signed in with the password on the operators' admin
    operator = password_sign_in("localhost", world.staff, path="/admin/login/?next=/admin/")
    # then the admin (and a tenant's host) sends them to enrolment
    response = operator.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ENROL)
    assert operator.get("/admin/tenants/tenant/").status_code == 302
    on_tenant = Client(HTTP_HOST="alpha.localhost")
    on_tenant.force_login(world.staff)
    assert on_tenant.get("/admin/")["Location"].startswith(ENROL)
    # when they enrol, the admin opens; the next sign-in asks for the code
    enrol_through_the_page(operator)
    assert operator.get("/admin/").status_code == 200
    again = password_sign_in("localhost", world.staff, path="/admin/login/?next=/admin/")
    assert again.get("/admin/")["Location"].startswith(VERIFY)


def test_the_test_helper_verifies_operators_sessions(world, public_client):
    assert public_client(world.staff).get("/admin/").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_a_lower_role_cannot_change_the_tenants_requirement(world, alpha_client, role):
    client = alpha_client(world.user(f"alpha_{role}"))
    assert client.post("/settings/two-factor/", {"required": "on"}).status_code == 403
    assert not Tenant.objects.get(pk=world.alpha.pk).settings.get("require_two_factor")
    with pytest.raises(PermissionDenied):
        tenant_two_factor_set(tenant=Tenant.objects.get(pk=world.alpha.pk), required=True,
                              actor=Actor(label="x", user_id=world.user(f"alpha_{role}").pk))


def test_admins_turn_it_on_only_owners_turn_it_off_and_it_is_audited(world, alpha_client):
    admin = alpha_client(world.user("alpha_admin"))
    assert admin.get("/settings/two-factor/").status_code == 200
    assert admin.post("/settings/two-factor/", {"required": "on"}).status_code == 302
    assert Tenant.objects.get(pk=world.alpha.pk).settings["require_two_factor"] is True
    entry = AuditLog.objects.filter(action=AuditAction.TENANT_TWO_FACTOR_REQUIRED).latest("pk")
    assert entry.changes == {"require_two_factor": [False, True]}
    assert entry.actor_id == world.user("alpha_admin").pk
    # the admin now has to enrol before doing anything else, turning it off included
    assert admin.post("/settings/two-factor/", {})["Location"].startswith(ENROL)
    two_factor_pass(admin, world.user("alpha_admin"))
    assert admin.post("/settings/two-factor/", {}).status_code == 403
    owner = alpha_client(world.user("alpha_owner"))
    two_factor_pass(owner, world.user("alpha_owner"))
    assert owner.post("/settings/two-factor/", {}).status_code == 302
    assert Tenant.objects.get(pk=world.alpha.pk).settings["require_two_factor"] is False


def test_repeated_wrong_codes_lock_the_account_and_end_the_half_signed_in_session(world, settings):
    viewer = world.user("alpha_viewer")
    two_factor_device(viewer)
    client = password_sign_in("alpha.localhost", viewer)
    statuses = [client.post(VERIFY, {"token": "000000"}).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses[:-1] == [400] * (settings.AXES_FAILURE_LIMIT - 1) and statuses[-1] == 429
    assert "_auth_user_id" not in client.session
    # and the password alone does not get back in while the lock lasts
    assert Client(HTTP_HOST="alpha.localhost").post(
        "/accounts/login/", {"username": viewer.email, "password": PASSWORD}).status_code == 429


def test_recovery_codes_regenerate_and_operators_reset_a_lost_factor(world, alpha_client, public_client):
    owner = world.user("alpha_owner")
    client = password_sign_in("alpha.localhost", owner)
    old = enrol_through_the_page(client)
    assert "10" in client.get(ENROL).content.decode()
    new = re.findall(r"<li><code>([A-Z0-9-]{11})</code></li>",
                     client.post(ENROL, {"action": "regenerate"}).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert not RecoveryCode.objects.filter(digest=recovery_code_digest(old[0])).exists()
    # a member cannot reset anyone's factor; an operator can (from the user admin)
    with pytest.raises(PermissionDenied):
        two_factor_reset(user=owner, actor=Actor(label="x", user_id=world.user("alpha_admin").pk))
    operator = public_client(world.staff)
    response = operator.post("/admin/tenants/user/", {"action": "reset_two_factor", "_selected_action": [owner.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=owner).exists()
    assert AuditAction.TWO_FACTOR_RESET in audit_actions(owner)


def test_the_totp_secret_is_not_shown_in_the_operators_admin(world, public_client):
    two_factor_device(world.user("alpha_owner"))
    assert public_client(world.staff).get("/admin/otp_totp/totpdevice/").status_code == 404

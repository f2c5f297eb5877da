"""C1 / C14: the role hierarchy and e-mail invitations, in the service and through every interface
(tenant admin, operators' admin, API, portal).

Rules: managing people needs ``members``; only owners grant, change or remove owner/admin;
below owners nobody acts on a role at or above their own; the last owner stays; people join only
by accepting an expiring, single-use e-mail invitation; no page lists users outside the tenant.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from cdp.exceptions import ApplicationError, PermissionDenied
from tenants.models import AuditLog, Membership
from tests.conftest import PASSWORD, api_client, two_factor_pass
from tests.security.conftest import SYSTEM, actor_of, signed_in


def membership(user, tenant) -> Membership:
    return Membership.objects.get(user=user, tenant=tenant)


def invitations():
    from tenants.models import Invitation  # imported late: the model is new (C1)

    return Invitation.objects


def role_of(user, tenant) -> str | None:
    return Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def link_in(message) -> str:
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


# --- the service: hierarchy ------------------------------------------------------------------------


def test_admin_cannot_make_themselves_owner_nor_demote_the_owner(world, person):
    from tenants.services import membership_role_change

    admin, owner = person(world.alpha, "admin"), person(world.alpha, "owner")
    with pytest.raises(PermissionDenied):
        membership_role_change(membership_id=membership(admin, world.alpha).pk, tenant=world.alpha, role="owner",
                               actor=actor_of(admin))
    with pytest.raises(PermissionDenied):
        membership_role_change(membership_id=membership(owner, world.alpha).pk, tenant=world.alpha, role="viewer",
                               actor=actor_of(admin))
    assert role_of(admin, world.alpha) == "admin" and role_of(owner, world.alpha) == "owner"


def test_admin_cannot_grant_admin_nor_touch_another_admin(world, person):
    from tenants.services import membership_remove, membership_role_change

    admin, other_admin, viewer = (person(world.alpha, r) for r in ("admin", "admin", "viewer"))
    with pytest.raises(PermissionDenied):
        membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, role="admin",
                               actor=actor_of(admin))
    with pytest.raises(PermissionDenied):
        membership_remove(membership_id=membership(other_admin, world.alpha).pk, tenant=world.alpha,
                          actor=actor_of(admin))
    # below their own role an admin may act
    membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, role="analyst",
                           actor=actor_of(admin))
    assert role_of(viewer, world.alpha) == "analyst"
    assert role_of(other_admin, world.alpha) == "admin"


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewers_and_analysts_manage_nobody(world, person, role):
    from tenants.services import membership_remove, membership_role_change

    actor, viewer = person(world.alpha, role), person(world.alpha, "viewer")
    with pytest.raises(PermissionDenied):
        membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha,
                               role="viewer" if role == "analyst" else "analyst", actor=actor_of(actor))
    with pytest.raises(PermissionDenied):
        membership_remove(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, actor=actor_of(actor))


def test_owner_grants_admin_and_owner_and_demotes_another_owner(world, person):
    from tenants.services import membership_role_change

    owner, other, viewer = person(world.alpha, "owner"), person(world.alpha, "owner"), person(world.alpha)
    membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, role="admin",
                           actor=actor_of(owner))
    membership_role_change(membership_id=membership(other, world.alpha).pk, tenant=world.alpha, role="analyst",
                           actor=actor_of(owner))
    assert role_of(viewer, world.alpha) == "admin" and role_of(other, world.alpha) == "analyst"


def test_the_last_owner_is_never_demoted_nor_removed_even_by_the_platform(world, person):
    from tenants.services import LastOwner, membership_remove, membership_role_change, tenant_provision

    tenant = tenant_provision(slug="solo-owner", name="Solo", actor=SYSTEM)
    owner = person(tenant, "owner")
    for actor in (actor_of(owner), SYSTEM, actor_of(world.staff)):
        with pytest.raises(LastOwner):
            membership_role_change(membership_id=membership(owner, tenant).pk, tenant=tenant, role="admin",
                                   actor=actor)
        with pytest.raises(LastOwner):
            membership_remove(membership_id=membership(owner, tenant).pk, tenant=tenant, actor=actor)
    assert role_of(owner, tenant) == "owner"


def test_members_of_another_tenant_are_not_found(world, person):
    from cdp.exceptions import NotFound
    from tenants.services import membership_role_change

    owner, beta_viewer = person(world.alpha, "owner"), person(world.beta)
    with pytest.raises(NotFound):
        membership_role_change(membership_id=membership(beta_viewer, world.beta).pk, tenant=world.alpha,
                               role="analyst", actor=actor_of(owner))


def test_nobody_attaches_an_existing_platform_user_directly_except_the_platform(world, person):
    from tenants.services import membership_set

    owner = person(world.alpha, "owner")
    with pytest.raises(PermissionDenied) as refused:
        membership_set(user=world.user("beta_owner"), tenant=world.alpha, role="viewer", actor=actor_of(owner))
    assert refused.value.code == "invitation_required"
    assert role_of(world.user("beta_owner"), world.alpha) is None
    membership_set(user=world.user("outsider"), tenant=world.alpha, role="viewer", actor=actor_of(world.staff))
    assert role_of(world.user("outsider"), world.alpha) == "viewer"


def test_a_key_ranks_as_an_admin_and_needs_the_members_scope(world, person, api_key):
    from tenants.models import ApiKey
    from tenants.services import invitation_create, membership_role_change
    from tests.security.conftest import key_actor

    viewer = person(world.alpha)
    members_key = ApiKey.objects.get(prefix=api_key(world.alpha, scopes=["read", "members"]).split("_")[1])
    write_key = ApiKey.objects.get(prefix=api_key(world.alpha, scopes=["read", "write", "keys"]).split("_")[1])
    with pytest.raises(PermissionDenied):
        invitation_create(tenant=world.alpha, email="x@example.com", role="viewer", actor=key_actor(write_key))
    with pytest.raises(PermissionDenied):
        invitation_create(tenant=world.alpha, email="x@example.com", role="admin", actor=key_actor(members_key))
    with pytest.raises(PermissionDenied):
        membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, role="owner",
                               actor=key_actor(members_key))
    membership_role_change(membership_id=membership(viewer, world.alpha).pk, tenant=world.alpha, role="analyst",
                           actor=key_actor(members_key))
    assert role_of(viewer, world.alpha) == "analyst"


# --- the tenant admin (C1 reproduction, C14) ---------------------------------------------------------


def test_tenant_admin_admin_cannot_raise_own_role_nor_demote_the_owner(world, person, alpha_client):
    admin, owner = person(world.alpha, "admin"), person(world.alpha, "owner")
    client = alpha_client(admin)
    own = membership(admin, world.alpha)
    response = client.post(f"/admin/tenants/membership/{own.pk}/change/", {"role": "owner"})
    assert response.status_code == 403
    theirs = membership(owner, world.alpha)
    response = client.post(f"/admin/tenants/membership/{theirs.pk}/change/", {"role": "viewer"})
    assert response.status_code == 403
    assert client.post(f"/admin/tenants/membership/{theirs.pk}/delete/", {"post": "yes"}).status_code == 403
    assert role_of(admin, world.alpha) == "admin" and role_of(owner, world.alpha) == "owner"


def test_tenant_admin_cannot_swap_the_user_of_a_membership(world, person, alpha_client):
    owner, viewer = person(world.alpha, "owner"), person(world.alpha)
    row = membership(viewer, world.alpha)
    client = alpha_client(owner)
    page = client.get(f"/admin/tenants/membership/{row.pk}/change/").content.decode()
    assert 'name="user"' not in page
    client.post(f"/admin/tenants/membership/{row.pk}/change/", {"role": "viewer", "user": world.staff.pk})
    row.refresh_from_db()
    assert row.user_id == viewer.pk
    assert not Membership.objects.filter(user=world.staff, tenant=world.alpha).exists()


def test_tenant_admin_add_membership_is_an_invitation_form(world, person, alpha_client,
                                                          django_capture_on_commit_callbacks):
    admin = person(world.alpha, "admin")
    client = alpha_client(admin)
    page = client.get("/admin/tenants/membership/add/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="email"' in body and 'name="user"' not in body
    # no picker: nobody outside the tenant is listed, not even by id
    assert world.user("beta_owner").email not in body and world.staff.email not in body
    # an admin is offered only the roles below their own
    assert 'value="viewer"' in body and 'value="analyst"' in body
    assert 'value="owner"' not in body and 'value="admin"' not in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/tenants/membership/add/", {"email": "New.Person@Example.com",
                                                                    "role": "analyst"})
    assert response.status_code == 302
    invitation = invitations().get(tenant=world.alpha, email="new.person@example.com")
    assert invitation.role == "analyst" and invitation.invited_by == admin
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.person@example.com"]
    refused = client.post("/admin/tenants/invitation/add/", {"email": "boss@example.com", "role": "owner"})
    assert refused.status_code == 200  # the form again, with an error
    assert not invitations().filter(email="boss@example.com").exists()


def test_operators_admin_may_attach_users_but_keeps_the_last_owner(world, public_client):
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug="ops-owner", name="Ops", actor=SYSTEM)
    client = public_client(world.staff)
    response = client.post("/admin/tenants/membership/add/", {"user": world.user("outsider").pk,
                                                                "tenant": tenant.pk, "role": "owner"})
    assert response.status_code == 302
    row = membership(world.user("outsider"), tenant)
    response = client.post(f"/admin/tenants/membership/{row.pk}/change/", {"role": "viewer"})
    assert response.status_code == 200 and "at least one owner" in response.content.decode()
    assert role_of(world.user("outsider"), tenant) == "owner"


# --- the API -----------------------------------------------------------------------------------------


def test_api_members_role_change_follows_the_hierarchy(world, person, alpha_client):
    admin, owner, viewer = person(world.alpha, "admin"), person(world.alpha, "owner"), person(world.alpha)
    client = alpha_client(admin)

    def patch(user, role):
        return client.patch(f"/api/v1/members/{membership(user, world.alpha).pk}/", {"role": role},
                            content_type="application/json")

    assert patch(admin, "owner").status_code == 403
    assert patch(owner, "viewer").status_code == 403
    assert patch(viewer, "admin").status_code == 403
    ok = patch(viewer, "analyst")
    assert ok.status_code == 200 and ok.json()["role"] == "analyst"
    assert client.delete(f"/api/v1/members/{membership(owner, world.alpha).pk}/").status_code == 403
    assert client.delete(f"/api/v1/members/{membership(viewer, world.alpha).pk}/").status_code == 204
    assert role_of(viewer, world.alpha) is None


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_api_members_writes_are_refused_to_viewers_and_analysts(world, person, alpha_client, role):
    actor, viewer = person(world.alpha, role), person(world.alpha)
    client = alpha_client(actor)
    row = membership(viewer, world.alpha).pk
    assert client.patch(f"/api/v1/members/{row}/", {"role": "analyst"}, content_type="application/json").status_code == 403
    assert client.delete(f"/api/v1/members/{row}/").status_code == 403
    invited = client.post("/api/v1/members/invite/", {"email": "a@example.com"}, content_type="application/json")
    assert invited.status_code == 403
    assert client.get("/api/v1/invitations/").status_code == 403


def test_api_key_without_members_scope_is_refused(world, person, api_key):
    viewer = person(world.alpha)
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "keys", "security"]))
    row = membership(viewer, world.alpha).pk
    assert client.patch(f"/api/v1/members/{row}/", {"role": "analyst"}, content_type="application/json").status_code == 403
    assert client.post("/api/v1/members/invite/", {"email": "a@example.com"},
                       content_type="application/json").status_code == 403


def test_api_last_owner_answers_409(world, person):
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug="api-last", name="Api last", actor=SYSTEM)
    owner = person(tenant, "owner")
    client = Client(HTTP_HOST="api-last.localhost")
    client.force_login(owner)
    response = client.patch(f"/api/v1/members/{membership(owner, tenant).pk}/", {"role": "admin"},
                            content_type="application/json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "last_owner"
    assert client.delete(f"/api/v1/members/{membership(owner, tenant).pk}/").status_code == 409


def test_api_invite_never_returns_the_link_and_mails_the_tenant_host(world, person, alpha_client,
                                                                    django_capture_on_commit_callbacks):
    owner = person(world.alpha, "owner")
    client = alpha_client(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/members/invite/", {"email": "joiner@example.com", "role": "admin"},
                               content_type="application/json", HTTP_X_FORWARDED_HOST="evil.example.com")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["role"] == "admin"
    link = link_in(mail.outbox[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in response.content.decode()
    assert link.startswith("http://alpha.localhost/invitations/")
    stored = invitations().get(pk=body["id"])
    assert token not in stored.token_hash  # only the hash is stored
    listing = client.get("/api/v1/invitations/").json()
    assert [i["email"] for i in listing["results"]] == ["joiner@example.com"]
    assert client.delete(f"/api/v1/invitations/{body['id']}/").status_code == 204
    stored.refresh_from_db()
    assert stored.status == "revoked"
    assert AuditLog.objects.filter(tenant=world.alpha, action="invitation.revoke").exists()


def test_api_invite_checks_its_input(world, person, alpha_client):
    client = alpha_client(person(world.alpha, "owner"))
    bad = client.post("/api/v1/members/invite/", {"email": "not-an-email", "role": "emperor"},
                      content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"email", "role"}
    member = client.post("/api/v1/members/invite/", {"email": "VIEWER@alpha.test"}, content_type="application/json")
    assert member.status_code == 409 and member.json()["error"]["code"] == "already_member"


# --- the portal --------------------------------------------------------------------------------------


def test_portal_members_page_offers_only_what_the_person_may_do(world, person, alpha_client):
    admin = person(world.alpha, "admin")
    body = alpha_client(admin).get("/members/").content.decode()
    assert 'action="/members/invite/"' in body
    invite_form = body.split('action="/members/invite/"', 1)[1].split("</form>", 1)[0]
    assert 'value="viewer"' in invite_form and 'value="analyst"' in invite_form
    assert 'value="owner"' not in invite_form and 'value="admin"' not in invite_form
    viewer_page = alpha_client(world.user("alpha_viewer")).get("/members/").content.decode()
    assert "/members/invite/" not in viewer_page and "/remove/" not in viewer_page


def test_portal_member_writes_follow_the_hierarchy(world, person, alpha_client):
    admin, owner, viewer = person(world.alpha, "admin"), person(world.alpha, "owner"), person(world.alpha)
    client = alpha_client(admin)
    own = membership(admin, world.alpha).pk
    response = client.post(f"/members/{own}/role/", {f"m{own}-role": "owner"})
    assert response.status_code == 403
    theirs = membership(owner, world.alpha).pk
    client.post(f"/members/{theirs}/remove/")
    assert role_of(owner, world.alpha) == "owner" and role_of(admin, world.alpha) == "admin"
    row = membership(viewer, world.alpha).pk
    assert client.post(f"/members/{row}/role/", {f"m{row}-role": "analyst"}).status_code == 302
    assert role_of(viewer, world.alpha) == "analyst"
    refused = client.post("/members/invite/", {"email": "boss@example.com", "role": "owner"})
    assert refused.status_code == 400 and not invitations().filter(email="boss@example.com").exists()
    assert client.post("/members/invite/", {"email": "helper@example.com", "role": "viewer"}).status_code == 302
    assert invitations().filter(email="helper@example.com", tenant=world.alpha).exists()


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_portal_member_writes_are_refused_to_viewers_and_analysts(world, person, alpha_client, role):
    actor, viewer = person(world.alpha, role), person(world.alpha)
    client = alpha_client(actor)
    row = membership(viewer, world.alpha).pk
    assert client.post("/members/invite/", {"email": "x@example.com", "role": "viewer"}).status_code == 403
    assert client.post(f"/members/{row}/role/", {f"m{row}-role": "analyst"}).status_code == 403
    assert client.post(f"/members/{row}/remove/").status_code == 403
    assert role_of(viewer, world.alpha) == "viewer"


# --- accepting an invitation ------------------------------------------------------------------------


@pytest.fixture
def invite(world, django_capture_on_commit_callbacks):
    """``invite(email, role, tenant)`` -> (invitation, path of the link in the e-mail sent)."""
    from tenants.services import invitation_create

    def send(email, role="viewer", tenant=None):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            invitation = invitation_create(tenant=tenant or world.alpha, email=email, role=role, actor=SYSTEM,
                                           scheme="http")
        return invitation, link_in(mail.outbox[-1]).split("localhost", 1)[1]

    return send


def test_a_new_person_accepts_once_and_is_signed_in(world, invite):
    invitation, path = invite("fresh@example.com", "analyst")
    client = Client(HTTP_HOST="alpha.localhost")
    page = client.get(path)
    assert page.status_code == 200 and "fresh@example.com" in page.content.decode()
    weak = client.post(path, {"password1": "123", "password2": "123"})
    assert weak.status_code == 400
    joined = client.post(path, {"full_name": "Fresh", "password1": "Long-Enough-77", "password2": "Long-Enough-77"})
    assert joined.status_code == 302 and signed_in(client)
    from tenants.models import User

    user = User.objects.get(email="fresh@example.com")
    assert role_of(user, world.alpha) == "analyst"
    # single use
    again = Client(HTTP_HOST="alpha.localhost").post(path, {"password1": "Other-Pass-88", "password2": "Other-Pass-88"})
    assert again.status_code == 410
    actions = AuditLog.objects.filter(tenant=world.alpha, resource_type="invitation", resource_id=str(invitation.pk))
    assert set(actions.values_list("action", flat=True)) == {"invitation.create", "invitation.accept"}
    assert AuditLog.objects.filter(tenant=world.alpha, action="membership.join", changes__user=user.email).exists()


def test_an_existing_account_proves_its_password_and_keeps_it(world, invite):
    beta_owner = world.user("beta_owner")
    _, path = invite(beta_owner.email.upper(), "viewer")
    client = Client(HTTP_HOST="alpha.localhost")
    # nobody may take over the account by choosing a new password
    takeover = client.post(path, {"password1": "Hijack-Pass-99", "password2": "Hijack-Pass-99"})
    assert takeover.status_code == 400 and not signed_in(client)
    wrong = client.post(path, {"password": "nope"})
    assert wrong.status_code == 400 and role_of(beta_owner, world.alpha) is None
    ok = client.post(path, {"password": PASSWORD})
    assert ok.status_code == 302 and role_of(beta_owner, world.alpha) == "viewer"
    beta_owner.refresh_from_db()
    assert beta_owner.check_password(PASSWORD)


def test_someone_signed_in_as_another_address_cannot_accept(world, invite, alpha_client):
    _, path = invite("someone-else@example.com")
    client = alpha_client(world.user("alpha_admin"))
    assert client.post(path).status_code == 200  # the "sign out first" page
    assert not invitations().get(email="someone-else@example.com").accepted_at


def test_expired_revoked_and_foreign_links_do_not_work(world, invite):
    from tenants.services import invitation_revoke

    expired, expired_path = invite("late@example.com")
    revoked, revoked_path = invite("withdrawn@example.com")
    _, beta_path = invite("beta-only@example.com", tenant=world.beta)
    invitations().filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    invitation_revoke(invitation_id=revoked.pk, tenant=world.alpha, actor=SYSTEM)
    client = Client(HTTP_HOST="alpha.localhost")
    for path in (expired_path, revoked_path, beta_path, "/invitations/garbage/"):
        assert client.get(path).status_code == 410, path
        response = client.post(path, {"password1": "Long-Enough-77", "password2": "Long-Enough-77"})
        assert response.status_code == 410, path
    from tenants.models import User

    assert not User.objects.filter(email__in=["late@example.com", "withdrawn@example.com",
                                              "beta-only@example.com"]).exists()


def test_accepting_is_single_use_in_the_service(world, invite):
    from tenants.services import InvitationInvalid, invitation_accept

    _, path = invite(world.user("outsider").email)
    token = path.rstrip("/").rsplit("/", 1)[1]
    invitation_accept(token=token, tenant=world.alpha, actor=SYSTEM, user=world.user("outsider"))
    with pytest.raises(InvitationInvalid):
        invitation_accept(token=token, tenant=world.alpha, actor=SYSTEM, user=world.user("outsider"))
    with pytest.raises(ApplicationError):
        invitation_accept(token=token, tenant=world.beta, actor=SYSTEM, user=world.user("outsider"))


def test_operator_sessions_stay_hidden_unless_the_operator_accepts_an_invitation(world, alpha_client, person):
    """C1's last step: an operator could be attached by id and then watched and signed out by the
    tenant. Now nobody can be attached, so their sessions on the tenant's host stay invisible."""
    from tenants.models import UserSession

    operator = Client(HTTP_HOST="alpha.localhost")
    operator.force_login(world.staff)
    two_factor_pass(operator, world.staff)
    operator.get("/")
    row = UserSession.objects.filter(user=world.staff, tenant=world.alpha).first()
    admin = alpha_client(person(world.alpha, "admin"))
    for user_field in (world.staff.pk,):
        admin.post("/admin/tenants/membership/add/", {"user": user_field, "role": "viewer",
                                                      "email": "", "tenant": world.alpha.pk})
    assert not Membership.objects.filter(user=world.staff, tenant=world.alpha).exists()
    assert row is not None
    assert admin.post(f"/api/v1/sessions/{row.pk}/revoke/").status_code == 404

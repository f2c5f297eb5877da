"""Sign-in sessions: recorded on sign-in, ended on sign-out, revocable by their owner and by the
tenant's admins (and only theirs), enforced on the very next request."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import NotFound, PermissionDenied
from tenants.models import AuditLog, UserSession
from tests.conftest import PASSWORD, api_client, two_factor_pass

SYSTEM = Actor.system("tests")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0 " + "x" * 400
_counter = itertools.count()


@pytest.fixture
def member(world):
    """A fresh member (so no session left by other tests is counted): ``member(tenant, role)``."""
    from tenants.services import membership_set, user_create

    def make(tenant, role="viewer"):
        user = user_create(email=f"s{next(_counter)}-{role}@{tenant.slug}.test", password=PASSWORD, actor=SYSTEM)
        membership_set(user=user, tenant=tenant, role=role, actor=SYSTEM)
        return user

    return make


def sign_in(host: str, user, *, ip: str = "203.0.113.7", agent: str = BROWSER) -> Client:
    """Sign in through the real portal form, as a browser would."""
    client = Client(HTTP_HOST=host, REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def row_of(client: Client) -> UserSession:
    return UserSession.objects.get(key_hash=hashlib.sha256(session_key(client).encode()).hexdigest())


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


# --- recording ------------------------------------------------------------------------------------


def test_sign_in_records_a_session_with_hashed_key_address_and_agent(world, member):
    user = member(world.alpha)
    # when
    client = sign_in("alpha.localhost", user)
    # then
    row = row_of(client)
    key = session_key(client)
    assert row.user == user and row.tenant == world.alpha
    assert row.ip_address == "203.0.113.7" and row.last_ip == "203.0.113.7"
    assert row.user_agent == BROWSER[:255] and len(row.user_agent) == 255
    assert row.ended_at is None and row.status == "active"
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    # the raw key is nowhere in our tables
    stored = json.dumps(list(UserSession.objects.filter(user=user).values()), default=str)
    assert key not in stored
    assert key not in json.dumps(list(AuditLog.objects.values("changes", "resource_id")), default=str)


def test_sign_in_on_the_platform_host_has_no_tenant(world):
    client = Client(HTTP_HOST="localhost")
    response = client.post("/admin/login/?next=/admin/", {"username": world.staff.email, "password": PASSWORD})
    assert response.status_code == 302
    row = row_of(client)
    assert row.user == world.staff and row.tenant is None


def test_session_from_before_the_feature_is_adopted_on_its_next_request(world, member):
    # given a session that has no row (force_login does not go through the middleware)
    user = member(world.alpha)
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(user)
    assert not UserSession.objects.filter(user=user).exists()
    # when
    assert is_signed_in(client)
    # then
    assert row_of(client).user == user


def test_malformed_client_address_does_not_break_sign_in(world, member):
    client = sign_in("alpha.localhost", member(world.alpha), ip="not-an-ip")
    assert row_of(client).ip_address is None
    assert is_signed_in(client)


def test_sign_out_ends_the_row(world, member):
    client = sign_in("alpha.localhost", member(world.alpha))
    row = row_of(client)
    # when
    assert client.post("/accounts/logout/").status_code == 302
    # then
    row.refresh_from_db()
    assert row.ended_at is not None and row.end_reason == "logout" and row.revoked_by == ""
    assert row.status == "logout"


def test_sign_in_again_as_someone_else_ends_the_first_row(world):
    from tenants.services import user_create

    other = user_create(email=f"op{next(_counter)}@cdp.test", password=PASSWORD, is_superuser=True, actor=SYSTEM)
    client = Client(HTTP_HOST="localhost")
    client.post("/admin/login/?next=/admin/", {"username": world.staff.email, "password": PASSWORD})
    first_row = row_of(client)
    # when the same browser signs in as another operator (the admin's login form allows it)
    response = client.post("/admin/login/?next=/admin/", {"username": other.email, "password": PASSWORD})
    assert response.status_code == 302
    # then
    first_row.refresh_from_db()
    assert first_row.end_reason == "logout"
    assert row_of(client).user == other and row_of(client).pk != first_row.pk


def test_password_change_rotates_the_key_and_keeps_the_row(world, member):
    owner = member(world.alpha, "owner")
    client = sign_in("alpha.localhost", owner)
    row = row_of(client)
    old_hash = row.key_hash
    # when (the admin's password change rotates the session key: update_session_auth_hash)
    response = client.post("/admin/password_change/", {
        "old_password": PASSWORD, "new_password1": "Another-Horse-43", "new_password2": "Another-Horse-43"})
    assert response.status_code == 302, response.content[:500]
    # then the same row follows the new key, and the browser stays signed in
    row.refresh_from_db()
    assert row.key_hash != old_hash and row_of(client).pk == row.pk
    assert row.ended_at is None and is_signed_in(client)


# --- last seen ------------------------------------------------------------------------------------


def test_enforcement_is_one_indexed_query_and_last_seen_is_written_at_most_once_a_minute(world, member):
    client = sign_in("alpha.localhost", member(world.alpha))
    row = row_of(client)
    table = UserSession._meta.db_table

    def usersession_queries():
        with CaptureQueriesContext(connection) as queries:
            assert is_signed_in(client)
        return [q["sql"] for q in queries.captured_queries if table in q["sql"]]

    # given a visit 30 seconds ago: only the lookup, no write
    recent = timezone.now() - datetime.timedelta(seconds=30)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=recent)
    sql = usersession_queries()
    assert len(sql) == 1 and sql[0].lstrip().upper().startswith("SELECT") and "key_hash" in sql[0]
    row.refresh_from_db()
    assert row.last_seen_at == recent
    # given a visit two minutes ago, from elsewhere: one lookup and one write
    old = timezone.now() - datetime.timedelta(minutes=2)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=old)
    client.defaults["REMOTE_ADDR"] = "198.51.100.9"
    sql = usersession_queries()
    assert len(sql) == 2 and sql[1].lstrip().upper().startswith("UPDATE")
    row.refresh_from_db()
    assert row.last_seen_at > old + datetime.timedelta(minutes=1)
    assert row.ip_address == "203.0.113.7" and row.last_ip == "198.51.100.9"


def test_requests_without_a_session_cost_no_session_query(world):
    with CaptureQueriesContext(connection) as queries:
        Client(HTTP_HOST="alpha.localhost").get("/accounts/login/")
    assert not [q for q in queries.captured_queries if UserSession._meta.db_table in q["sql"]]


# --- revocation and enforcement --------------------------------------------------------------------


def test_tenant_admin_revokes_and_the_victim_is_signed_out_on_the_very_next_request(world, member):
    # given
    victim_user, admin_user = member(world.alpha, "viewer"), member(world.alpha, "admin")
    victim = sign_in("alpha.localhost", victim_user, ip="198.51.100.20")
    admin = sign_in("alpha.localhost", admin_user)
    assert is_signed_in(victim)
    row = row_of(victim)
    victim_key = session_key(victim)
    # when
    response = admin.post(f"/settings/sessions/{row.pk}/revoke/")
    # then
    assert response.status_code == 302 and response["Location"] == "/settings/sessions/members/"
    next_request = victim.get("/")
    assert next_request.status_code == 302 and "/accounts/login/" in next_request["Location"]
    assert victim.get("/api/v1/tenant/").status_code in (401, 403)
    assert not Session.objects.filter(session_key=victim_key).exists()
    row.refresh_from_db()
    assert row.end_reason == "revoked" and row.revoked_by == admin_user.email and row.ended_at
    entry = AuditLog.objects.get(action="user_session.revoke", resource_id=str(row.pk))
    assert entry.tenant == world.alpha and entry.actor == admin_user and entry.resource_type == "user_session"
    assert entry.changes["user"] == victim_user.email and entry.changes["ip_address"] == "198.51.100.20"
    assert is_signed_in(admin)


def test_a_revoked_row_is_refused_even_if_the_django_session_survived(world, member):
    """The row is what enforces: a cookie-backed or cached session engine would keep the session."""
    victim = sign_in("alpha.localhost", member(world.alpha))
    key = session_key(victim)
    # given a revoked row whose Django session was not deleted
    UserSession.objects.filter(pk=row_of(victim).pk).update(
        ended_at=timezone.now(), end_reason="revoked", revoked_by="tests")
    assert Session.objects.filter(session_key=key).exists()
    # when / then: not one more request gets through, page or API
    response = victim.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()


def test_api_request_of_a_revoked_session_is_refused(world, member):
    victim = sign_in("alpha.localhost", member(world.alpha, "owner"))
    assert victim.get("/api/v1/tenant/").status_code == 200
    UserSession.objects.filter(pk=row_of(victim).pk).update(
        ended_at=timezone.now(), end_reason="revoked", revoked_by="tests")
    response = victim.get("/api/v1/tenant/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_revoke_is_idempotent_and_audited_once(world, member):
    from tenants.services import user_session_revoke

    owner = member(world.alpha, "owner")
    row = row_of(sign_in("alpha.localhost", member(world.alpha)))
    actor = Actor(label=owner.email, user_id=owner.pk)
    first = user_session_revoke(session_id=row.pk, actor=actor, tenant=world.alpha)
    second = user_session_revoke(session_id=row.pk, actor=actor, tenant=world.alpha)
    assert first.ended_at == second.ended_at and second.end_reason == "revoked"
    assert AuditLog.objects.filter(action="user_session.revoke", resource_id=str(row.pk)).count() == 1


def test_revoking_a_signed_out_session_keeps_its_reason(world, member):
    from tenants.services import user_session_revoke

    client = sign_in("alpha.localhost", member(world.alpha))
    row = row_of(client)
    client.post("/accounts/logout/")
    session = user_session_revoke(session_id=row.pk, actor=SYSTEM, tenant=world.alpha)
    assert session.end_reason == "logout" and session.revoked_by == ""
    assert not AuditLog.objects.filter(action="user_session.revoke", resource_id=str(row.pk)).exists()


def test_revoke_needs_a_csrf_token(world, member):
    signed_in = sign_in("alpha.localhost", member(world.alpha, "admin"))
    admin = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    admin.cookies = signed_in.cookies
    row = row_of(sign_in("alpha.localhost", member(world.alpha)))
    assert admin.post(f"/settings/sessions/{row.pk}/revoke/").status_code == 403
    row.refresh_from_db()
    assert row.ended_at is None
    assert admin.get(f"/settings/sessions/{row.pk}/revoke/").status_code == 405


# --- a person's own sessions ----------------------------------------------------------------------


def test_member_lists_own_sessions_and_signs_out_the_others(world, member):
    user = member(world.alpha, "viewer")
    here = sign_in("alpha.localhost", user, agent="Here/1.0")
    laptop = sign_in("alpha.localhost", user, agent="Laptop/2.0")
    phone = sign_in("alpha.localhost", user, agent="Phone/3.0")
    page = here.get("/settings/sessions/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "Here/1.0" in body and "Laptop/2.0" in body and "Phone/3.0" in body and "(this session)" in body
    assert row_of(here).key_hash not in body
    # when
    response = here.post("/settings/sessions/revoke-others/")
    # then
    assert response.status_code == 302
    assert is_signed_in(here) and not is_signed_in(laptop) and not is_signed_in(phone)
    assert AuditLog.objects.filter(action="user_session.revoke", actor=user).count() == 2


def test_member_signs_out_one_own_session_and_the_current_one(world, member):
    user = member(world.alpha, "viewer")
    here, other = sign_in("alpha.localhost", user), sign_in("alpha.localhost", user)
    assert here.post(f"/settings/sessions/{row_of(other).pk}/revoke/").status_code == 302
    assert not is_signed_in(other) and is_signed_in(here)
    # signing out the current session signs out at once
    response = here.post(f"/settings/sessions/{row_of(here).pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_signed_in(here)


def test_own_sessions_page_is_in_the_nav_for_every_member(world, member):
    body = sign_in("alpha.localhost", member(world.alpha, "viewer")).get("/").content.decode()
    assert 'href="/settings/sessions/"' in body


# --- who may revoke what -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewers_and_analysts_cannot_see_or_revoke_others_sessions(world, member, role):
    weak = sign_in("alpha.localhost", member(world.alpha, role))
    row = row_of(sign_in("alpha.localhost", member(world.alpha)))
    assert weak.get("/settings/sessions/members/").status_code == 403
    assert weak.post(f"/settings/sessions/{row.pk}/revoke/").status_code == 403
    assert weak.post(f"/settings/sessions/{row.pk + 10_000_000}/revoke/").status_code == 403  # no id probing
    assert weak.post(f"/settings/sessions/members/{row.user_id}/revoke-all/").status_code == 403
    assert weak.get("/api/v1/sessions/").status_code == 403
    assert weak.post(f"/api/v1/sessions/{row.pk}/revoke/").status_code == 403
    assert weak.get("/admin/tenants/usersession/").status_code == 302
    row.refresh_from_db()
    assert row.ended_at is None


def test_tenant_admin_cannot_see_or_revoke_another_tenants_sessions_anywhere(world, member):
    # given a beta member signed in on beta, and an alpha owner
    beta_user = member(world.beta, "viewer")
    beta_row = row_of(sign_in("beta.localhost", beta_user, agent="BetaBrowser/1.0"))
    alpha_owner = member(world.alpha, "owner")
    alpha = sign_in("alpha.localhost", alpha_owner)
    # portal
    listing = alpha.get("/settings/sessions/members/?active=unknown").content.decode()
    assert beta_user.email not in listing and "BetaBrowser" not in listing
    assert alpha.post(f"/settings/sessions/{beta_row.pk}/revoke/").status_code == 404
    assert alpha.post(f"/settings/sessions/members/{beta_user.pk}/revoke-all/").status_code == 404
    # API (browser session and key)
    api = alpha.get("/api/v1/sessions/?page_size=500").json()
    assert beta_user.email not in json.dumps(api)
    assert alpha.get(f"/api/v1/sessions/{beta_row.pk}/").status_code == 404
    assert alpha.post(f"/api/v1/sessions/{beta_row.pk}/revoke/").status_code == 404
    response = alpha.post("/api/v1/sessions/revoke-user/", {"user": beta_user.pk}, content_type="application/json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    # tenant admin
    assert alpha.get(f"/admin/tenants/usersession/{beta_row.pk}/change/").status_code == 404
    assert beta_user.email not in alpha.get("/admin/tenants/usersession/").content.decode()
    alpha.post("/admin/tenants/usersession/", {"action": "revoke_sessions", "_selected_action": [beta_row.pk]})
    # the operators' admin is not theirs
    operators = Client(HTTP_HOST="localhost")
    operators.force_login(alpha_owner)
    response = operators.get(f"/admin/tenants/usersession/{beta_row.pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # then nothing happened to beta's session
    beta_row.refresh_from_db()
    assert beta_row.ended_at is None
    assert not AuditLog.objects.filter(action="user_session.revoke", resource_id=str(beta_row.pk)).exists()


def test_a_members_sessions_on_another_tenant_are_not_this_tenants_business(world, member):
    # given someone who belongs to both tenants, signed in on each
    from tenants.services import membership_set, user_sessions_revoke_for_user

    both = member(world.alpha, "viewer")
    membership_set(user=both, tenant=world.beta, role="viewer", actor=SYSTEM)
    on_alpha = row_of(sign_in("alpha.localhost", both))
    on_beta = row_of(sign_in("beta.localhost", both))
    alpha_owner = member(world.alpha, "owner")
    # when alpha's owner revokes all of that person's sessions
    count = user_sessions_revoke_for_user(user_id=both.pk, actor=Actor(label=alpha_owner.email, user_id=alpha_owner.pk),
                                          tenant=world.alpha)
    # then only the one on alpha's host ended
    on_alpha.refresh_from_db()
    on_beta.refresh_from_db()
    assert count == 1 and on_alpha.end_reason == "revoked" and on_beta.ended_at is None


def test_platform_operators_sessions_are_hidden_from_tenant_admins(world, member):
    # given a superuser who entered alpha's host (as the admin jump does)
    operator = Client(HTTP_HOST="alpha.localhost")
    operator.force_login(world.staff)
    two_factor_pass(operator, world.staff)
    operator.get("/")
    operator_row = row_of(operator)
    assert operator_row.tenant == world.alpha
    admin = sign_in("alpha.localhost", member(world.alpha, "admin"))
    # then
    assert world.staff.email not in admin.get("/settings/sessions/members/").content.decode()
    assert admin.post(f"/settings/sessions/{operator_row.pk}/revoke/").status_code == 404
    assert admin.get(f"/api/v1/sessions/{operator_row.pk}/").status_code == 404
    operator_row.refresh_from_db()
    assert operator_row.ended_at is None


def test_service_refuses_actors_without_power(world, member):
    from tenants.services import user_session_revoke, user_sessions_revoke_for_user

    row = row_of(sign_in("alpha.localhost", member(world.alpha)))
    viewer = member(world.alpha, "viewer")
    admin = member(world.alpha, "admin")
    as_viewer = Actor(label=viewer.email, user_id=viewer.pk)
    as_admin = Actor(label=admin.email, user_id=admin.pk)
    with pytest.raises(PermissionDenied):
        user_session_revoke(session_id=row.pk, actor=as_viewer, tenant=world.alpha)
    with pytest.raises(PermissionDenied):  # a tenant admin has no platform-wide reach
        user_session_revoke(session_id=row.pk, actor=as_admin, tenant=None)
    with pytest.raises(PermissionDenied):  # an unauthenticated request's actor is not "the system"
        user_session_revoke(session_id=row.pk, actor=Actor(label="anonymous"), tenant=world.alpha)
    with pytest.raises(PermissionDenied):
        user_sessions_revoke_for_user(user_id=row.user_id, actor=as_viewer, tenant=world.alpha)
    with pytest.raises(PermissionDenied):  # alpha's admin is nobody on beta
        user_session_revoke(session_id=row.pk, actor=as_admin, tenant=world.beta)
    beta_row = row_of(sign_in("beta.localhost", member(world.beta)))
    with pytest.raises(NotFound):  # and beta's sessions do not exist for alpha's admin
        user_session_revoke(session_id=beta_row.pk, actor=as_admin, tenant=world.alpha)
    with pytest.raises(NotFound):
        user_session_revoke(session_id=2**62, actor=as_admin, tenant=world.alpha)
    row.refresh_from_db()
    assert row.ended_at is None


def test_a_new_key_cannot_launder_a_session_revoked_mid_request(world, member):
    """A request that rotates the key while its session is revoked must not start a fresh one."""
    from tenants.services import SessionEnded, user_session_revoke, user_session_start

    user = member(world.alpha)
    row = row_of(sign_in("alpha.localhost", user))
    user_session_revoke(session_id=row.pk, actor=SYSTEM)
    with pytest.raises(SessionEnded):
        user_session_start(user=user, session_key="k" * 32, tenant=world.alpha, ip=None, previous_session_id=row.pk)
    assert not UserSession.objects.filter(key_hash=hashlib.sha256(b"k" * 32).hexdigest()).exists()


# --- API --------------------------------------------------------------------------------------------


def test_api_lists_filters_and_revokes_with_a_security_key(world, member, api_key):
    user = member(world.alpha, "viewer")
    victim = sign_in("alpha.localhost", user, ip="192.0.2.44")
    ended = sign_in("alpha.localhost", user)
    ended.post("/accounts/logout/")
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "security"]))
    # list, filtered
    body = client.get(f"/api/v1/sessions/?user={user.pk}&active=true").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["email"] == user.email and item["status"] == "active" and item["ip_address"] == "192.0.2.44"
    assert item["current"] is False
    assert "key_hash" not in item and row_of(victim).key_hash not in json.dumps(body)
    assert client.get(f"/api/v1/sessions/?user={user.pk}&active=false").json()["count"] == 1
    assert client.get("/api/v1/sessions/?ip=192.0.2.4").json()["count"] >= 1
    # revoke, twice
    first = client.post(f"/api/v1/sessions/{item['id']}/revoke/")
    assert first.status_code == 200 and first.json()["status"] == "revoked"
    assert first.json()["revoked_by"].startswith("api-key:")
    second = client.post(f"/api/v1/sessions/{item['id']}/revoke/")
    assert second.status_code == 200 and second.json()["ended_at"] == first.json()["ended_at"]
    assert not is_signed_in(victim)
    assert AuditLog.objects.filter(action="user_session.revoke", resource_id=str(item["id"])).count() == 1


def test_api_revokes_all_sessions_of_a_member(world, member, api_key):
    user = member(world.alpha)
    browsers = [sign_in("alpha.localhost", user) for _ in range(3)]
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["security"]))
    response = client.post("/api/v1/sessions/revoke-user/", {"user": user.pk}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"revoked": 3}
    assert not any(is_signed_in(b) for b in browsers)
    again = client.post("/api/v1/sessions/revoke-user/", {"user": user.pk}, content_type="application/json")
    assert again.json() == {"revoked": 0}


def test_api_needs_the_security_scope(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "keys"]))
    response = client.get("/api/v1/sessions/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert client.post("/api/v1/sessions/1/revoke/").status_code == 403


def test_api_session_caller_sees_its_own_session_marked_current(world, member):
    owner = member(world.alpha, "owner")
    client = sign_in("alpha.localhost", owner)
    results = client.get(f"/api/v1/sessions/?user={owner.pk}").json()["results"]
    assert [r["current"] for r in results] == [True]


@pytest.mark.parametrize("query", ["user=abc", "user=0", "user=99999999999999999999", "active=maybe",
                                   "ip=" + "9" * 100, "ordering=key_hash", "page=999"])
def test_api_bad_input_is_a_4xx_in_the_common_shape(world, api_key, query):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["security"]))
    response = client.get(f"/api/v1/sessions/?{query}")
    assert response.status_code in (200, 400, 404), response.content[:300]
    if response.status_code != 200:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_api_error_paths(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["security"]))
    assert client.post("/api/v1/sessions/999999999/revoke/").status_code == 404
    assert client.post("/api/v1/sessions/abc/revoke/").status_code == 404
    assert client.post(f"/api/v1/sessions/{2**70}/revoke/").status_code == 404
    bad = client.post("/api/v1/sessions/revoke-user/", {"user": "x"}, content_type="application/json")
    assert bad.status_code == 400 and "user" in bad.json()["error"]["fields"]
    assert client.post("/api/v1/sessions/revoke-user/", {"user": 2**62}, content_type="application/json"
                       ).status_code == 404
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["security", "write"]))
    assert writer.delete("/api/v1/sessions/1/").status_code == 405
    beta_key = api_client("alpha.localhost", api_key(world.beta, scopes=["security"]))
    assert beta_key.get("/api/v1/sessions/").status_code == 401


def test_portal_error_paths(world, member):
    admin = sign_in("alpha.localhost", member(world.alpha, "admin"))
    assert admin.post("/settings/sessions/999999999/revoke/").status_code == 404
    assert admin.post(f"/settings/sessions/{2**70}/revoke/").status_code == 404
    assert admin.post(f"/settings/sessions/members/{2**70}/revoke-all/").status_code == 404
    assert admin.get("/settings/sessions/revoke-others/").status_code == 405
    # an invalid filter: the form's errors and no rows (400), not the unfiltered list (issue #14)
    invalid = admin.get("/settings/sessions/members/?user=abc&ip=" + "9" * 100)
    assert invalid.status_code == 400 and list(invalid.context["page"]) == []
    assert set(invalid.context["filter"].errors) == {"user", "ip"}
    anonymous = Client(HTTP_HOST="alpha.localhost")
    response = anonymous.post("/settings/sessions/1/revoke/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert anonymous.get("/settings/sessions/").status_code == 302


def test_openapi_documents_the_sessions_endpoints(world):
    schema = json.loads(Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").content)
    paths = schema["paths"]
    assert "get" in paths["/api/v1/sessions/"]
    assert "post" in paths["/api/v1/sessions/{id}/revoke/"]
    assert "post" in paths["/api/v1/sessions/revoke-user/"]
    params = {p["name"] for p in paths["/api/v1/sessions/"]["get"]["parameters"]}
    assert {"active", "user", "email", "ip", "page"} <= params
    assert "key_hash" not in json.dumps(schema["components"]["schemas"]["UserSessionOutput"])


# --- admin --------------------------------------------------------------------------------------------


def test_operators_admin_lists_searches_filters_and_revokes(world, member):
    user = member(world.beta)
    victim = sign_in("beta.localhost", user, ip="192.0.2.99")
    row = row_of(victim)
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(world.staff)
    two_factor_pass(staff, world.staff)
    by_email = staff.get(f"/admin/tenants/usersession/?q={user.email}").content.decode()
    assert user.email in by_email and "192.0.2.99" in by_email
    assert user.email in staff.get("/admin/tenants/usersession/?q=192.0.2.99").content.decode()
    assert user.email in staff.get(f"/admin/tenants/usersession/?status=active&tenant__id__exact={world.beta.pk}"
                                   ).content.decode()
    assert user.email not in staff.get("/admin/tenants/usersession/?status=revoked").content.decode()
    detail = staff.get(f"/admin/tenants/usersession/{row.pk}/change/").content.decode()
    assert row.key_hash not in detail and user.email in detail
    # when
    response = staff.post("/admin/tenants/usersession/", {"action": "revoke_sessions", "_selected_action": [row.pk]})
    # then
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.end_reason == "revoked" and row.revoked_by == world.staff.email
    assert not is_signed_in(victim)
    entry = AuditLog.objects.get(action="user_session.revoke", resource_id=str(row.pk))
    assert entry.tenant == world.beta and entry.actor == world.staff


def test_tenant_admin_lists_and_revokes_own_members_sessions(world, member):
    user = member(world.alpha)
    victim = sign_in("alpha.localhost", user)
    row = row_of(victim)
    owner = sign_in("alpha.localhost", member(world.alpha, "owner"))
    listing = owner.get("/admin/tenants/usersession/").content.decode()
    assert user.email in listing and row.key_hash not in listing
    assert owner.get(f"/admin/tenants/usersession/{row.pk}/change/").status_code == 200
    owner.post("/admin/tenants/usersession/", {"action": "revoke_sessions", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.end_reason == "revoked"
    assert not is_signed_in(victim)


def test_member_sessions_page_is_paginated_and_filterable(world, member):
    user = member(world.alpha)
    now = timezone.now()
    UserSession.objects.bulk_create([
        UserSession(user=user, tenant=world.alpha, key_hash=hashlib.sha256(f"bulk-{i}".encode()).hexdigest(),
                    ip_address="192.0.2.1", created_at=now, last_seen_at=now)
        for i in range(30)
    ])
    admin = sign_in("alpha.localhost", member(world.alpha, "admin"))
    first = admin.get(f"/settings/sessions/members/?email={user.email}")
    assert first.status_code == 200 and "Page 1 of 2" in first.content.decode()
    second = admin.get(f"/settings/sessions/members/?email={user.email}&page=2").content.decode()
    assert "Page 2 of 2" in second
    none = admin.get(f"/settings/sessions/members/?email={user.email}&active=false").content.decode()
    assert "No sessions match." in none


# --- housekeeping ------------------------------------------------------------------------------------


def test_cleanup_expires_sessions_whose_django_session_is_gone_and_prunes_old_rows(world, member):
    from tenants.tasks import user_sessions_cleanup_task

    user = member(world.alpha)
    live = sign_in("alpha.localhost", user)
    gone = sign_in("alpha.localhost", user)
    idle = sign_in("alpha.localhost", user)
    live_row, gone_row, idle_row = row_of(live), row_of(gone), row_of(idle)
    long_ago = timezone.now() - datetime.timedelta(days=200)
    UserSession.objects.filter(pk__in=[live_row.pk, gone_row.pk, idle_row.pk]).update(
        created_at=timezone.now() - datetime.timedelta(hours=1))
    Session.objects.filter(session_key=session_key(gone)).delete()  # e.g. password changed elsewhere
    UserSession.objects.filter(pk=idle_row.pk).update(
        last_seen_at=timezone.now() - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60))
    old = UserSession.objects.create(user=user, tenant=world.alpha, key_hash="0" * 64, created_at=long_ago,
                                     last_seen_at=long_ago, ended_at=long_ago, end_reason="logout")
    # when
    result = user_sessions_cleanup_task.delay().get()
    # then
    assert result["expired"] >= 2 and result["pruned"] >= 1
    for row in (live_row, gone_row, idle_row):
        row.refresh_from_db()
    assert live_row.ended_at is None
    assert gone_row.end_reason == "expired" and idle_row.end_reason == "expired"
    assert not UserSession.objects.filter(pk=old.pk).exists()
    assert is_signed_in(live)


def test_deleting_a_user_deletes_their_session_rows(world, member):
    user = member(world.alpha)
    sign_in("alpha.localhost", user)
    user.delete()
    assert not UserSession.objects.filter(user_id=user.pk).exists()

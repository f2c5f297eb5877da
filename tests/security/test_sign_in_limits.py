"""C9: every password form is limited per account (and host) and per address (django-axes);
password resets are throttled and go only to people who belong to the host; sign-in ignores the
e-mail's letter case."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD
from tests.security.conftest import sign_in, signed_in

LIMIT = getattr(settings, "AXES_FAILURE_LIMIT", 5)  # getattr: the suite also runs against the code before the fix


def fail(host, username, times, *, path="/accounts/login/", ip="127.0.0.1"):
    for _ in range(times):
        sign_in(host, username, "wrong-password", path=path, ip=ip)


# --- lockout per account ---------------------------------------------------------------------------


def test_portal_locks_an_account_after_repeated_failures(world, person):
    user = person(world.alpha)
    # below the limit the right password still works
    fail("alpha.localhost", user.email, LIMIT - 1)
    client, response = sign_in("alpha.localhost", user.email)
    assert response.status_code == 302 and signed_in(client)
    # a success does not reset the counter; one more failure locks, the right password included
    fail("alpha.localhost", user.email, 1)
    client, response = sign_in("alpha.localhost", user.email)
    assert response.status_code == 429 and not signed_in(client)
    # letter case does not give a fresh counter
    client, response = sign_in("alpha.localhost", user.email.upper())
    assert response.status_code == 429 and not signed_in(client)


def test_operators_admin_locks_too(world):
    client, response = sign_in("localhost", world.staff.email, path="/admin/login/")
    assert response.status_code == 302 and signed_in(client)
    fail("localhost", world.staff.email, LIMIT, path="/admin/login/")
    client, response = sign_in("localhost", world.staff.email, path="/admin/login/")
    assert response.status_code == 429 and not signed_in(client)


def test_tenant_admin_sign_in_is_for_owners_and_admins_and_is_limited(world, person):
    owner = person(world.alpha, "owner")
    client, response = sign_in("alpha.localhost", owner.email, path="/admin/login/")
    assert response.status_code == 302 and signed_in(client)
    viewer = person(world.alpha, "viewer")
    client, response = sign_in("alpha.localhost", viewer.email, path="/admin/login/")
    assert response.status_code == 200 and not signed_in(client)
    fail("alpha.localhost", owner.email, LIMIT, path="/admin/login/")
    client, response = sign_in("alpha.localhost", owner.email, path="/admin/login/")
    assert response.status_code == 429 and not signed_in(client)


def test_a_right_password_where_the_person_is_not_a_member_counts_as_a_failure(world, person):
    """Otherwise the counters themselves would reveal a right guess made on another host."""
    from axes.models import AccessAttempt

    user = person(world.alpha)
    _, response = sign_in("beta.localhost", user.email)
    assert response.status_code == 200
    assert AccessAttempt.objects.filter(username=f"beta|{user.email}").exists()
    _, response = sign_in("localhost", user.email, path="/admin/login/")
    assert AccessAttempt.objects.filter(username=f"public|{user.email}").exists()


def test_the_account_counter_is_per_host(world, person):
    """Failures on tenant B's host lock the account there, not on tenant A's host."""
    user = person(world.alpha)
    person_on_beta = world.user("beta_viewer")
    fail("beta.localhost", user.email, LIMIT, ip="10.9.9.9")
    fail("beta.localhost", person_on_beta.email, LIMIT, ip="10.9.9.9")
    _, response = sign_in("beta.localhost", person_on_beta.email, ip="10.9.9.7")
    assert response.status_code == 429
    client, response = sign_in("alpha.localhost", user.email, ip="10.9.9.8")
    assert response.status_code == 302 and signed_in(client)


# --- lockout per address -------------------------------------------------------------------------------


def test_one_address_guessing_many_accounts_is_locked(world, person):
    ip = "10.1.2.3"
    for n in range(settings.AXES_IP_FAILURE_LIMIT):
        sign_in("alpha.localhost", f"nobody{n}@example.com", "x", ip=ip)
    user = person(world.alpha)
    client, response = sign_in("alpha.localhost", user.email, ip=ip)
    assert response.status_code == 429 and not signed_in(client)
    # the address counter is global: another host from that address is locked as well
    client, response = sign_in("beta.localhost", world.user("beta_viewer").email, ip=ip)
    assert response.status_code == 429
    # another address is not affected
    client, response = sign_in("alpha.localhost", user.email, ip="10.1.2.4")
    assert response.status_code == 302 and signed_in(client)


def test_invitation_password_form_is_limited(world, django_capture_on_commit_callbacks):
    from tenants.services import invitation_create
    from tests.security.conftest import SYSTEM

    target = world.user("beta_owner")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(tenant=world.alpha, email=target.email, role="viewer", actor=SYSTEM, scheme="http")
    path = re.search(r"/invitations/\S+/", mail.outbox[-1].body).group(0)
    client = Client(HTTP_HOST="alpha.localhost")
    for _ in range(LIMIT - 1):
        assert client.post(path, {"password": "guess"}).status_code == 400
    assert client.post(path, {"password": "guess"}).status_code == 429  # the failure that reaches the limit
    assert client.post(path, {"password": PASSWORD}).status_code == 429
    from tenants.models import Membership

    assert not Membership.objects.filter(user=target, tenant=world.alpha).exists()


def test_counters_live_in_the_public_schema(world, person):
    user = person(world.alpha)
    fail("alpha.localhost", user.email, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_schema FROM information_schema.tables WHERE table_name = 'axes_accessattempt'")
        schemas = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM public.axes_accessattempt WHERE username = %s",
                       [f"alpha|{user.email}"])
        count = cursor.fetchone()[0]
    assert schemas == {"public"} and count == 1


# --- e-mail letter case ------------------------------------------------------------------------------


def test_sign_in_ignores_letter_case(world, person):
    user = person(world.alpha)
    client, response = sign_in("alpha.localhost", user.email.upper())
    assert response.status_code == 302 and signed_in(client)


def test_emails_are_unique_whatever_their_case(world, public_client):
    from django.db import IntegrityError, transaction

    from tenants.models import User

    inline = {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    response = public_client(world.staff).post("/admin/tenants/user/add/", {
        "email": "Mixed.Case@Example.COM", "full_name": "", "password1": "Long-Enough-77",
        "password2": "Long-Enough-77", "usable_password": "true", **inline})
    assert response.status_code == 302
    assert User.objects.filter(email="mixed.case@example.com").exists()
    again = public_client(world.staff).post("/admin/tenants/user/add/", {
        "email": "MIXED.case@example.com", "full_name": "", "password1": "Long-Enough-77",
        "password2": "Long-Enough-77", "usable_password": "true", **inline})
    assert again.status_code == 200 and User.objects.filter(email__iexact="mixed.case@example.com").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="MIXED.CASE@example.com")


# --- password reset ---------------------------------------------------------------------------------


def reset(host, email, ip="127.0.0.1"):
    return Client(HTTP_HOST=host, REMOTE_ADDR=ip).post("/accounts/password-reset/", {"email": email},
                                                       REMOTE_ADDR=ip)


def test_reset_mails_only_members_of_the_host_with_a_link_to_it(world):
    # a platform superuser asked for on a tenant's host: nothing (operators reset on the platform)
    assert reset("alpha.localhost", world.staff.email).status_code == 302 and mail.outbox == []
    # someone of another tenant, or of none: nothing
    assert reset("alpha.localhost", world.user("beta_owner").email).status_code == 302 and mail.outbox == []
    assert reset("alpha.localhost", world.user("outsider").email).status_code == 302 and mail.outbox == []
    # a member (letter case ignored): a link to this tenant's host
    assert reset("alpha.localhost", "Viewer@Alpha.test").status_code == 302 and len(mail.outbox) == 1
    assert "http://alpha.localhost/accounts/reset/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["viewer@alpha.test"]


def test_resets_are_throttled_per_email_without_telling(world):
    for _ in range(settings.CDP_PASSWORD_RESET_PER_EMAIL):
        assert reset("alpha.localhost", "viewer@alpha.test", ip="10.3.0.1").status_code == 302
    sent = len(mail.outbox)
    response = reset("alpha.localhost", "viewer@alpha.test", ip="10.3.0.2")
    assert response.status_code == 302 and len(mail.outbox) == sent == settings.CDP_PASSWORD_RESET_PER_EMAIL


def test_resets_are_throttled_per_address(world):
    for n in range(settings.CDP_PASSWORD_RESET_PER_IP):
        assert reset("alpha.localhost", f"someone{n}@example.com", ip="10.4.0.1").status_code == 302
    assert reset("beta.localhost", "viewer@beta.test", ip="10.4.0.1").status_code == 429
    assert mail.outbox == []
    assert reset("beta.localhost", "viewer@beta.test", ip="10.4.0.2").status_code == 302
    assert len(mail.outbox) == 1

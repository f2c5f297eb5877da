"""The member page (issue #15 item 8): ``/member/`` on the tenant's host, signed in with a one-time
link (no password, no staff account), showing points, tier and progress, vouchers, referral code
and history, in the tenant's language; a link or session of one tenant never opens another's."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.translation import trans_real
from django_tenants.utils import tenant_context

from cdp.catalogs import compile_catalogs
from cdp.context import Actor
from loyalty import services
from loyalty.models import MemberLink
from loyalty.services.member import member_link_issue
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory

ACTOR = Actor.system("tests")


@pytest.fixture
def member(world):
    """An alpha customer with 1,200 points (silver needs more), a voucher and a ledger."""
    with tenant_context(world.alpha):
        customer = CustomerFactory(email="ana@example.com")
        services.loyalty_points_bonus(customer_id=customer.pk, points=1200, reason="welcome", actor=ACTOR)
        reward = services.reward_create(actor=ACTOR, values={"name": "Coffee", "points_cost": 200,
                                                             "kind": "fixed_amount", "value": Decimal("5")})
        redemption, _ = services.reward_redeem(reward_id=reward.pk, customer_id=customer.pk, actor=ACTOR)
        return {"customer": customer, "voucher": redemption.voucher}


def _link(world, customer, tenant=None) -> str:
    tenant = tenant or world.alpha
    with tenant_context(tenant):
        _, url = member_link_issue(customer_id=customer.pk, actor=ACTOR, tenant=tenant)
    return urlsplit(url).path


def _signed_in(path: str, host: str = "alpha.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/member/"
    return client


def test_a_member_signs_in_with_a_link_and_sees_their_rewards(world, member):
    path = _link(world, member["customer"])
    client = Client(HTTP_HOST="alpha.localhost")
    # opening the link does not spend it (mail scanners open links): a page with one button
    confirm = client.get(path)
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    # when the member presses it
    client = _signed_in(path)
    page = client.get("/member/")
    html = page.content.decode()
    # then the page shows their balance, tier and progress, voucher, referral code and history
    assert page.status_code == 200
    assert re.search(r'id="points-balance">1[,.]?000<', html)
    assert "Your tier: Bronze" in html and 'id="tier-progress"' in html
    assert member["voucher"].code in html
    with tenant_context(world.alpha):
        code = member["customer"].referral_code.code
    assert code in html
    assert "Bonus" in html and "Redeem" in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    # and nobody is signed in to the portal
    assert "_auth_user_id" not in client.session


def test_a_link_works_once(world, member):
    path = _link(world, member["customer"])
    _signed_in(path)
    assert Client(HTTP_HOST="alpha.localhost").post(path).status_code == 410
    assert Client(HTTP_HOST="alpha.localhost").get(path).status_code == 410


def test_an_expired_or_made_up_link_is_refused(world, member):
    path = _link(world, member["customer"])
    with tenant_context(world.alpha):
        MemberLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert Client(HTTP_HOST="alpha.localhost").post(path).status_code == 410
    assert Client(HTTP_HOST="alpha.localhost").post("/member/sign-in/not-a-real-token-at-all-xx/").status_code == 410
    assert Client(HTTP_HOST="alpha.localhost").post("/member/sign-in/x/").status_code == 410


def test_an_expired_member_session_shows_the_sign_in_form(world, member, settings):
    settings.LOYALTY_MEMBER_SESSION_HOURS = -1
    client = _signed_in(_link(world, member["customer"]))
    html = client.get("/member/").content.decode()
    assert member["voucher"].code not in html and 'name="email"' in html


def test_another_tenant_s_host_never_opens_the_member_s_page(world, member):
    path = _link(world, member["customer"])
    # alpha's link on beta's host is unknown there (and is not spent by the attempt)
    assert Client(HTTP_HOST="beta.localhost").post(path).status_code == 410
    client = _signed_in(path)
    # alpha's member session on beta's host: nobody is signed in there
    beta_page = client.get("/member/", HTTP_HOST="beta.localhost").content.decode()
    assert member["voucher"].code not in beta_page and 'name="email"' in beta_page
    # while on alpha the member is still in
    assert member["voucher"].code in client.get("/member/").content.decode()


def test_a_customer_merged_away_or_erased_is_signed_out(world, member):
    client = _signed_in(_link(world, member["customer"]))
    with tenant_context(world.alpha):
        member["customer"].__class__.objects.filter(pk=member["customer"].pk).update(is_pseudonymized=True)
    assert member["voucher"].code not in client.get("/member/").content.decode()


def test_signing_out_ends_the_member_session(world, member):
    client = _signed_in(_link(world, member["customer"]))
    assert client.post("/member/sign-out/").status_code == 302
    assert member["voucher"].code not in client.get("/member/").content.decode()


def test_a_member_asks_for_a_link_by_e_mail_without_revealing_who_is_a_member(
        world, member, django_capture_on_commit_callbacks):
    client = Client(HTTP_HOST="alpha.localhost")
    # the e-mail is a task sent after the request's transaction commits, never inside the request
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/member/", {"email": "Ana@Example.com"})
        unknown = client.post("/member/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "sign-in link is on its way" in known.content.decode()
    assert "sign-in link is on its way" in unknown.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@example.com"]
    # the e-mailed link signs them in
    url = re.search(r"https?://\S+/member/sign-in/\S+/", mail.outbox[0].body).group(0)
    assert urlsplit(url).hostname == "alpha.localhost"
    assert member["voucher"].code in _signed_in(urlsplit(url).path).get("/member/").content.decode()
    # a malformed address is a form error, and sends nothing
    assert client.post("/member/", {"email": "not-an-address"}).status_code == 400
    assert len(mail.outbox) == 1


def test_the_member_page_speaks_the_tenant_s_language(world, member):
    if compile_catalogs():  # as tests/i18n does: a fresh checkout has no .mo yet
        trans_real._translations = {}
        trans_real._default = None
    path = _link(world, member["customer"])
    client = _signed_in(path)
    for language, text in (("es", "Saldo de puntos"), ("pt-br", "Saldo de pontos")):
        world.alpha.settings = {**world.alpha.settings, "language": language}
        world.alpha.save(update_fields=["settings"])
        html = client.get("/member/").content.decode()
        assert text in html, language


# --- staff issue links through the API ---------------------------------------------------------------

def test_staff_with_the_loyalty_capability_issue_a_member_link(world, member, alpha_client, api_key):
    path = f"/api/v1/customers/{member['customer'].pk}/loyalty/member-link/"
    response = alpha_client(world.user("alpha_admin")).post(path)
    assert response.status_code == 201
    url = response.json()["url"]
    assert urlsplit(url).hostname == "alpha.localhost" and "/member/sign-in/" in url
    assert member["voucher"].code in _signed_in(urlsplit(url).path).get("/member/").content.decode()
    # lower roles and plain keys do not
    assert alpha_client(world.user("alpha_analyst")).post(path).status_code == 403
    assert alpha_client(world.user("alpha_viewer")).post(path).status_code == 403
    assert api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"])).post(path).status_code == 403
    # another tenant's customer id is not found on beta's host
    assert alpha_client(world.user("alpha_admin")).post(
        f"/api/v1/customers/{member['customer'].pk + 10_000_000}/loyalty/member-link/").status_code == 404


def test_the_token_is_stored_hashed(world, member):
    path = _link(world, member["customer"])
    token = path.rstrip("/").rsplit("/", 1)[1]
    with tenant_context(world.alpha):
        stored = MemberLink.objects.get()
    assert token not in json.dumps({"hash": stored.token_hash}) and len(stored.token_hash) == 64

"""The coalition (issue #15, seed 002): partners, partner-bound API keys, the rewards catalog,
vouchers from redemptions (atomic, idempotent, never double-spent under concurrent requests), the
point-of-sale check and use, and what merges, exports and the admin do with them."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer
from customers.services.merge import customer_merge, merge_undo
from loyalty import services
from loyalty.models import (
    LoyaltyAccount,
    LoyaltyTransaction,
    Partner,
    PartnerApiKey,
    Reward,
    RewardRedemption,
    Voucher,
)
from tenants.models import ApiKey
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory

ACTOR = Actor.system("tests")


def post(client, path, data, **headers):
    return client.post(path, json.dumps(data), content_type="application/json", headers=headers)


def patch(client, path, data):
    return client.patch(path, json.dumps(data), content_type="application/json")


def _partner(slug, **values) -> Partner:
    return services.partner_create(actor=ACTOR, values={"name": slug.title(), "slug": slug, **values})


def _reward(partner=None, points=50, **values) -> Reward:
    return services.reward_create(actor=ACTOR, values={
        "name": f"{points} points voucher", "points_cost": points, "kind": "fixed_amount", "value": Decimal("10"),
        "partner_id": partner.pk if partner else None, **values})


def _member(points=100) -> Customer:
    customer = CustomerFactory()
    services.loyalty_points_bonus(customer_id=customer.pk, points=points, reason="welcome", actor=ACTOR)
    return customer


@pytest.fixture
def coalition(world):
    """Partners A and B of alpha, a reward at each, a member with 100 points."""
    with tenant_context(world.alpha):
        a, b = _partner("cafe-a"), _partner("books-b", category="books")
        return {"a": a, "b": b, "reward_a": _reward(a), "reward_b": _reward(b), "member": _member()}


def _bound_key(world, partner, scopes=("read", "write")) -> str:
    issued = api_key_create(tenant=world.alpha, name=f"{partner.slug} till", scopes=list(scopes), actor=ACTOR)
    with tenant_context(world.alpha):
        services.partner_key_bind(partner_id=partner.pk, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    return issued.key


# --- partners -------------------------------------------------------------------------------------

def test_partners_are_created_by_the_program_s_managers_only(world, alpha_client, api_key):
    body = {"name": "Café A", "slug": "cafe-a", "category": "food", "funding_share": "60", "earn_multiplier": "1.5"}
    for user in ("alpha_viewer", "alpha_analyst"):
        assert post(alpha_client(world.user(user)), "/api/v1/loyalty/partners/", body).status_code == 403
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, "/api/v1/loyalty/partners/", body).status_code == 403

    admin = alpha_client(world.user("alpha_admin"))
    created = post(admin, "/api/v1/loyalty/partners/", body)
    assert created.status_code == 201 and created.json()["funding_share"] == "60.00"
    again = post(admin, "/api/v1/loyalty/partners/", body)
    assert again.status_code == 400 and again.json()["error"]["code"] == "partner_slug_taken"
    bad = post(admin, "/api/v1/loyalty/partners/", {**body, "slug": "x", "funding_share": "120"})
    assert bad.status_code == 400 and "funding_share" in bad.json()["error"]["fields"]
    renamed = patch(admin, f"/api/v1/loyalty/partners/{created.json()['id']}/", {"status": "paused"})
    assert renamed.status_code == 200 and renamed.json()["status"] == "paused"
    assert patch(alpha_client(world.user("alpha_analyst")), f"/api/v1/loyalty/partners/{created.json()['id']}/",
                 {"status": "active"}).status_code == 403
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert [p["slug"] for p in reader.get("/api/v1/loyalty/partners/").json()["results"]] == ["cafe-a"]


# --- rewards into vouchers ------------------------------------------------------------------------

def test_redeeming_a_reward_spends_points_and_gives_a_usable_voucher(world, coalition, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    member, reward = coalition["member"], coalition["reward_a"]

    answer = post(client, f"/api/v1/loyalty/rewards/{reward.pk}/redeem/", {"customer_id": member.pk})

    assert answer.status_code == 201, answer.content
    voucher = answer.json()["voucher"]
    assert len(voucher["code"]) == 12 and voucher["status"] == "issued" and voucher["partner"] == "cafe-a"
    with tenant_context(world.alpha):
        account = LoyaltyAccount.objects.get(customer=member)
        assert account.points_balance == 50 and account.points_redeemed == 50
        entry = LoyaltyTransaction.objects.get(pk=answer.json()["ledger_entry"])
        assert entry.type == "redeem" and entry.points == -50
    check = post(client, "/api/v1/loyalty/vouchers/check/", {"code": voucher["code"].lower(), "amount": "25",
                                                            "partner": "cafe-a"})
    assert check.json()["valid"] is True and check.json()["discount"] == "10.00"


def test_a_redemption_without_enough_points_writes_nothing(world, coalition, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    with tenant_context(world.alpha):
        expensive = _reward(coalition["a"], points=500)
    answer = post(client, f"/api/v1/loyalty/rewards/{expensive.pk}/redeem/", {"customer_id": coalition["member"].pk})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "insufficient_points"
    with tenant_context(world.alpha):
        assert not Voucher.objects.filter(customer=coalition["member"]).exists()
        assert LoyaltyAccount.objects.get(customer=coalition["member"]).points_balance == 100


def test_redeeming_takes_write_and_refuses_what_is_unavailable(world, coalition, api_key):
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    url = f"/api/v1/loyalty/rewards/{coalition['reward_a'].pk}/redeem/"
    assert post(reader, url, {"customer_id": coalition["member"].pk}).status_code == 403
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, url, {"customer_id": 999999999}).status_code == 404
    assert post(writer, url, {"customer_id": "x"}).status_code == 400
    with tenant_context(world.alpha):
        services.reward_update(reward_id=coalition["reward_a"].pk, actor=ACTOR, values={"per_customer_limit": 1})
    assert post(writer, url, {"customer_id": coalition["member"].pk}).status_code == 201
    limited = post(writer, url, {"customer_id": coalition["member"].pk})
    assert limited.status_code == 409 and limited.json()["error"]["code"] == "reward_limit_reached"
    with tenant_context(world.alpha):
        services.partner_update(partner_id=coalition["b"].pk, actor=ACTOR, values={"status": "paused"})
    paused = post(writer, f"/api/v1/loyalty/rewards/{coalition['reward_b'].pk}/redeem/",
                  {"customer_id": coalition["member"].pk})
    assert paused.status_code == 409 and paused.json()["error"]["code"] == "reward_unavailable"


def test_rewards_are_managed_with_the_loyalty_capability(world, coalition, alpha_client, api_key):
    body = {"name": "Free coffee", "points_cost": 30, "kind": "free_item", "item_name": "Coffee",
            "partner": "cafe-a"}
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, "/api/v1/loyalty/rewards/", body).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), "/api/v1/loyalty/rewards/", body).status_code == 403
    manager = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "loyalty"]))
    created = post(manager, "/api/v1/loyalty/rewards/", body)
    assert created.status_code == 201 and created.json()["partner"] == "cafe-a"
    no_item = post(manager, "/api/v1/loyalty/rewards/", {**body, "item_name": ""})
    assert no_item.status_code == 400 and "item_name" in no_item.json()["error"]["fields"]
    unknown = post(manager, "/api/v1/loyalty/rewards/", {**body, "partner": "nowhere"})
    assert unknown.status_code == 400 and "partner" in unknown.json()["error"]["fields"]


# --- idempotency ----------------------------------------------------------------------------------

def test_the_same_idempotency_key_answers_with_the_first_redemption(world, coalition, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    url = f"/api/v1/loyalty/rewards/{coalition['reward_a'].pk}/redeem/"
    body = {"customer_id": coalition["member"].pk}

    first = post(client, url, body, **{"Idempotency-Key": "till-7-sale-42"})
    second = post(client, url, body, **{"Idempotency-Key": "till-7-sale-42"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["Idempotent-Replayed"] == "true" and second.json() == first.json()
    with tenant_context(world.alpha):
        assert LoyaltyAccount.objects.get(customer=coalition["member"]).points_balance == 50
        assert Voucher.objects.filter(customer=coalition["member"]).count() == 1
        other = _member()
    reused = post(client, url, {"customer_id": other.pk}, **{"Idempotency-Key": "till-7-sale-42"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    bad = post(client, url, body, **{"Idempotency-Key": "ü" * 3})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "idempotency_key_invalid"


def _in_thread(fn, results):
    def run():
        try:
            results.append(fn())
        except Exception as exc:  # reported in the results
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("same_key", [True, False])
def test_a_double_submit_never_spends_twice(world, same_key):
    """Five identical requests at once (committed data, one connection each). With one
    Idempotency-Key: one redemption, the others replay it. Without a key each is a new redemption,
    and the balance (100 points, 60 per voucher) pays one: the others are refused."""
    tenant = world.alpha
    made: list = []

    def setup():
        issued = api_key_create(tenant=tenant, name="double submit", scopes=["read", "write"], actor=ACTOR)
        with tenant_context(tenant):
            partner = _partner(f"double-{int(same_key)}")
            reward = _reward(partner, points=60)
            member = _member(100)
        return issued, partner.pk, reward.pk, member.pk

    _in_thread(setup, made).join()
    assert not isinstance(made[0], Exception), made
    issued, partner_id, reward_id, customer_id = made[0]
    try:
        barrier = threading.Barrier(5)

        def redeem():
            client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
            headers = {"Idempotency-Key": "double-submit"} if same_key else {}
            barrier.wait(timeout=30)
            answer = post(client, f"/api/v1/loyalty/rewards/{reward_id}/redeem/", {"customer_id": customer_id},
                          **headers)
            return answer.status_code, answer.json()

        results: list = []
        threads = [_in_thread(redeem, results) for _ in range(5)]
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(status for status, _ in results)
        if same_key:
            assert statuses == [200, 200, 200, 200, 201], results
            assert len({body["voucher"]["code"] for _, body in results}) == 1
        else:
            assert statuses == [201, 409, 409, 409, 409], results
        with tenant_context(tenant):
            account = LoyaltyAccount.objects.get(customer_id=customer_id)
            assert account.points_balance == 40 and Voucher.objects.filter(customer_id=customer_id).count() == 1
    finally:
        def purge():
            with tenant_context(tenant):
                RewardRedemption.objects.filter(customer_id=customer_id).delete()
                Voucher.objects.filter(customer_id=customer_id).delete()
                LoyaltyAccount.objects.filter(customer_id=customer_id).delete()
                Customer.objects.filter(pk=customer_id).delete()
                Reward.objects.filter(pk=reward_id).delete()
                Partner.objects.filter(pk=partner_id).delete()
            ApiKey.objects.filter(pk=issued.api_key.pk).delete()

        done: list = []
        _in_thread(purge, done).join()
        assert done == [None], done


# --- partner-bound keys ---------------------------------------------------------------------------

def test_a_partner_key_sees_only_its_partner_s_rows(world, coalition, api_key):
    member = coalition["member"]
    with tenant_context(world.alpha):
        redemption_a, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk, customer_id=member.pk,
                                                 actor=ACTOR)
        redemption_b, _ = services.reward_redeem(reward_id=coalition["reward_b"].pk, customer_id=member.pk,
                                                 actor=ACTOR)
    key_a = api_client("alpha.localhost", _bound_key(world, coalition["a"]))
    unbound = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))

    def ids(client, path):
        return sorted(row["id"] for row in client.get(path).json()["results"])

    assert ids(key_a, "/api/v1/loyalty/vouchers/") == [redemption_a.voucher_id]
    assert ids(key_a, "/api/v1/loyalty/redemptions/") == [redemption_a.pk]
    assert ids(key_a, "/api/v1/loyalty/rewards/") == [coalition["reward_a"].pk]
    assert ids(key_a, "/api/v1/loyalty/partners/") == [coalition["a"].pk]
    assert ids(unbound, "/api/v1/loyalty/vouchers/") == sorted([redemption_a.voucher_id, redemption_b.voucher_id])
    # another partner's rows do not exist for it
    assert key_a.get(f"/api/v1/loyalty/vouchers/{redemption_b.voucher_id}/").status_code == 404
    assert key_a.get(f"/api/v1/loyalty/redemptions/{redemption_b.pk}/").status_code == 404
    assert key_a.get(f"/api/v1/loyalty/vouchers/?code={redemption_b.voucher.code}").json()["count"] == 0
    assert post(key_a, f"/api/v1/loyalty/rewards/{coalition['reward_b'].pk}/redeem/",
                {"customer_id": member.pk}).status_code == 404
    # it acts for its own partner only
    assert post(key_a, "/api/v1/loyalty/vouchers/check/", {"code": redemption_b.voucher.code, "amount": "50",
                                                          "partner": "books-b"}).status_code == 403
    foreign = post(key_a, "/api/v1/loyalty/vouchers/check/", {"code": redemption_b.voucher.code, "amount": "50"})
    assert foreign.json() == {"valid": False, "reason": "foreign_partner", "discount": None, "voucher": None}
    assert post(key_a, "/api/v1/loyalty/vouchers/use/", {"code": redemption_b.voucher.code,
                                                        "amount": "50"}).status_code == 409


def test_a_partner_key_never_changes_the_program_even_with_the_loyalty_scope(world, coalition):
    key_a = api_client("alpha.localhost", _bound_key(world, coalition["a"], scopes=["read", "write", "loyalty"]))
    assert post(key_a, "/api/v1/loyalty/partners/", {"name": "X", "slug": "x"}).status_code == 403
    assert patch(key_a, f"/api/v1/loyalty/partners/{coalition['a'].pk}/", {"funding_share": "0"}).status_code == 403
    assert post(key_a, "/api/v1/loyalty/rewards/", {"name": "X", "points_cost": 1, "kind": "fixed_amount",
                                                   "value": "1"}).status_code == 403


def test_binding_keys_takes_the_loyalty_capability_and_a_key_of_this_tenant(world, coalition, alpha_client,
                                                                            api_key):
    issued = api_key_create(tenant=world.alpha, name="till", scopes=["read", "write"], actor=ACTOR)
    url = f"/api/v1/loyalty/partners/{coalition['a'].pk}/keys/"
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, url, {"api_key_id": issued.api_key.pk}).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), url, {"api_key_id": issued.api_key.pk}).status_code == 403
    beta_key = api_key_create(tenant=world.beta, name="beta till", scopes=["read"], actor=ACTOR)
    admin = alpha_client(world.user("alpha_admin"))
    foreign = post(admin, url, {"api_key_id": beta_key.api_key.pk})
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "partner_key_invalid"
    assert post(admin, url, {"api_key_id": issued.api_key.pk}).status_code == 201
    assert post(admin, f"/api/v1/loyalty/partners/{coalition['b'].pk}/keys/",
                {"api_key_id": issued.api_key.pk}).status_code == 409
    with tenant_context(world.alpha):
        assert PartnerApiKey.objects.get(api_key_id=issued.api_key.pk).partner == coalition["a"]


# --- the point of sale ----------------------------------------------------------------------------

def test_check_and_use_a_voucher_with_the_reasons_for_a_refusal(world, coalition, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    with tenant_context(world.alpha):
        services.reward_update(reward_id=coalition["reward_a"].pk, actor=ACTOR, values={"min_spend": Decimal("20")})
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
    code = redemption.voucher.code

    def check(**body):
        return post(client, "/api/v1/loyalty/vouchers/check/", {"code": code, "amount": "30", "partner": "cafe-a",
                                                               **body}).json()["reason"]

    assert check() is None
    assert check(amount="5") == "under_minimum"
    assert check(partner="books-b") == "foreign_partner"
    assert check(code="NOPE") == "not_found"
    assert post(client, "/api/v1/loyalty/vouchers/check/", {"code": code, "amount": "-1"}).status_code == 400

    used = post(client, "/api/v1/loyalty/vouchers/use/", {"code": code, "amount": "30", "partner": "cafe-a",
                                                         "reference": "sale-1"})
    assert used.status_code == 200 and used.json()["status"] == "redeemed"
    retry = post(client, "/api/v1/loyalty/vouchers/use/", {"code": code, "amount": "30", "partner": "cafe-a",
                                                          "reference": "sale-1"})
    assert retry.status_code == 200
    twice = post(client, "/api/v1/loyalty/vouchers/use/", {"code": code, "amount": "30", "partner": "cafe-a",
                                                          "reference": "sale-2"})
    assert twice.status_code == 409 and twice.json()["error"]["fields"]["code"] == ["redeemed"]
    assert check() == "redeemed"
    with tenant_context(world.alpha):
        Voucher.objects.filter(pk=redemption.voucher_id).update(status="issued", redeemed_at=None,
                                                               valid_until=timezone.now() - datetime.timedelta(days=1),
                                                               valid_from=timezone.now() - datetime.timedelta(days=2))
    assert check() == "expired"


def test_voiding_takes_the_loyalty_capability(world, coalition, alpha_client, api_key):
    with tenant_context(world.alpha):
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
    url = f"/api/v1/loyalty/vouchers/{redemption.voucher_id}/void/"
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert post(writer, url, {"reason": "fraud"}).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), url, {"reason": "fraud"}).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    assert post(admin, url, {"reason": ""}).status_code == 400
    voided = post(admin, url, {"reason": "fraud"})
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert post(admin, url, {"reason": "again"}).status_code == 409


def test_vouchers_are_isolated_between_tenants(world, coalition, api_key):
    with tenant_context(world.alpha):
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
    beta = api_client("beta.localhost", api_key(world.beta, scopes=["read", "write"]))
    assert beta.get(f"/api/v1/loyalty/vouchers/{redemption.voucher_id}/").status_code == 404
    assert post(beta, "/api/v1/loyalty/vouchers/check/", {"code": redemption.voucher.code,
                                                         "amount": "30"}).json()["reason"] == "not_found"


# --- merges, export, admin ------------------------------------------------------------------------

def test_a_merge_moves_vouchers_to_the_survivor_and_its_undo_back(world, coalition):
    with tenant_context(world.alpha):
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
        survivor = CustomerFactory()
        merge = customer_merge(survivor_id=survivor.pk, merged_id=coalition["member"].pk, actor=ACTOR)
        assert Voucher.objects.get(pk=redemption.voucher_id).customer_id == survivor.pk
        assert merge.snapshot["loyalty"]["mode"] == "account"
        merge_undo(merge_id=merge.pk, actor=ACTOR)
        assert Voucher.objects.get(pk=redemption.voucher_id).customer_id == coalition["member"].pk
        assert RewardRedemption.objects.get(pk=redemption.pk).customer_id == coalition["member"].pk


def test_the_export_lists_the_person_s_vouchers(world, coalition, api_key):
    with tenant_context(world.alpha):
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "unmask", "sensitive"]))
    data = client.get(f"/api/v1/customers/{coalition['member'].pk}/export/").json()
    assert [v["code"] for v in data["loyalty"]["vouchers"]] == [redemption.voucher.code]


def test_admin_finds_a_voucher_by_its_printed_code_and_edits_partners_through_the_service(world, coalition,
                                                                                         alpha_client):
    with tenant_context(world.alpha):
        redemption, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk,
                                               customer_id=coalition["member"].pk, actor=ACTOR)
    code = redemption.voucher.code
    admin = alpha_client(world.user("alpha_owner"))
    printed = f"{code[:4]}-{code[4:8]}-{code[8:]}".lower()
    page = admin.get("/admin/loyalty/voucher/", {"q": printed})
    assert page.status_code == 200 and code in page.content.decode()
    taken = admin.post(f"/admin/loyalty/partner/{coalition['a'].pk}/change/", {
        "name": "Café A", "slug": "books-b", "category": "", "status": "active", "contact_name": "",
        "contact_email": "", "contact_phone": "", "funding_share": "100", "earn_multiplier": "1"})
    assert taken.status_code == 200 and taken.context["adminform"].form.errors["slug"]


def test_the_nightly_job_expires_vouchers_past_their_validity_in_every_tenant(world, coalition):
    from tenants.tasks import tenants_dispatch_task

    import loyalty.tasks  # noqa: F401  (a worker autodiscovers it)

    with tenant_context(world.alpha):
        old, _ = services.reward_redeem(reward_id=coalition["reward_a"].pk, customer_id=coalition["member"].pk,
                                        actor=ACTOR)
        fresh, _ = services.reward_redeem(reward_id=coalition["reward_b"].pk, customer_id=coalition["member"].pk,
                                          actor=ACTOR)
        Voucher.objects.filter(pk=old.voucher_id).update(valid_from=timezone.now() - datetime.timedelta(days=40),
                                                         valid_until=timezone.now() - datetime.timedelta(days=1))
    tenants_dispatch_task(task_name="loyalty.tasks.vouchers_expire_task")
    with tenant_context(world.alpha):
        assert Voucher.objects.get(pk=old.voucher_id).status == "expired"
        assert Voucher.objects.get(pk=fresh.voucher_id).status == "issued"

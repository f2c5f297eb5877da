"""Loyalty: earning once per completed order (through the ingest hook), tier multipliers,
FIFO redemption that never goes below zero, expiry, tiers, reversal, the ledger invariant under
concurrency, and the API with its roles and tenant isolation."""

from __future__ import annotations

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer, Order
from loyalty.hooks import loyalty_pending_flush
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction
from loyalty.services import points as svc
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory, OrderFactory, order_record
from tests.loyalty.factories import LoyaltyAccountFactory

ACTOR = Actor.system("tests")
Txn = LoyaltyTransaction.Type


def _rate(rate="1", **values):
    svc.loyalty_program_update(actor=ACTOR, values={"points_per_currency_unit": Decimal(rate), **values})


def _account(customer_id) -> LoyaltyAccount:
    return LoyaltyAccount.objects.get(customer_id=customer_id)


def assert_ledger_invariant(account: LoyaltyAccount):
    account.refresh_from_db()
    ledger = account.transactions.aggregate(points=Sum("points"), remaining=Sum("remaining"))
    assert account.points_balance == (ledger["points"] or 0) == (ledger["remaining"] or 0)
    assert account.points_balance >= 0


@pytest.fixture
def alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def ingest_and_earn(world, ingest, django_capture_on_commit_callbacks, monkeypatch):
    """Ingest like a source does, run the after-commit hooks and send the buffered orders.
    Only the loyalty subscriber listens (other apps' subscribers are tested by those apps)."""
    from collections import defaultdict

    from customers import registry
    from loyalty.hooks import loyalty_order_ingested_handler

    def ingest_tenant():
        return world.alpha

    only_loyalty = defaultdict(list, {"order.ingested": [loyalty_order_ingested_handler]})
    monkeypatch.setattr(registry.bus, "_subscribers", only_loyalty)

    def run(records, tenant=None):
        with tenant_context(tenant or ingest_tenant()), django_capture_on_commit_callbacks(execute=True):
            result = ingest(records, tenant=tenant)
        loyalty_pending_flush()
        return result

    return run


# --- earning ------------------------------------------------------------------------------------

def test_program_and_tier_defaults_come_with_the_tenant_in_its_currency(alpha):
    program = svc.loyalty_program_get()
    rules = svc.loyalty_tier_rules()
    assert program.points_per_currency_unit == Decimal("0.0010")  # ARS: about a point per dollar
    assert [r.tier for r in rules] == ["bronze", "silver", "gold", "platinum"]
    assert rules[0].min_spend == 0 and rules[1].min_spend < rules[2].min_spend < rules[3].min_spend
    assert svc.loyalty_program_get().pk == program.pk


def test_a_new_tenant_is_provisioned_with_its_program_in_its_currency(world):
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug="reais", name="Reais", actor=ACTOR, settings={"currency": "BRL"})

    with tenant_context(tenant):
        program = LoyaltyProgram.objects.get()
        assert program.points_per_currency_unit == Decimal("0.2000")  # BRL: about five per dollar
        silver = LoyaltyTierRule.objects.get(tier="silver")
        assert silver.min_spend == Decimal("2500") and silver.min_points == 500


def test_reading_the_program_and_tiers_never_writes(world, alpha_client, api_key):
    with tenant_context(world.alpha):
        LoyaltyTierRule.objects.all().delete()
        LoyaltyProgram.objects.all().delete()  # a schema without them (they come with the tenant)
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    admin = alpha_client(world.user("alpha_owner"))

    program = reader.get("/api/v1/loyalty/program/")
    tiers = reader.get("/api/v1/loyalty/tiers/")
    pages = [admin.get(url).status_code for url in ("/admin/loyalty/loyaltyprogram/",
                                                    "/admin/loyalty/loyaltytierrule/")]

    assert program.status_code == 200 and program.json()["points_per_currency_unit"] == "0.0010"
    assert tiers.status_code == 200 and pages == [200, 200]
    with tenant_context(world.alpha):
        assert not LoyaltyProgram.objects.exists() and not LoyaltyTierRule.objects.exists()
        # the first write creates them, then applies itself
        svc.loyalty_tier_rule_update(tier="silver", multiplier=Decimal("1.40"), actor=ACTOR)
        assert LoyaltyProgram.objects.count() == 1 and LoyaltyTierRule.objects.count() == 4


def test_the_data_migration_gives_existing_tenants_their_program(alpha):
    import importlib
    from types import SimpleNamespace

    from django.db.migrations.loader import MigrationLoader

    migration = importlib.import_module("customers.migrations.0009_loyalty_program_defaults")
    # The models as that migration saw them (customers' then; the tables are the same).
    apps = MigrationLoader(connection).project_state(("customers", "0009_loyalty_program_defaults")).apps
    LoyaltyTierRule.objects.all().delete()
    LoyaltyProgram.objects.all().delete()

    migration.loyalty_defaults_create(apps, SimpleNamespace(connection=connection))
    migration.loyalty_defaults_create(apps, SimpleNamespace(connection=connection))  # idempotent

    assert LoyaltyProgram.objects.get().points_per_currency_unit == Decimal("0.0010")
    assert list(LoyaltyTierRule.objects.values_list("tier", "min_spend")) == [
        ("bronze", Decimal("0")), ("silver", Decimal("500000")), ("gold", Decimal("2000000")),
        ("platinum", Decimal("5000000"))]


def test_tier_and_program_changes_are_audited_as_old_and_new_values(alpha):
    from tenants.models import AuditLog

    svc.loyalty_tier_rule_update(tier="silver", multiplier=Decimal("1.40"), actor=ACTOR)
    svc.loyalty_program_update(actor=ACTOR, values={"points_validity_days": 90, "name": "Loyalty"})

    tier = AuditLog.objects.get(action="loyalty.tier.update", tenant=alpha)
    assert tier.changes == {"multiplier": ["1.25", "1.40"]}
    program = AuditLog.objects.get(action="loyalty.program.update", tenant=alpha)
    assert program.changes == {"points_validity_days": [365, 90]}  # the name did not change


def test_a_completed_order_earns_once_through_the_ingest_hook(world, ingest_and_earn):
    with tenant_context(world.alpha):
        _rate("1")
    # given a completed order ingested twice, and its sync task run again
    result = ingest_and_earn([order_record("earn-1", order_date=timezone.now().isoformat(), total_amount="1500.50")])
    ingest_and_earn([order_record("earn-1", order_date=timezone.now().isoformat(), total_amount="1500.50")])
    order_id, customer_id = result.results[0].order_id, result.results[0].customer_id
    with tenant_context(world.alpha):
        svc.loyalty_orders_sync(order_ids=[order_id, order_id])
        # then it earned exactly once, rounded down
        earns = LoyaltyTransaction.objects.filter(order_id=order_id, type=Txn.EARN)
        assert [e.points for e in earns] == [1500]
        account = _account(customer_id)
        assert account.points_balance == account.lifetime_points == 1500
        assert earns[0].expires_at is not None
        assert_ledger_invariant(account)


def test_pending_orders_wait_and_earn_when_completed(world, ingest_and_earn):
    with tenant_context(world.alpha):
        _rate("1")
    now = timezone.now().isoformat()
    first = ingest_and_earn([order_record("wait-1", order_date=now, status="pending", total_amount="200")])
    customer_id = first.results[0].customer_id
    with tenant_context(world.alpha):
        assert not LoyaltyAccount.objects.filter(customer_id=customer_id).exists()
    ingest_and_earn([order_record("wait-1", order_date=now, status="completed", total_amount="200")])
    with tenant_context(world.alpha):
        assert _account(customer_id).points_balance == 200


def test_orders_older_than_the_points_validity_earn_nothing(alpha):
    _rate("1", points_validity_days=365)
    order = OrderFactory(order_date=timezone.now() - datetime.timedelta(days=400), total_amount=Decimal("500"))
    assert svc.loyalty_order_sync(order_id=order.pk) is None
    assert not LoyaltyTransaction.objects.filter(order=order).exists()


def test_the_tier_multiplier_applies_and_earning_upgrades_the_tier(alpha):
    _rate("1")
    svc.loyalty_tier_rule_update(tier="silver", min_spend=Decimal("100"), multiplier=Decimal("1.5"), actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="gold", min_spend=Decimal("50000"), actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="platinum", min_spend=Decimal("100000"), actor=ACTOR)
    customer = CustomerFactory()
    first = OrderFactory(customer=customer, total_amount=Decimal("100.99"), order_date=timezone.now())
    second = OrderFactory(customer=customer, total_amount=Decimal("100"), order_date=timezone.now())

    assert svc.loyalty_order_sync(order_id=first.pk).points == 100  # bronze ×1, rounded down
    assert _account(customer.pk).tier == "silver"  # 100.99 of rolling spend reaches silver
    assert svc.loyalty_order_sync(order_id=second.pk).points == 150  # silver ×1.5
    assert_ledger_invariant(_account(customer.pk))


def test_cancelled_order_gives_back_its_unspent_points_once(world, ingest_and_earn):
    with tenant_context(world.alpha):
        _rate("1")
    now = timezone.now().isoformat()
    result = ingest_and_earn([order_record("rev-1", order_date=now, total_amount="1000")])
    customer_id, order_id = result.results[0].customer_id, result.results[0].order_id
    with tenant_context(world.alpha):
        svc.loyalty_points_redeem(customer_id=customer_id, points=300, actor=ACTOR)
    # when the source reports the order cancelled (and again, and then completed again)
    ingest_and_earn([order_record("rev-1", order_date=now, total_amount="1000", status="cancelled")])
    with tenant_context(world.alpha):
        svc.loyalty_order_sync(order_id=order_id)
    ingest_and_earn([order_record("rev-1", order_date=now, total_amount="1000", status="completed")])
    with tenant_context(world.alpha):
        account = _account(customer_id)
        reversals = list(LoyaltyTransaction.objects.filter(order_id=order_id, type=Txn.ADJUST))
        # then the 700 points not yet spent are taken back, once; spent points are not clawed back
        assert [r.points for r in reversals] == [-700]
        assert reversals[0].metadata["kind"] == "order_reversal"
        assert LoyaltyTransaction.objects.filter(order_id=order_id, type=Txn.EARN).count() == 1
        assert account.points_balance == 0 and account.lifetime_points == 300
        assert_ledger_invariant(account)


# --- redemption, adjustments, bonuses ---------------------------------------------------------------

def test_redemption_spends_the_soonest_expiring_points_first(alpha):
    customer = CustomerFactory()
    later = svc.loyalty_points_bonus(customer_id=customer.pk, points=100, reason="welcome", actor=ACTOR,
                                     validity_days=10)
    never = svc.loyalty_points_bonus(customer_id=customer.pk, points=30, reason="birthday", actor=ACTOR,
                                     validity_days=0)
    sooner = svc.loyalty_points_bonus(customer_id=customer.pk, points=50, reason="promo", actor=ACTOR,
                                      validity_days=5)

    redeem = svc.loyalty_points_redeem(customer_id=customer.pk, points=60, actor=ACTOR, reference="R-1")

    remaining = dict(LoyaltyTransaction.objects.filter(pk__in=[later.pk, never.pk, sooner.pk])
                     .values_list("pk", "remaining"))
    assert remaining == {sooner.pk: 0, later.pk: 90, never.pk: 30}
    assert redeem.points == -60 and redeem.metadata["spent_from"] == [{"id": sooner.pk, "points": 50},
                                                                       {"id": later.pk, "points": 10}]
    account = _account(customer.pk)
    assert account.points_balance == 120 and account.points_redeemed == 60
    assert_ledger_invariant(account)


def test_redemption_never_goes_below_zero(alpha):
    customer = CustomerFactory()
    svc.loyalty_points_bonus(customer_id=customer.pk, points=50, reason="promo", actor=ACTOR)
    with pytest.raises(svc.InsufficientPoints) as error:
        svc.loyalty_points_redeem(customer_id=customer.pk, points=51, actor=ACTOR)
    assert error.value.code == "insufficient_points" and error.value.http_status == 409
    with pytest.raises(svc.InsufficientPoints):
        svc.loyalty_points_adjust(customer_id=customer.pk, points=-51, reason="fix", actor=ACTOR)
    svc.loyalty_points_redeem(customer_id=customer.pk, points=50, actor=ACTOR)  # exactly the balance is fine
    assert _account(customer.pk).points_balance == 0
    assert_ledger_invariant(_account(customer.pk))


def test_due_points_cannot_be_redeemed(alpha):
    customer = CustomerFactory()
    bonus = svc.loyalty_points_bonus(customer_id=customer.pk, points=80, reason="promo", actor=ACTOR)
    LoyaltyTransaction.objects.filter(pk=bonus.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(svc.InsufficientPoints):
        svc.loyalty_points_redeem(customer_id=customer.pk, points=10, actor=ACTOR)
    account = _account(customer.pk)
    assert account.points_balance == 80 and not account.transactions.filter(type=Txn.REDEEM).exists()
    assert svc.loyalty_points_expire() == 80  # the job takes them out
    assert _account(customer.pk).points_balance == 0
    assert_ledger_invariant(account)


def test_adjust_and_bonus_need_a_reason_and_are_audited(alpha):
    from tenants.models import AuditLog

    customer = CustomerFactory()
    with pytest.raises(svc.LoyaltyError) as error:
        svc.loyalty_points_adjust(customer_id=customer.pk, points=10, reason=" ", actor=ACTOR)
    assert error.value.code == "reason_required"
    with pytest.raises(svc.LoyaltyError):
        svc.loyalty_points_bonus(customer_id=customer.pk, points=0, reason="x", actor=ACTOR)
    svc.loyalty_points_adjust(customer_id=customer.pk, points=25, reason="goodwill", actor=ACTOR)
    svc.loyalty_points_adjust(customer_id=customer.pk, points=-5, reason="typo", actor=ACTOR)
    assert _account(customer.pk).points_balance == 20
    assert AuditLog.objects.filter(action="loyalty.adjust", tenant=alpha).count() == 2
    assert_ledger_invariant(_account(customer.pk))


# --- scheduled jobs ------------------------------------------------------------------------------

def test_expiry_job_expires_due_points_in_every_tenant_through_the_dispatcher(world):
    import loyalty.tasks  # noqa: F401  (a worker autodiscovers it; here, register it)
    from tenants.tasks import tenants_dispatch_task

    past = timezone.now() - datetime.timedelta(days=1)
    accounts = {}
    for tenant in (world.alpha, world.beta):
        with tenant_context(tenant):
            customer = CustomerFactory()
            due = svc.loyalty_points_bonus(customer_id=customer.pk, points=100, reason="old", actor=ACTOR)
            svc.loyalty_points_bonus(customer_id=customer.pk, points=40, reason="new", actor=ACTOR)
            svc.loyalty_points_redeem(customer_id=customer.pk, points=30, actor=ACTOR)  # from the first (FIFO)
            LoyaltyTransaction.objects.filter(pk=due.pk).update(expires_at=past)
            accounts[tenant.slug] = customer.pk

    tenants_dispatch_task(task_name="loyalty.tasks.loyalty_points_expire_task")

    for tenant in (world.alpha, world.beta):
        with tenant_context(tenant):
            account = _account(accounts[tenant.slug])
            assert account.points_balance == 40 and account.points_expired == 70
            assert list(account.transactions.filter(type=Txn.EXPIRE).values_list("points", flat=True)) == [-70]
            assert_ledger_invariant(account)
            assert svc.loyalty_points_expire() == 0  # idempotent


def test_tiers_recompute_from_rolling_spend_up_and_down(alpha):
    svc.loyalty_tier_rule_update(tier="silver", min_spend=Decimal("1000"), actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="gold", min_spend=Decimal("2000"), actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="platinum", min_spend=Decimal("9000"), actor=ACTOR)
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, total_amount=Decimal("2500"), order_date=timezone.now())
    OrderFactory(customer=customer, total_amount=Decimal("99999"), status="refunded", order_date=timezone.now())
    LoyaltyAccountFactory(customer=customer)

    assert svc.loyalty_tiers_recompute() == 1
    account = _account(customer.pk)
    assert account.tier == "gold" and account.rolling_spend == Decimal("2500")

    Order.objects.filter(pk=order.pk).update(order_date=timezone.now() - datetime.timedelta(days=400))
    svc.loyalty_tiers_recompute()
    assert _account(customer.pk).tier == "bronze"
    assert_ledger_invariant(_account(customer.pk))


def test_tiers_follow_rolling_points_when_the_program_says_so(alpha):
    svc.loyalty_program_update(actor=ACTOR, values={"tier_basis": "points"})
    svc.loyalty_tier_rule_update(tier="platinum", min_points=5000, actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="gold", min_points=1000, actor=ACTOR)
    svc.loyalty_tier_rule_update(tier="silver", min_points=100, actor=ACTOR)
    customer = CustomerFactory()
    svc.loyalty_points_bonus(customer_id=customer.pk, points=150, reason="campaign", actor=ACTOR)
    assert _account(customer.pk).tier == "silver"  # recomputed on earning
    svc.loyalty_points_redeem(customer_id=customer.pk, points=150, actor=ACTOR)
    svc.loyalty_tiers_recompute()
    assert _account(customer.pk).tier == "silver"  # spending does not lower points earned


def test_tier_thresholds_must_not_decrease(alpha):
    with pytest.raises(svc.LoyaltyError) as error:
        svc.loyalty_tier_rule_update(tier="gold", min_spend=Decimal("1"), actor=ACTOR)
    assert error.value.code == "tier_thresholds_invalid"


# --- concurrency ---------------------------------------------------------------------------------

def _in_thread(fn, results):
    def run():
        try:
            results.append(fn())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_concurrent_redemptions_never_overspend(world):
    tenant = world.alpha
    setup: list = []

    def create():
        with tenant_context(tenant):
            customer = Customer.objects.create(email="concurrent-loyalty@example.com")
            svc.loyalty_points_bonus(customer_id=customer.pk, points=100, reason="seed", actor=ACTOR)
            return customer.pk

    _in_thread(create, setup).join()
    customer_id = setup[0]
    assert isinstance(customer_id, int), setup
    try:
        barrier = threading.Barrier(5)

        def redeem():
            with tenant_context(tenant):
                barrier.wait(timeout=30)
                return svc.loyalty_points_redeem(customer_id=customer_id, points=30, actor=ACTOR)

        results: list = []
        threads = [_in_thread(redeem, results) for _ in range(5)]
        for thread in threads:
            thread.join(timeout=60)
        ok = [r for r in results if isinstance(r, LoyaltyTransaction)]
        refused = [r for r in results if isinstance(r, svc.InsufficientPoints)]
        assert len(ok) == 3 and len(refused) == 2, results
        with tenant_context(tenant):
            account = _account(customer_id)
            assert account.points_balance == 10
            assert_ledger_invariant(account)
    finally:
        def purge():
            with tenant_context(tenant):
                LoyaltyAccount.objects.filter(customer_id=customer_id).delete()
                Customer.objects.filter(pk=customer_id).delete()

        done: list = []
        _in_thread(purge, done).join()


# --- API -------------------------------------------------------------------------------------------

def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


def patch(client, path, data):
    return client.patch(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def alpha_customer(world):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
        svc.loyalty_points_bonus(customer_id=customer.pk, points=100, reason="welcome", actor=ACTOR)
    return customer


def test_api_account_with_paginated_filtered_ledger(world, api_key, alpha_customer):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    url = f"/api/v1/customers/{alpha_customer.pk}/loyalty/"
    assert post(client, url + "redeem/", {"points": 30, "reference": "POS-1"}).status_code == 201
    body = client.get(url + "?page_size=1").json()
    assert body["account"]["points_balance"] == 70 and body["count"] == 2 and len(body["results"]) == 1
    assert body["results"][0]["type"] == "redeem"  # newest first
    only_bonus = client.get(url + "?type=bonus").json()
    assert [row["type"] for row in only_bonus["results"]] == ["bonus"]
    fresh = CustomerFactory.build()  # a customer without an account reads as zero
    with tenant_context(world.alpha):
        fresh.save()
    empty = client.get(f"/api/v1/customers/{fresh.pk}/loyalty/").json()
    assert empty["account"]["points_balance"] == 0 and empty["count"] == 0


def test_api_operations_and_their_errors(world, api_key, alpha_customer):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    url = f"/api/v1/customers/{alpha_customer.pk}/loyalty/"
    too_much = post(client, url + "redeem/", {"points": 101})
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "insufficient_points"
    no_reason = post(client, url + "adjust/", {"points": 5})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    bonus = post(client, url + "bonus/", {"points": 20, "reason": "birthday", "validity_days": 30})
    assert bonus.status_code == 201 and bonus.json()["account"]["points_balance"] == 120
    adjust = post(client, url + "adjust/", {"points": -20, "reason": "correction"})
    assert adjust.status_code == 201 and adjust.json()["transaction"]["points"] == -20
    assert post(client, "/api/v1/customers/999999999/loyalty/redeem/", {"points": 1}).status_code == 404


def test_api_roles_for_loyalty(world, api_key, alpha_client, alpha_customer):
    url = f"/api/v1/customers/{alpha_customer.pk}/loyalty/"
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert reader.get(url).status_code == 200
    assert post(reader, url + "redeem/", {"points": 1}).status_code == 403
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.get("/api/v1/loyalty/tiers/").status_code == 200
    for user in ("alpha_viewer", "alpha_analyst"):
        assert patch(alpha_client(world.user(user)), "/api/v1/loyalty/tiers/silver/",
                     {"min_spend": "10"}).status_code == 403
    writer = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert patch(writer, "/api/v1/loyalty/tiers/silver/", {"min_spend": "10"}).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    edited = patch(admin, "/api/v1/loyalty/tiers/silver/", {"min_spend": "1234.50", "multiplier": "1.30"})
    assert edited.status_code == 200 and edited.json()["min_spend"] == "1234.50"
    tiers = admin.get("/api/v1/loyalty/tiers/").json()
    assert [t["tier"] for t in tiers["results"]] == ["bronze", "silver", "gold", "platinum"]
    bad = patch(admin, "/api/v1/loyalty/tiers/gold/", {"min_spend": "1"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "tier_thresholds_invalid"
    program = patch(admin, "/api/v1/loyalty/program/", {"points_validity_days": 180})
    assert program.status_code == 200 and program.json()["points_validity_days"] == 180
    assert patch(writer, "/api/v1/loyalty/program/", {"points_validity_days": 1}).status_code == 403


def test_api_loyalty_is_isolated_between_tenants(world, api_key, alpha_customer):
    url = f"/api/v1/customers/{alpha_customer.pk}/loyalty/"
    alpha_key_on_beta = api_client("beta.localhost", api_key(world.alpha))
    assert alpha_key_on_beta.get(url).status_code in (401, 403)
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(url).status_code == 404
    assert post(beta, url + "redeem/", {"points": 1}).status_code == 404
    assert post(beta, url + "bonus/", {"points": 1, "reason": "x"}).status_code == 404
    with tenant_context(world.alpha):
        assert _account(alpha_customer.pk).points_balance == 100


def test_admin_shows_the_account_with_its_ledger_and_computed_balance(world, alpha_client, alpha_customer):
    with tenant_context(world.alpha):
        account = _account(alpha_customer.pk)
    page = alpha_client(world.user("alpha_owner")).get(f"/admin/loyalty/loyaltyaccount/{account.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200 and "Ledger balance" in body and "welcome" in body


def test_buffered_orders_travel_as_id_ranges():
    from loyalty.hooks import id_ranges

    assert id_ranges([7, 1, 2, 3, 5, 3]) == [[1, 3], [5, 5], [7, 7]]
    assert id_ranges([]) == []


def test_loyalty_task_takes_id_ranges_and_the_previous_release_s_id_lists(world, alpha):
    from loyalty.tasks import loyalty_orders_sync_task

    customer = CustomerFactory()
    first, second, third = (OrderFactory(customer=customer, total_amount=Decimal("5000"), order_date=timezone.now())
                            for _ in range(3))
    loyalty_orders_sync_task(id_ranges=[[first.pk, first.pk]])
    loyalty_orders_sync_task(order_ids=[second.pk, third.pk])
    assert LoyaltyTransaction.objects.filter(type="earn").count() == 3


def test_catch_up_earns_for_recent_orders_whose_event_was_lost_in_every_tenant(world):
    import loyalty.tasks  # noqa: F401  (a worker autodiscovers it; here, register it)
    from tenants.tasks import tenants_dispatch_task

    now = timezone.now()
    orders = {}
    for tenant in (world.alpha, world.beta):
        with tenant_context(tenant):
            _rate("1")
            customer = CustomerFactory()
            # given orders stored without their ingest event reaching a loyalty task
            made = {name: OrderFactory(customer=customer, total_amount=Decimal("100"), order_date=now, status=status)
                    for name, status in (("lost", "completed"), ("too_old", "completed"), ("settling", "completed"),
                                         ("pending", "pending"), ("lost_cancel", "completed"))}
            svc.loyalty_order_sync(order_id=made["lost_cancel"].pk)  # earned, then cancelled: event lost
            Order.objects.filter(pk=made["lost_cancel"].pk).update(status="cancelled")
            Order.objects.filter(pk__in=[made[n].pk for n in ("lost", "pending", "lost_cancel")]).update(
                updated_at=now - datetime.timedelta(hours=1))
            Order.objects.filter(pk=made["too_old"].pk).update(updated_at=now - datetime.timedelta(days=5))
            orders[tenant.slug] = made

    # when the hourly job runs for every tenant (twice)
    tenants_dispatch_task(task_name="loyalty.tasks.loyalty_catch_up_task")
    tenants_dispatch_task(task_name="loyalty.tasks.loyalty_catch_up_task")

    for tenant in (world.alpha, world.beta):
        with tenant_context(tenant):
            made = orders[tenant.slug]
            earned = set(LoyaltyTransaction.objects.filter(type=Txn.EARN).values_list("order_id", flat=True))
            # then the lost completed order earned once; older or still settling orders were left alone
            assert earned == {made["lost"].pk, made["lost_cancel"].pk}
            # and the lost cancellation gave its points back
            reversal = LoyaltyTransaction.objects.get(order_id=made["lost_cancel"].pk, type=Txn.ADJUST)
            assert reversal.points == -100
            account = _account(made["lost"].customer_id)
            assert account.points_balance == 100
            assert_ledger_invariant(account)
            assert svc.loyalty_catch_up() == 0


def test_catch_up_does_nothing_while_the_program_is_off(alpha):
    _rate("1", is_active=False)
    order = OrderFactory(total_amount=Decimal("100"), order_date=timezone.now())
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    assert svc.loyalty_catch_up() == 0
    assert not LoyaltyTransaction.objects.exists()

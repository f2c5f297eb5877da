"""Loyalty as its own app (issue #15): customers never imports it, the tables and their rows stayed
where they were, loyalty reaches customers only through its registries, and editing the program
takes the ``loyalty`` capability."""

from __future__ import annotations

import ast
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers import registry
from customers.services.merge import customer_merge, merge_undo
from loyalty import services
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction
from tenants.models import Role
from tenants.roles import LOYALTY, ROLE_CAPABILITIES, capabilities_for_role
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory, OrderFactory
from tests.loyalty.factories import loyalty_with_points

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_customers_never_imports_loyalty():
    offenders = {str(path.relative_to(ROOT)): sorted(name for name in _imports(path)
                                                     if name == "loyalty" or name.startswith("loyalty."))
                 for path in (ROOT / "customers").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_tables_keep_their_names_and_the_state_matches_the_models(db):
    assert [model._meta.db_table for model in (LoyaltyProgram, LoyaltyTierRule, LoyaltyAccount, LoyaltyTransaction)] \
        == ["customers_loyaltyprogram", "customers_loyaltytierrule", "customers_loyaltyaccount",
            "customers_loyaltytransaction"]
    out = io.StringIO()
    call_command("makemigrations", "customers", "loyalty", "--check", "--dry-run", stdout=out)  # exits 1 if not
    assert "No changes detected" in out.getvalue()


def test_the_rows_made_before_the_move_are_loyalty_s(world):
    # given the program and tiers the tenant got when it was created (customers.0009, before the move)
    with tenant_context(world.alpha):
        assert LoyaltyProgram.objects.count() == 1
        assert list(LoyaltyTierRule.objects.values_list("tier", flat=True)) == ["bronze", "silver", "gold",
                                                                                  "platinum"]
    assert ContentType.objects.get_for_model(LoyaltyAccount).app_label == "loyalty"


def test_loyalty_registers_its_hooks_with_customers():
    assert "loyalty" in dict(registry.merge_handlers())
    assert "loyalty" in dict(registry.erasure_handlers())
    assert "loyalty" in dict(registry.export_sections())
    assert "loyalty" in dict(registry.customer_360_top_level())
    assert [name for name, _ in registry.counted_sale_dependents()][:2] == ["loyalty", "analytics"]


def test_the_merge_moves_the_ledger_through_loyalty_s_handler_and_the_undo_puts_it_back(world, monkeypatch):
    actor = Actor.system("tests")
    with tenant_context(world.alpha):
        survivor, merged = CustomerFactory(), CustomerFactory()
        loyalty_with_points(survivor, 100)
        loyalty_with_points(merged, 70, tier="gold")
        merge = customer_merge(survivor_id=survivor.pk, merged_id=merged.pk, actor=actor)
        assert merge.snapshot["loyalty"]["mode"] == "ledger"
        assert LoyaltyAccount.objects.get(customer=survivor).points_balance == 170
        merge_undo(merge_id=merge.pk, actor=actor)
        assert LoyaltyAccount.objects.get(customer=survivor).points_balance == 100
        assert LoyaltyAccount.objects.get(customer=merged).points_balance == 70

        # without loyalty's handler, customers moves nothing of loyalty's
        monkeypatch.setattr(registry, "_merge_handlers", {})
        again = customer_merge(survivor_id=survivor.pk, merged_id=merged.pk, actor=actor)
        assert "loyalty" not in again.snapshot
        assert LoyaltyAccount.objects.get(customer=merged).points_balance == 70


def test_the_360_and_the_export_show_loyalty_as_before(world, api_key):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
        loyalty_with_points(customer, 40, tier="silver")
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "unmask", "sensitive"]))

    detail = client.get(f"/api/v1/customers/{customer.pk}/").json()
    export = client.get(f"/api/v1/customers/{customer.pk}/export/")

    assert detail["loyalty"] == {"points_balance": 40, "lifetime_points": 40, "points_redeemed": 0,
                                 "points_expired": 0, "tier": "silver", "tier_since": None}
    assert "loyalty" not in detail["sections"]
    assert export.status_code == 200 and export.json()["loyalty"]["account"]["points_balance"] == 40


def test_orders_queued_under_the_task_s_previous_name_still_earn(world):
    from cdp.celery import app

    import loyalty.tasks  # noqa: F401  (a worker autodiscovers it)

    with tenant_context(world.alpha):
        services.loyalty_program_update(actor=Actor.system("tests"),
                                        values={"points_per_currency_unit": Decimal("1")})
        order = OrderFactory(total_amount=Decimal("30"))
        app.tasks["customers.tasks.loyalty_orders_sync_task"](id_ranges=[[order.pk, order.pk]])
        assert LoyaltyTransaction.objects.get(order=order, type="earn").points == 30


# --- the loyalty capability -----------------------------------------------------------------------

def test_the_loyalty_capability_belongs_to_the_roles_that_held_integrations():
    for role in Role.values:
        assert (LOYALTY in capabilities_for_role(role)) == ("integrations" in capabilities_for_role(role)), role
    assert LOYALTY not in ROLE_CAPABILITIES[Role.ANALYST] and LOYALTY not in ROLE_CAPABILITIES[Role.VIEWER]


def _patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("scopes, allowed", [
    (["read", "write", "integrations"], False),  # a connector's key no longer edits the program
    (["read", "write"], False),
    (["read", "loyalty"], True),
])
def test_editing_tiers_and_program_takes_the_loyalty_scope(world, api_key, scopes, allowed):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=scopes))
    tier = _patch(client, "/api/v1/loyalty/tiers/silver/", {"multiplier": "1.30"})
    program = _patch(client, "/api/v1/loyalty/program/", {"name": "Club"})
    assert (tier.status_code, program.status_code) == ((200, 200) if allowed else (403, 403))


@pytest.mark.parametrize("user, allowed", [("alpha_viewer", False), ("alpha_analyst", False), ("alpha_admin", True),
                                           ("alpha_owner", True)])
def test_editing_the_program_by_role(world, alpha_client, user, allowed):
    answer = _patch(alpha_client(world.user(user)), "/api/v1/loyalty/program/", {"points_validity_days": 90})
    assert answer.status_code == (200 if allowed else 403)

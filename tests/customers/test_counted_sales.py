"""One counted-sale rule, owned by customers and read by everyone: the default (paid, invoiced,
completed count; pending, cancelled and refunded do not), changing it (API, admin, command) and the
recorded recomputation it starts (aggregates, loyalty, analytics)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import CountedSaleRule, Customer, SalesRecomputeJob
from customers.selectors import counted_statuses, customer_360
from customers.services.sales import counted_statuses_set
from loyalty import services as loyalty_services
from loyalty.models import LoyaltyAccount, LoyaltyTransaction
from tenants.models import AuditLog
from tests.customers.factories import order_record

ACTOR = Actor.system("tests")
URL = "/api/v1/sales/counted-statuses/"


def _orders(person="sale"):
    now = timezone.now()
    return [order_record(f"{person}-{status}", person=person, status=status, total_amount=amount,
                         order_date=(now - timezone.timedelta(days=n)).isoformat())
            for n, (status, amount) in enumerate((("paid", "100"), ("invoiced", "200"), ("completed", "300"),
                                                  ("pending", "4000"), ("cancelled", "50000"),
                                                  ("refunded", "600000")))]


def _put(client, statuses):
    return client.put(URL, data=json.dumps({"statuses": statuses}), content_type="application/json")


def test_by_default_paid_invoiced_and_completed_are_sales_and_pending_is_not(world, ingest):
    # given one person's orders in every status
    result = ingest(_orders())
    customer_id = result.results[0].customer_id
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=customer_id)
        # then only paid, invoiced and completed count: the pending order no longer inflates them
        assert counted_statuses() == ("paid", "invoiced", "completed")
        assert (customer.total_orders, customer.total_spent, customer.avg_order_value) == (
            3, Decimal("600.00"), Decimal("200.00"))
        stats = customer_360(customer_id=customer_id, sections=False)["order_stats"]
        assert (stats["orders"], stats["counted"], stats["cancelled"], stats["refunded"]) == (6, 3, 1, 1)
        assert stats["by_source"][0]["spent"] == Decimal("600.00")


def test_changing_the_rule_recomputes_aggregates_loyalty_and_analytics_as_a_recorded_job(
        world, ingest, alpha_client, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        loyalty_services.loyalty_program_update(actor=ACTOR, values={"points_per_currency_unit": Decimal("1")})
    result = ingest(_orders())
    customer_id = result.results[0].customer_id
    pending_id = next(r.order_id for r in result.results if r.index == 3)
    with tenant_context(world.alpha):
        loyalty_services.loyalty_orders_sync(order_ids=[r.order_id for r in result.results])
        assert LoyaltyAccount.objects.get(customer_id=customer_id).points_balance == 600
    admin = alpha_client(world.user("alpha_admin"))

    # when an admin makes pending orders count (a cash-on-delivery store)
    with django_capture_on_commit_callbacks(execute=True):
        response = _put(admin, ["pending", "paid", "invoiced", "completed"])

    # then the change is answered with the queued job, which ran every step and recorded its progress
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["statuses"] == ["pending", "paid", "invoiced", "completed"] and not body["is_default"]
    with tenant_context(world.alpha):
        job = SalesRecomputeJob.objects.get(pk=body["recompute"]["id"])
        assert job.status == "succeeded", job.error
        assert job.steps == ["aggregates", "loyalty", "analytics"]
        assert job.progress["aggregates"]["done"] == job.progress["aggregates"]["total"] >= 1
        assert job.progress["loyalty"] == {"orders": 1, "entries": 1, "seconds": job.progress["loyalty"]["seconds"]}
        assert job.progress["analytics"]["analytics_job"] is not None
        customer = Customer.objects.get(pk=customer_id)
        assert (customer.total_orders, customer.total_spent) == (4, Decimal("4600.00"))
        assert LoyaltyTransaction.objects.filter(order_id=pending_id, type="earn").get().points == 4000
        assert AuditLog.objects.filter(action="sales.counted_statuses.set").exists()

    # and going back to the default takes the pending order's points back and its total out
    with django_capture_on_commit_callbacks(execute=True):
        assert _put(admin, ["paid", "invoiced", "completed"]).status_code == 202
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=customer_id)
        assert (customer.total_orders, customer.total_spent) == (3, Decimal("600.00"))
        assert LoyaltyAccount.objects.get(customer_id=customer_id).points_balance == 600
    # the same statuses again change nothing and queue nothing
    assert _put(admin, ["completed", "invoiced", "paid"]).status_code == 200


def test_only_owners_and_admins_change_the_rule_and_nonsense_is_refused(world, alpha_client, api_key):
    from tests.conftest import api_client

    assert alpha_client(world.user("alpha_viewer")).get(URL).json()["statuses"] == ["paid", "invoiced", "completed"]
    for role in ("viewer", "analyst"):
        assert _put(alpha_client(world.user(f"alpha_{role}")), ["pending", "paid"]).status_code == 403
    # an integration's key may write orders, not redefine what a sale is
    assert _put(api_client("alpha.localhost", api_key(world.alpha)), ["pending", "paid"]).status_code == 403
    assert _put(alpha_client(world.user("beta_admin")), ["pending", "paid"]).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    for statuses, field_error in ((["cancelled", "paid"], "statuses"), ([], "statuses"), (["shipped"], "statuses")):
        response = _put(admin, statuses)
        assert response.status_code == 400 and field_error in response.json()["error"]["fields"], response.content
    with tenant_context(world.alpha):
        assert not CountedSaleRule.objects.exists()
        # a service caller gets the same refusals, with the reason in words
        with pytest.raises(Exception, match="never a sale"):
            counted_statuses_set(statuses=["refunded"], actor=ACTOR, tenant=world.alpha)
        SalesRecomputeJob.objects.create(statuses_after=["paid"], status="running")
    response = _put(admin, ["pending", "paid"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "recompute_in_progress"


def test_the_rule_is_per_tenant(world, ingest, django_capture_on_commit_callbacks):
    with tenant_context(world.beta):
        counted_statuses_set(statuses=["pending", "paid"], actor=ACTOR, tenant=world.beta, enqueue=False)
        assert counted_statuses() == ("pending", "paid")
    with tenant_context(world.alpha):
        assert counted_statuses() == ("paid", "invoiced", "completed")


def test_command_shows_and_sets_the_rule_with_progress(world, ingest, capsys):
    ingest(_orders("cmd"))
    call_command("counted_statuses", "--tenant", "alpha")
    assert "paid, invoiced, completed (the default)" in capsys.readouterr().out

    call_command("counted_statuses", "--tenant", "alpha", "--set", "pending,paid,invoiced,completed")

    captured = capsys.readouterr()
    assert "[1/3] aggregates" in captured.err and "[3/3] analytics" in captured.err
    assert "Counted as a sale in alpha: pending, paid, invoiced, completed" in captured.out
    with tenant_context(world.alpha):
        assert Customer.objects.get(email="buyercmd@example.com").total_orders == 4
        assert SalesRecomputeJob.objects.get().progress["analytics"]["status"] == "succeeded"
    with pytest.raises(CommandError, match="never a sale"):
        call_command("counted_statuses", "--tenant", "alpha", "--set", "paid,refunded")


def test_admin_changes_the_rule_through_the_service(world, alpha_client, django_capture_on_commit_callbacks):
    admin = alpha_client(world.user("alpha_admin"))
    page = admin.get("/admin/customers/countedsalerule/add/")
    assert page.status_code == 200 and b"count as a sale" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/admin/customers/countedsalerule/add/", {"statuses": ["paid", "invoiced"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(world.alpha):
        assert counted_statuses() == ("paid", "invoiced")
        assert SalesRecomputeJob.objects.get().status == "succeeded"


#: Literal lists of order statuses that would define a sale outside customers.models.sales.
RESTATEMENTS = re.compile(r"""NOT IN \(\s*'cancelled'|status\s*(?:==|!=)\s*["']completed["']|"""
                          r"""\(\s*["']paid["'],\s*["']invoiced["']|NOT_COUNTED""")


def test_no_app_code_restates_the_counted_sale_rule():
    root = Path(__file__).resolve().parents[2]
    offenders = [f"{path.relative_to(root)}:{number}"
                 for app in ("customers", "analytics", "integrations", "tenants", "licensing", "billing", "cdp")
                 for path in (root / app).rglob("*.py") if "migrations" not in path.parts
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if RESTATEMENTS.search(line)]
    assert offenders == []

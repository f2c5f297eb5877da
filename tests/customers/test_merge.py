"""Duplicate suggestions, merge and undo: services for the edge cases, the API for behaviour."""

from __future__ import annotations

import decimal
import json

import pytest
from django.forms.models import model_to_dict
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import (
    Address,
    CreditAccount,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    CustomerMerge,
    DuplicateCandidate,
    Order,
)
from customers.selectors import counted_statuses
from customers.services.duplicates import duplicates_recompute, pair_score
from loyalty.models import LoyaltyAccount, LoyaltyTransaction
from tenants.models import AuditLog
from tests.conftest import api_client, host_client
from tests.customers.factories import (
    AddressFactory,
    CreditAccountFactory,
    CreditUsageFactory,
    CustomerFactory,
    IdentityFactory,
    OrderFactory,
    order_record,
)
from tests.loyalty.factories import loyalty_with_points

ACTOR = Actor.system("tests")


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _profile(**kw):
    base = {"first_name": "", "last_name": "", "phone": "", "postal_codes": [], "document_type": "",
            "document_number": None}
    return {**base, **kw}


# --- Scoring and suggestions --------------------------------------------------------------------

def test_pair_score_likes_typos_and_refuses_different_people():
    lucia = _profile(first_name="Lucía", last_name="Gómez", phone="+5491155550000", postal_codes=["c1414"])
    typo = _profile(first_name="Lucia", last_name="Gomes", phone="+5491155550000", postal_codes=["c1414"])
    spouse = _profile(first_name="Luis", last_name="Gómez", phone="+5491155550000", postal_codes=["c1414"])
    other_doc = {**typo, "document_type": "dni", "document_number": "1"}

    same, reasons = pair_score(lucia, typo)

    assert same > 0.9 and reasons["phone"] == 1.0 and reasons["postal_code"] == 1.0
    assert pair_score(lucia, spouse)[0] == 0
    assert pair_score({**lucia, "document_type": "dni", "document_number": "2"}, other_doc)[0] == 0
    assert pair_score(lucia, _profile(first_name="Lucía", last_name="Gómez"))[0] < 0.6  # a common name alone


def _duplicates_world():
    """A realistic pair (same phone, typo'd name), a same-name pair at one postal code, and
    different people sharing a postal code."""
    a = CustomerFactory(first_name="Lucía", last_name="Gómez", phone="+5491155550000", email="lucia@example.com")
    b = CustomerFactory(first_name="Lucia", last_name="Gomes", phone="+5491155550000", email="lgomes@example.com")
    c = CustomerFactory(first_name="Martín", last_name="Rodríguez", email="m1@example.com")
    d = CustomerFactory(first_name="Martin", last_name="Rodriguez", email="m2@example.com")
    e = CustomerFactory(first_name="Pedro", last_name="Alvarez", email="p@example.com")
    for customer in (c, d, e):
        AddressFactory(customer=customer, postal_code="C1000AAA", is_default=True)
    merged = CustomerFactory(first_name="Lucía", last_name="Gómez", phone="+5491155550000", email="old@example.com",
                             status=Customer.Status.MERGED)
    return a, b, c, d, e, merged


def test_recompute_finds_realistic_pairs_only_and_is_idempotent(world):
    with tenant_context(world.alpha):
        a, b, c, d, _pedro, _merged = _duplicates_world()

        first = duplicates_recompute(actor=ACTOR)
        pairs = {(x.customer_a_id, x.customer_b_id): x for x in DuplicateCandidate.objects.all()}
        duplicates_recompute(actor=ACTOR)
        again = {(x.customer_a_id, x.customer_b_id): (x.pk, x.score) for x in DuplicateCandidate.objects.all()}

    assert set(pairs) == {(a.pk, b.pk), (c.pk, d.pk)}  # not Pedro, not the merged record
    assert pairs[(a.pk, b.pk)].score > pairs[(c.pk, d.pk)].score
    assert pairs[(a.pk, b.pk)].reasons["phone"] == 1.0 and "phone" in pairs[(a.pk, b.pk)].reasons["blocks"]
    assert again == {key: (row.pk, row.score) for key, row in pairs.items()}
    assert first["suggested"] == 2


def test_duplicates_api_lists_by_score_filters_and_dismiss_sticks(world, alpha_api):
    with tenant_context(world.alpha):
        a, *_ = _duplicates_world()
        from customers.tasks import duplicates_recompute_task

        duplicates_recompute_task.apply()  # the per-tenant task calls the service

    listed = alpha_api.get("/api/v1/duplicates/").json()
    assert [r["score"] for r in listed["results"]] == sorted((r["score"] for r in listed["results"]), reverse=True)
    assert listed["count"] == 2 and listed["results"][0]["customer_a"]["id"] == a.pk
    assert alpha_api.get("/api/v1/duplicates/?min_score=0.75").json()["count"] == 1
    weaker = listed["results"][1]["id"]

    dismissed = post(alpha_api, f"/api/v1/duplicates/{weaker}/dismiss/")

    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    with tenant_context(world.alpha):
        duplicates_recompute(actor=ACTOR)
        assert DuplicateCandidate.objects.get(pk=weaker).status == "dismissed"
    assert alpha_api.get("/api/v1/duplicates/?status=pending").json()["count"] == 1
    assert alpha_api.get("/api/v1/duplicates/?status=dismissed").json()["results"][0]["id"] == weaker
    assert post(alpha_api, "/api/v1/duplicates/999999/dismiss/").status_code == 404
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    assert viewer.get("/api/v1/duplicates/").status_code == 200
    assert post(viewer, f"/api/v1/duplicates/{weaker}/dismiss/").status_code == 403


# --- Merge and undo ---------------------------------------------------------------------------------

def _pair(world):
    """Survivor and merged customers with everything that moves."""
    survivor = CustomerFactory(email="ana@example.com", first_name="Ana", last_name="", phone="", city="",
                               document_number=None)
    merged = CustomerFactory(email="ana.old@example.com", first_name="Anna", last_name="Pérez", phone="+5491100001111",
                             city="Rosario", document_type="dni", document_number="28111222")
    for customer, totals in ((survivor, ("100.00", "40.00")), (merged, ("300.00", "60.00"))):
        for total in totals:
            OrderFactory(customer=customer, total_amount=decimal.Decimal(total))
    OrderFactory(customer=merged, total_amount=decimal.Decimal("999.00"), status=Order.Status.CANCELLED)
    IdentityFactory(customer=survivor, source="vtex", external_id="s-1")
    IdentityFactory(customer=merged, source="vtex", external_id="m-1")
    IdentityFactory(customer=merged, source="shopify", external_id="m-2")
    AddressFactory(customer=survivor, is_default=True, postal_code="1000")
    AddressFactory(customer=merged, is_default=True, postal_code="2000")
    AddressFactory(customer=merged, is_default=True, address_type=Address.Type.BILLING, postal_code="2000")
    CustomerChangeLog.objects.create(customer=merged, field="phone", old_value="", new_value="+5491100001111",
                                     source="vtex")
    loyalty_with_points(survivor, 100)
    loyalty_with_points(merged, 70, 30, tier="gold")
    credit = CreditAccountFactory(customer=merged, credit_used=decimal.Decimal("50.00"))
    CreditUsageFactory(account=credit, amount=decimal.Decimal("50.00"))
    from customers.services.sales import customer_aggregates_refresh

    customer_aggregates_refresh(customer_ids=[survivor.pk, merged.pk])
    return survivor, merged


def _state(*customer_ids) -> dict:
    """Every row hanging off these customers (timestamps that auto-update left out)."""
    def rows(queryset, drop=("updated_at", "last_seen_at")):
        return sorted(({k: v for k, v in model_to_dict(obj).items() if k not in drop} | {"id": obj.pk}
                       for obj in queryset), key=lambda r: r["id"])

    accounts = LoyaltyAccount.objects.filter(customer_id__in=customer_ids)
    return {
        "customers": rows(Customer.objects.filter(pk__in=customer_ids)),
        "orders": rows(Order.objects.filter(customer_id__in=customer_ids)),
        "identities": rows(CustomerIdentity.objects.filter(customer_id__in=customer_ids)),
        "addresses": rows(Address.objects.filter(customer_id__in=customer_ids)),
        "loyalty_accounts": rows(accounts),
        "loyalty_transactions": rows(LoyaltyTransaction.objects.filter(account__in=accounts)),
        "credit": rows(CreditAccount.objects.filter(customer_id__in=customer_ids)),
        "logs": rows(CustomerChangeLog.objects.filter(customer_id__in=customer_ids)),
    }


def test_merge_moves_everything_and_aggregates_are_exact(world, alpha_api):
    with tenant_context(world.alpha):
        survivor, merged = _pair(world)
        merged_orders = set(Order.objects.filter(customer=merged).values_list("pk", flat=True))
        DuplicateCandidate.objects.create(customer_a=survivor, customer_b=merged, score=decimal.Decimal("0.8"))

    response = post(alpha_api, f"/api/v1/customers/{survivor.pk}/merge/", {"merged_id": merged.pk, "reason": "dup"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["survivor"] == survivor.pk and body["merged"] == merged.pk and body["undoable"]
    assert body["summary"]["orders"] == 3 and body["summary"]["loyalty"] == "ledger"
    with tenant_context(world.alpha):
        s, m = Customer.objects.get(pk=survivor.pk), Customer.objects.get(pk=merged.pk)
        assert merged_orders <= set(Order.objects.filter(customer=s).values_list("pk", flat=True))
        assert (s.total_orders, s.total_spent, s.avg_order_value) == (4, decimal.Decimal("500.00"),
                                                                     decimal.Decimal("125.00"))
        counted = Order.objects.filter(customer=s, status__in=counted_statuses())
        assert s.first_purchase_at == min(o.order_date for o in counted)
        assert (m.status, m.merged_into_id, m.total_orders, m.total_spent) == ("merged", s.pk, 0, 0)
        # empty fields filled (email kept: the survivor had one), document moved as a pair
        assert (s.email, s.first_name, s.last_name, s.phone, s.city) == ("ana@example.com", "Ana", "Pérez",
                                                                        "+5491100001111", "Rosario")
        assert (s.document_type, s.document_number, m.document_number) == ("dni", "28111222", None)
        assert set(CustomerChangeLog.objects.filter(customer=s, source="merge").values_list("field", flat=True)) >= {
            "last_name", "phone", "city", "document_number", "merge"}
        assert sorted(CustomerIdentity.objects.filter(customer=s).values_list("external_id", flat=True)) == [
            "m-1", "m-2", "s-1"]
        defaults = list(Address.objects.filter(customer=s, is_default=True).values_list("address_type", "postal_code"))
        assert sorted(defaults) == [("billing", "2000"), ("shipping", "1000")]
        assert Address.objects.filter(customer=s).count() == 3
        account = LoyaltyAccount.objects.get(customer=s)
        assert (account.points_balance, account.lifetime_points, account.tier) == (200, 200, "gold")
        assert account.transactions.count() == 3
        assert LoyaltyAccount.objects.get(customer=m).points_balance == 0
        assert CreditAccount.objects.get(customer=s).credit_used == decimal.Decimal("50.00")
        assert CustomerChangeLog.objects.filter(customer=s, field="phone", source="vtex").exists()
        assert DuplicateCandidate.objects.get(customer_a=survivor, customer_b=merged).status == "merged"
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.merge", resource_id=str(survivor.pk)).exists()
    listed = alpha_api.get(f"/api/v1/merges/?survivor={survivor.pk}").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]


def test_reingest_of_merged_identifiers_reaches_the_survivor(world, alpha_api):
    with tenant_context(world.alpha):
        survivor, merged = _pair(world)
    post(alpha_api, f"/api/v1/customers/{survivor.pk}/merge/", {"merged_id": merged.pk})

    result = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        order_record(1, customer={"email": "ana.old@example.com", "external_id": "new-ext"}),
        order_record(2, customer={"email": "nobody@example.com", "external_id": "m-1"})]}).json()

    assert [r["customer_id"] for r in result["results"]] == [survivor.pk, survivor.pk]


def test_undo_restores_every_row_exactly(world, alpha_api):
    with tenant_context(world.alpha):
        survivor, merged = _pair(world)
        before = _state(survivor.pk, merged.pk)
    merge_id = post(alpha_api, f"/api/v1/customers/{survivor.pk}/merge/", {"merged_id": merged.pk}).json()["id"]

    response = post(alpha_api, f"/api/v1/merges/{merge_id}/undo/")

    assert response.status_code == 200 and response.json()["undone_at"] and not response.json()["undoable"]
    with tenant_context(world.alpha):
        after = _state(survivor.pk, merged.pk)
        added_logs = [log for log in after["logs"] if log["id"] not in {x["id"] for x in before["logs"]}]
        after["logs"] = [log for log in after["logs"] if log not in added_logs]
        assert after == before
        assert {log["source"] for log in added_logs} == {"merge"}  # the history of merge and undo stays
    again = post(alpha_api, f"/api/v1/merges/{merge_id}/undo/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "merge_already_undone"
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.merge_undo").count() == 1


def test_merge_error_paths(world, api_key, alpha_api):
    with tenant_context(world.alpha):
        a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
        both = CustomerFactory()
        CreditUsageFactory(account=CreditAccountFactory(customer=both, credit_used=decimal.Decimal("200.00")))
        CreditAccountFactory(customer=c)

    self_merge = post(alpha_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": a.pk})
    missing = post(alpha_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": 99999999})
    invalid = post(alpha_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": "x"})
    credit = post(alpha_api, f"/api/v1/customers/{c.pk}/merge/", {"merged_id": both.pk})
    assert post(alpha_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).status_code == 201
    into_merged = post(alpha_api, f"/api/v1/customers/{b.pk}/merge/", {"merged_id": c.pk})
    merged_again = post(alpha_api, f"/api/v1/customers/{c.pk}/merge/", {"merged_id": b.pk})

    assert self_merge.status_code == 400 and self_merge.json()["error"]["code"] == "merge_self"
    assert missing.status_code == 404 and invalid.status_code == 400
    assert credit.status_code == 409 and credit.json()["error"]["code"] == "merge_credit_conflict"
    assert into_merged.status_code == 409 and into_merged.json()["error"]["code"] == "customer_merged"
    assert merged_again.status_code == 409 and merged_again.json()["error"]["code"] == "customer_merged"
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=c.pk).status == "active" and CustomerMerge.objects.count() == 1


def test_undo_is_blocked_while_the_survivor_is_merged_away(world, alpha_api):
    with tenant_context(world.alpha):
        a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = post(alpha_api, f"/api/v1/customers/{b.pk}/merge/", {"merged_id": a.pk}).json()["id"]
    second = post(alpha_api, f"/api/v1/customers/{c.pk}/merge/", {"merged_id": b.pk}).json()["id"]

    blocked = post(alpha_api, f"/api/v1/merges/{first}/undo/")

    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "merge_undo_blocked"
    assert post(alpha_api, f"/api/v1/merges/{second}/undo/").status_code == 200
    assert post(alpha_api, f"/api/v1/merges/{first}/undo/").status_code == 200


def test_merge_roles_and_tenants(world, api_key, alpha_api):
    with tenant_context(world.alpha):
        a, b = CustomerFactory(), CustomerFactory()
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    analyst = host_client("alpha.localhost", world.user("alpha_analyst"))
    beta_api = api_client("beta.localhost", api_key(world.beta))
    alpha_key_on_beta = api_client("beta.localhost", api_key(world.alpha))

    assert post(viewer, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).status_code == 403
    assert post(analyst, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).status_code == 403
    assert post(beta_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).status_code == 404
    assert post(alpha_key_on_beta, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).status_code == 401
    merge_id = post(alpha_api, f"/api/v1/customers/{a.pk}/merge/", {"merged_id": b.pk}).json()["id"]
    assert viewer.get("/api/v1/merges/").json()["count"] == 1
    assert post(viewer, f"/api/v1/merges/{merge_id}/undo/").status_code == 403
    assert post(beta_api, f"/api/v1/merges/{merge_id}/undo/").status_code == 404
    assert beta_api.get("/api/v1/merges/").json()["count"] == 0
    assert beta_api.get(f"/api/v1/merges/{merge_id}/").status_code == 404


def test_admin_merge_into_and_undo_actions(world, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    with tenant_context(world.alpha):
        a, b = CustomerFactory(), CustomerFactory()
        OrderFactory(customer=b)

    confirm = client.post("/admin/customers/customer/", {"action": "merge_customers_into",
                                                         "_selected_action": [a.pk, b.pk]})
    assert confirm.status_code == 200 and b'name="survivor"' in confirm.content
    done = client.post("/admin/customers/customer/", {"action": "merge_customers_into", "confirm": "yes",
                                                      "survivor": a.pk, "_selected_action": [a.pk, b.pk]},
                       follow=True)
    assert "merged into #" in done.content.decode()
    with tenant_context(world.alpha):
        merge = CustomerMerge.objects.get(survivor=a, merged=b)
        assert Order.objects.filter(customer=a).count() == 1

    undone = client.post("/admin/customers/customermerge/", {"action": "undo_merges", "_selected_action": [merge.pk]},
                         follow=True)

    assert "1 merge(s) undone" in undone.content.decode()
    with tenant_context(world.alpha):
        assert Order.objects.filter(customer=b).count() == 1
        assert CustomerMerge.objects.get(pk=merge.pk).undone_at is not None


def test_unique_identifiers_move_to_an_empty_survivor_and_back_on_undo(world):
    from customers.services.merge import customer_merge, merge_undo

    with tenant_context(world.alpha):
        survivor = CustomerFactory(email=None, first_name="Ana")
        merged = CustomerFactory(email="ana.moved@example.com", first_name="Ana")

        merge = customer_merge(survivor_id=survivor.pk, merged_id=merged.pk, actor=ACTOR)
        moved = Customer.objects.get(pk=survivor.pk).email, Customer.objects.get(pk=merged.pk).email
        merge_undo(merge_id=merge.pk, actor=ACTOR)

        assert moved == ("ana.moved@example.com", None)
        assert Customer.objects.get(pk=survivor.pk).email is None
        assert Customer.objects.get(pk=merged.pk).email == "ana.moved@example.com"
        assert Customer.objects.get(pk=merged.pk).status == "active"

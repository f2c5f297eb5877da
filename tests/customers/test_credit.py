"""B2B credit: the limit boundary, approval states, one usage per order, payments that free
credit, overpayment, overdue flagging, the ``used = sum of open amounts`` invariant, and the API
with its roles and tenant isolation."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import CreditAccount, CreditPayment, CreditUsage
from customers.services import credit as svc
from tests.conftest import api_client
from tests.customers.factories import CreditAccountFactory, CustomerFactory, OrderFactory

ACTOR = Actor.system("tests")


def assert_credit_invariant(account: CreditAccount):
    account.refresh_from_db()
    open_amount = (CreditUsage.objects.filter(account=account, status__in=["open", "overdue"])
                   .aggregate(s=Sum(F("amount") - F("amount_paid")))["s"]) or Decimal(0)
    assert account.credit_used == open_amount
    assert Decimal(0) <= account.credit_used <= account.credit_limit


@pytest.fixture
def alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


def _order(account, amount):
    return OrderFactory(customer=account.customer, total_amount=Decimal(amount))


def test_request_then_approve_with_a_note(alpha):
    from tenants.models import AuditLog

    customer = CustomerFactory(customer_type="b2b")
    account = svc.credit_account_request(customer_id=customer.pk, requested_limit="5000", actor=ACTOR)
    assert account.status == "requested" and account.credit_limit == 0 and account.currency == "ARS"
    with pytest.raises(svc.CreditConflict) as twice:
        svc.credit_account_request(customer_id=customer.pk, requested_limit="1", actor=ACTOR)
    assert twice.value.code == "credit_account_exists"
    with pytest.raises(svc.CreditError) as no_note:
        svc.credit_account_approve(account_id=account.pk, credit_limit="4000", note="", actor=ACTOR)
    assert no_note.value.code == "note_required"
    approved = svc.credit_account_approve(account_id=account.pk, credit_limit="4000", note="good payer", actor=ACTOR)
    assert approved.status == "approved" and approved.credit_limit == Decimal("4000") and approved.approved_at
    assert AuditLog.objects.filter(action="credit.approve", tenant=alpha).exists()


def test_usage_up_to_exactly_the_available_credit_and_not_one_cent_more(alpha):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "600.00").pk, actor=ACTOR)
    exact = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "400.00").pk, actor=ACTOR)
    assert exact.due_date == timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(svc.CreditConflict) as over:
        svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "0.01").pk, actor=ACTOR)
    assert over.value.code == "credit_limit_exceeded" and over.value.http_status == 409
    account.refresh_from_db()
    assert account.credit_used == Decimal("1000.00") and account.credit_available == 0
    assert_credit_invariant(account)


def test_usage_needs_an_approved_account(alpha):
    suspended = CreditAccountFactory()
    svc.credit_account_suspend(account_id=suspended.pk, note="late payments", actor=ACTOR)
    with pytest.raises(svc.CreditConflict) as error:
        svc.credit_usage_record(account_id=suspended.pk, order_id=_order(suspended, "1").pk, actor=ACTOR)
    assert error.value.code == "credit_account_suspended" and error.value.http_status == 409

    requested = CreditAccountFactory(status="requested", credit_limit=Decimal("0"))
    with pytest.raises(svc.CreditConflict) as error:
        svc.credit_usage_record(account_id=requested.pk, order_id=_order(requested, "1").pk, actor=ACTOR)
    assert error.value.code == "credit_account_not_approved"

    svc.credit_account_reinstate(account_id=suspended.pk, note="settled", actor=ACTOR)
    svc.credit_usage_record(account_id=suspended.pk, order_id=_order(suspended, "1").pk, actor=ACTOR)


def test_one_usage_per_order_and_only_the_customers_own_orders(alpha):
    account = CreditAccountFactory()
    order = _order(account, "10")
    svc.credit_usage_record(account_id=account.pk, order_id=order.pk, actor=ACTOR)
    with pytest.raises(svc.CreditConflict) as twice:
        svc.credit_usage_record(account_id=account.pk, order_id=order.pk, actor=ACTOR)
    assert twice.value.code == "credit_usage_exists"
    someone_elses = OrderFactory(total_amount=Decimal("5"))
    with pytest.raises(svc.CreditError) as error:
        svc.credit_usage_record(account_id=account.pk, order_id=someone_elses.pk, actor=ACTOR)
    assert error.value.code == "order_not_found"
    cancelled = OrderFactory(customer=account.customer, status="cancelled")
    with pytest.raises(svc.CreditError):
        svc.credit_usage_record(account_id=account.pk, order_id=cancelled.pk, actor=ACTOR)
    assert_credit_invariant(account)


def test_payments_free_credit_partially_then_fully_oldest_due_first(alpha):
    account = CreditAccountFactory(credit_limit=Decimal("1000"))
    first = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "300").pk, actor=ACTOR)
    second = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "200").pk, actor=ACTOR)
    CreditUsage.objects.filter(pk=first.pk).update(due_date=timezone.localdate() - datetime.timedelta(days=1))

    # a partial payment leaves the usage open
    [partial] = svc.credit_payment_record(account_id=account.pk, amount="100", actor=ACTOR, usage_id=second.pk)
    second.refresh_from_db()
    assert partial.usage_id == second.pk and second.status == "open" and second.amount_paid == Decimal("100")
    assert_credit_invariant(account)
    assert account.credit_used == Decimal("400")

    # an unassigned payment pays the oldest due first, one row per usage
    payments = svc.credit_payment_record(account_id=account.pk, amount="350", actor=ACTOR, reference="TRX-9")
    assert [(p.usage_id, p.amount) for p in payments] == [(first.pk, Decimal("300")), (second.pk, Decimal("50"))]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "paid" and first.paid_at is not None and second.status == "open"
    assert_credit_invariant(account)
    assert account.credit_used == Decimal("50") and account.credit_available == Decimal("950")

    svc.credit_payment_record(account_id=account.pk, amount="50", actor=ACTOR)
    assert_credit_invariant(account)
    assert account.credit_used == 0 and not CreditUsage.objects.filter(account=account).exclude(status="paid").exists()


def test_overpayment_is_refused_and_writes_nothing(alpha):
    account = CreditAccountFactory()
    usage = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "100").pk, actor=ACTOR)
    with pytest.raises(svc.CreditError) as error:
        svc.credit_payment_record(account_id=account.pk, amount="100.01", actor=ACTOR)
    assert error.value.code == "credit_overpayment" and error.value.http_status == 400
    with pytest.raises(svc.CreditError):
        svc.credit_payment_record(account_id=account.pk, amount="100.01", actor=ACTOR, usage_id=usage.pk)
    assert not CreditPayment.objects.filter(account=account).exists()
    assert_credit_invariant(account)
    assert account.credit_used == Decimal("100")


def test_limit_cannot_drop_below_what_is_in_use(alpha):
    account = CreditAccountFactory(credit_limit=Decimal("500"))
    svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "300").pk, actor=ACTOR)
    with pytest.raises(svc.CreditConflict) as error:
        svc.credit_account_approve(account_id=account.pk, credit_limit="299.99", note="lower", actor=ACTOR)
    assert error.value.code == "credit_limit_below_used"
    svc.credit_account_approve(account_id=account.pk, credit_limit="300", note="lower", actor=ACTOR)
    assert_credit_invariant(account)


def test_overdue_usage_is_flagged_after_the_term_through_the_dispatcher(world):
    import customers.tasks  # noqa: F401  (a worker autodiscovers it; here, register it)
    from tenants.tasks import tenants_dispatch_task

    with tenant_context(world.alpha):
        account = CreditAccountFactory(payment_term_days=15)
        late = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "50").pk, actor=ACTOR)
        on_time = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "60").pk, actor=ACTOR)
        paid = svc.credit_usage_record(account_id=account.pk, order_id=_order(account, "70").pk, actor=ACTOR)
        svc.credit_payment_record(account_id=account.pk, amount="70", actor=ACTOR, usage_id=paid.pk)
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        CreditUsage.objects.filter(pk__in=[late.pk, paid.pk]).update(due_date=yesterday)
        assert svc.credit_overdue_flag(today=on_time.due_date) == 1  # the day it is due, it is not late yet
        CreditUsage.objects.filter(pk=late.pk).update(status="open")

    tenants_dispatch_task(task_name="customers.tasks.credit_overdue_flag_task")

    with tenant_context(world.alpha):
        statuses = dict(CreditUsage.objects.filter(account=account).values_list("pk", "status"))
        assert statuses == {late.pk: "overdue", on_time.pk: "open", paid.pk: "paid"}
        # overdue usage is still owed; paying it frees the credit
        svc.credit_payment_record(account_id=account.pk, amount="50", actor=ACTOR, usage_id=late.pk)
        late.refresh_from_db()
        assert late.status == "paid"
        assert_credit_invariant(account)


# --- API -------------------------------------------------------------------------------------------

def post(client, path, data):
    return client.post(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def writer(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))


def test_api_request_approve_use_and_pay(world, writer, alpha_client):
    with tenant_context(world.alpha):
        customer = CustomerFactory(customer_type="b2b")
        orders = [OrderFactory(customer=customer, total_amount=Decimal(v)) for v in ("700", "300", "0.01")]
    assert writer.get(f"/api/v1/customers/{customer.pk}/credit/").status_code == 404
    requested = post(writer, f"/api/v1/customers/{customer.pk}/credit/", {"requested_limit": "1000"})
    assert requested.status_code == 201, requested.content
    account_id = requested.json()["id"]
    not_yet = post(writer, f"/api/v1/credit/{account_id}/usages/", {"order_id": orders[0].pk})
    assert not_yet.status_code == 409 and not_yet.json()["error"]["code"] == "credit_account_not_approved"

    # staff only: writers, analysts and viewers may not approve
    approve_url = f"/api/v1/credit/{account_id}/approve/"
    assert post(writer, approve_url, {"credit_limit": "1000", "note": "x"}).status_code == 403
    for role in ("alpha_viewer", "alpha_analyst"):
        client = alpha_client(world.user(role))
        assert post(client, approve_url, {"credit_limit": "1", "note": "x"}).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    no_note = post(admin, f"/api/v1/credit/{account_id}/approve/", {"credit_limit": "1000"})
    assert no_note.status_code == 400 and "note" in no_note.json()["error"]["fields"]
    approved = post(admin, f"/api/v1/credit/{account_id}/approve/", {"credit_limit": "1000", "note": "ok"})
    assert approved.status_code == 200 and approved.json()["credit_available"] == "1000.00"

    for order in orders[:2]:
        assert post(writer, f"/api/v1/credit/{account_id}/usages/", {"order_id": order.pk}).status_code == 201
    over = post(writer, f"/api/v1/credit/{account_id}/usages/", {"order_id": orders[2].pk})
    assert over.status_code == 409
    assert set(over.json()["error"]) == {"code", "message", "fields"}
    assert over.json()["error"]["code"] == "credit_limit_exceeded"

    usages = writer.get(f"/api/v1/credit/{account_id}/usages/?status=open").json()
    assert usages["count"] == 2 and [u["amount"] for u in usages["results"]] == ["700.00", "300.00"]
    paid = post(writer, f"/api/v1/credit/{account_id}/payments/", {"amount": "800", "reference": "T-1"})
    assert paid.status_code == 201 and [p["amount"] for p in paid.json()] == ["700.00", "100.00"]
    overpaid = post(writer, f"/api/v1/credit/{account_id}/payments/", {"amount": "200.01"})
    assert overpaid.status_code == 400 and overpaid.json()["error"]["code"] == "credit_overpayment"
    payments = writer.get(f"/api/v1/credit/{account_id}/payments/?reference=T-1").json()
    assert payments["count"] == 2
    account = writer.get(f"/api/v1/customers/{customer.pk}/credit/").json()
    assert account["credit_used"] == "200.00" and account["credit_available"] == "800.00"
    assert writer.get("/api/v1/credit/?status=approved").json()["count"] >= 1

    suspended = post(admin, f"/api/v1/credit/{account_id}/suspend/", {"note": "risk review"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    blocked = post(writer, f"/api/v1/credit/{account_id}/usages/", {"order_id": orders[2].pk})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "credit_account_suspended"
    again = post(admin, f"/api/v1/credit/{account_id}/reinstate/", {"note": "cleared"})
    assert again.status_code == 200 and again.json()["status"] == "approved"
    with tenant_context(world.alpha):
        assert_credit_invariant(CreditAccount.objects.get(pk=account_id))


def test_api_reads_need_read_and_writes_need_write(world, api_key):
    with tenant_context(world.alpha):
        account = CreditAccountFactory()
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert reader.get(f"/api/v1/credit/{account.pk}/").status_code == 200
    assert reader.get(f"/api/v1/credit/{account.pk}/usages/").status_code == 200
    assert post(reader, f"/api/v1/credit/{account.pk}/payments/", {"amount": "1"}).status_code == 403
    assert post(reader, f"/api/v1/customers/{account.customer_id}/credit/",
                {"requested_limit": "1"}).status_code == 403


def test_api_credit_is_isolated_between_tenants(world, api_key, writer):
    with tenant_context(world.alpha):
        account = CreditAccountFactory()
        order = _order(account, "10")
    alpha_key_on_beta = api_client("beta.localhost", api_key(world.alpha))
    assert alpha_key_on_beta.get(f"/api/v1/credit/{account.pk}/").status_code in (401, 403)
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/customers/{account.customer_id}/credit/").status_code == 404
    assert post(beta, f"/api/v1/customers/{account.customer_id}/credit/", {"requested_limit": "1"}).status_code == 404
    assert beta.get(f"/api/v1/credit/{account.pk}/usages/").status_code == 404
    assert post(beta, f"/api/v1/credit/{account.pk}/usages/", {"order_id": order.pk}).status_code == 404
    assert post(beta, f"/api/v1/credit/{account.pk}/payments/", {"amount": "1"}).status_code == 404
    with tenant_context(world.beta):
        beta_customer = CustomerFactory()
    # a beta customer's id asked on alpha's host finds nothing either (unless alpha has that id)
    with tenant_context(world.alpha):
        from customers.models import Customer

        alpha_has_it = Customer.objects.filter(pk=beta_customer.pk).exists()
    if not alpha_has_it:
        assert writer.get(f"/api/v1/customers/{beta_customer.pk}/credit/").status_code == 404
    with tenant_context(world.alpha):
        assert not CreditUsage.objects.filter(account=account).exists()


def test_admin_actions_approve_suspend_and_reinstate_through_the_services(world, alpha_client):
    with tenant_context(world.alpha):
        customer = CustomerFactory(customer_type="b2b")
        account = svc.credit_account_request(customer_id=customer.pk, requested_limit="2500", actor=ACTOR)
    client = alpha_client(world.user("alpha_owner"))
    url = "/admin/customers/creditaccount/"
    for action, status in (("approve", "approved"), ("suspend", "suspended"), ("reinstate", "approved")):
        response = client.post(url, {"action": action, "_selected_action": [account.pk]})
        assert response.status_code == 302, response.content[:500]
        with tenant_context(world.alpha):
            account.refresh_from_db()
        assert account.status == status
    assert account.credit_limit == Decimal("2500") and "admin" in account.approval_note
    assert client.get(f"{url}{account.pk}/change/").status_code == 200


# --- rejecting a request ---------------------------------------------------------------------------

def test_only_a_requested_account_is_rejected_with_a_note_and_may_be_requested_again(alpha):
    from tenants.models import AuditLog

    customer = CustomerFactory(customer_type="b2b")
    account = svc.credit_account_request(customer_id=customer.pk, requested_limit="900", actor=ACTOR)
    with pytest.raises(svc.CreditError) as no_note:
        svc.credit_account_reject(account_id=account.pk, note=" ", actor=ACTOR)
    assert no_note.value.code == "note_required"

    rejected = svc.credit_account_reject(account_id=account.pk, note="no references", actor=ACTOR)

    assert rejected.status == "rejected" and rejected.approval_note == "no references"
    entry = AuditLog.objects.get(action="credit.reject", tenant=alpha, resource_id=str(account.pk))
    assert entry.changes == {"customer_id": customer.pk, "note": "no references"}
    with pytest.raises(svc.CreditConflict) as twice:
        svc.credit_account_reject(account_id=account.pk, note="again", actor=ACTOR)
    assert twice.value.code == "credit_account_not_requested"
    again = svc.credit_account_request(customer_id=customer.pk, requested_limit="500", actor=ACTOR)
    assert again.pk == account.pk and again.status == "requested"
    approved = CreditAccountFactory()
    with pytest.raises(svc.CreditConflict) as not_requested:
        svc.credit_account_reject(account_id=approved.pk, note="x", actor=ACTOR)
    assert not_requested.value.code == "credit_account_not_requested"


def test_approval_audits_what_changed_as_old_and_new_values(alpha):
    from tenants.models import AuditLog

    customer = CustomerFactory(customer_type="b2b")
    account = svc.credit_account_request(customer_id=customer.pk, requested_limit="700", actor=ACTOR, note="asked")
    svc.credit_account_approve(account_id=account.pk, credit_limit="600", note="fine", actor=ACTOR)

    entry = AuditLog.objects.get(action="credit.approve", tenant=alpha, resource_id=str(account.pk))
    assert entry.changes == {"customer_id": customer.pk, "status": ["requested", "approved"],
                             "credit_limit": ["0.00", "600"], "approval_note": ["asked", "fine"]}


def test_api_reject_is_for_staff_only(world, writer, alpha_client, api_key):
    with tenant_context(world.alpha):
        customer = CustomerFactory(customer_type="b2b")
        account = svc.credit_account_request(customer_id=customer.pk, requested_limit="300", actor=ACTOR)
    url = f"/api/v1/credit/{account.pk}/reject/"
    # writers, integration keys, analysts and viewers may not decide on credit
    assert post(writer, url, {"note": "x"}).status_code == 403
    connector = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    assert post(connector, url, {"note": "x"}).status_code == 403
    for role in ("alpha_viewer", "alpha_analyst"):
        assert post(alpha_client(world.user(role)), url, {"note": "x"}).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    assert post(admin, url, {}).status_code == 400
    beta_admin = api_client("beta.localhost", api_key(world.beta, scopes=["read", "write", "credit"]))
    assert post(beta_admin, url, {"note": "x"}).status_code == 404

    rejected = post(admin, url, {"note": "no trade references"})

    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    twice = post(admin, url, {"note": "again"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "credit_account_not_requested"


def test_admin_reject_action_goes_through_the_service(world, alpha_client):
    with tenant_context(world.alpha):
        customer = CustomerFactory(customer_type="b2b")
        requested = svc.credit_account_request(customer_id=customer.pk, requested_limit="100", actor=ACTOR)
        approved = CreditAccountFactory()
    client = alpha_client(world.user("alpha_owner"))

    response = client.post("/admin/customers/creditaccount/",
                           {"action": "reject", "_selected_action": [requested.pk, approved.pk]}, follow=True)

    body = response.content.decode()
    assert response.status_code == 200 and "1 request(s) rejected" in body
    assert "Only a requested account can be rejected." in body  # the approved one, reported with its row
    with tenant_context(world.alpha):
        requested.refresh_from_db()
        approved.refresh_from_db()
    assert requested.status == "rejected" and "admin" in requested.approval_note
    assert approved.status == "approved"

"""Community events (issue #15 item 7): published events with a host partner, capacity and
waitlist; members register and cancel (the seat goes to the waitlist); check-in grants points once;
the reminders due; roles, partner keys and tenants."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from loyalty import services
from loyalty.models import EventRegistration, LoyaltyAccount
from tenants.services import api_key_create
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory

ACTOR = Actor.system("tests")


def post(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def event(world):
    with tenant_context(world.alpha):
        host = services.partner_create(actor=ACTOR, values={"name": "Host", "slug": "host"})
        return services.event_create(actor=ACTOR, values={
            "title": "Tasting", "partner_id": host.pk, "capacity": 2, "status": "published", "checkin_points": 25,
            "starts_at": timezone.now() + datetime.timedelta(hours=10), "reminder_hours": 12})


@pytest.fixture
def people(world):
    with tenant_context(world.alpha):
        return [CustomerFactory() for _ in range(3)]


@pytest.fixture
def writer(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))


def test_staff_publish_events_with_the_loyalty_capability(world, alpha_client, api_key, writer):
    body = {"title": "Run club", "capacity": 30, "starts_at": (timezone.now() + datetime.timedelta(days=3)).isoformat(),
            "status": "published"}
    assert post(writer, "/api/v1/loyalty/events/", body).status_code == 403
    assert post(alpha_client(world.user("alpha_analyst")), "/api/v1/loyalty/events/", body).status_code == 403
    admin = alpha_client(world.user("alpha_admin"))
    created = post(admin, "/api/v1/loyalty/events/", body)
    assert created.status_code == 201 and created.json()["status"] == "published"
    bad = post(admin, "/api/v1/loyalty/events/", {**body, "ends_at": timezone.now().isoformat()})
    assert bad.status_code == 400 and "ends_at" in bad.json()["error"]["fields"]
    assert post(admin, "/api/v1/loyalty/events/", {**body, "capacity": 0}).status_code == 400


def test_registration_fills_the_seats_then_the_waitlist_and_a_cancel_promotes(world, event, people, writer):
    url = f"/api/v1/loyalty/events/{event.pk}/"
    statuses = [post(writer, url + "register/", {"customer_id": p.pk}).json()["status"] for p in people]
    assert statuses == ["registered", "registered", "waitlisted"]
    again = post(writer, url + "register/", {"customer_id": people[0].pk})
    assert again.json()["status"] == "registered"  # registering twice keeps the first registration

    cancelled = post(writer, url + "cancel-registration/", {"customer_id": people[0].pk})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    with tenant_context(world.alpha):
        assert EventRegistration.objects.get(event=event, customer=people[2]).status == "registered"
    listed = writer.get(url + "registrations/").json()["results"]
    assert [row["status"] for row in listed] == ["cancelled", "registered", "registered"]
    missing = post(writer, url + "cancel-registration/", {"customer_id": people[0].pk})
    assert missing.status_code == 409 and missing.json()["error"]["code"] == "event_not_registered"


def test_check_in_grants_the_points_once(world, event, people, writer):
    url = f"/api/v1/loyalty/events/{event.pk}/"
    post(writer, url + "register/", {"customer_id": people[0].pk})
    first = post(writer, url + "check-in/", {"customer_id": people[0].pk})
    second = post(writer, url + "check-in/", {"customer_id": people[0].pk})
    assert first.status_code == second.status_code == 200 and first.json()["status"] == "attended"
    with tenant_context(world.alpha):
        assert LoyaltyAccount.objects.get(customer=people[0]).points_balance == 25
    stranger = post(writer, url + "check-in/", {"customer_id": people[1].pk})
    assert stranger.status_code == 409


def test_closed_events_refuse_registrations(world, event, people, writer):
    with tenant_context(world.alpha):
        services.event_update(event_id=event.pk, actor=ACTOR, values={"status": "draft"})
    answer = post(writer, f"/api/v1/loyalty/events/{event.pk}/register/", {"customer_id": people[0].pk})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "event_closed"
    reader = api_client("alpha.localhost", api_key_create(tenant=world.alpha, name="r", scopes=["read"],
                                                          actor=ACTOR).key)
    assert post(reader, f"/api/v1/loyalty/events/{event.pk}/register/",
                {"customer_id": people[0].pk}).status_code == 403


def test_reminders_due_lists_registered_members_of_events_starting_soon(world, event, people, writer):
    with tenant_context(world.alpha):
        later = services.event_create(actor=ACTOR, values={
            "title": "Later", "capacity": 5, "status": "published", "reminder_hours": 12,
            "starts_at": timezone.now() + datetime.timedelta(days=5)})
    for target in (event, later):
        post(writer, f"/api/v1/loyalty/events/{target.pk}/register/", {"customer_id": people[0].pk})
    due = writer.get("/api/v1/loyalty/events/reminders-due/").json()["results"]
    assert [(row["event"], row["customer"]) for row in due] == [(event.pk, people[0].pk)]


def test_a_partner_key_reaches_its_partner_s_events_only(world, event, people):
    with tenant_context(world.alpha):
        other = services.partner_create(actor=ACTOR, values={"name": "Other", "slug": "other"})
        foreign = services.event_create(actor=ACTOR, values={
            "title": "Elsewhere", "partner_id": other.pk, "capacity": 5, "status": "published",
            "starts_at": timezone.now() + datetime.timedelta(days=1)})
        issued = api_key_create(tenant=world.alpha, name="host till", scopes=["read", "write"], actor=ACTOR)
        services.partner_key_bind(partner_id=event.partner_id, api_key_id=issued.api_key.pk, actor=ACTOR,
                                  tenant=world.alpha)
    key = api_client("alpha.localhost", issued.key)
    assert [row["id"] for row in key.get("/api/v1/loyalty/events/").json()["results"]] == [event.pk]
    assert post(key, f"/api/v1/loyalty/events/{foreign.pk}/register/", {"customer_id": people[0].pk}).status_code \
        == 404
    assert post(key, f"/api/v1/loyalty/events/{event.pk}/register/", {"customer_id": people[0].pk}).status_code \
        == 200


def test_events_are_isolated_between_tenants(world, event, api_key):
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/loyalty/events/{event.pk}/").status_code == 404

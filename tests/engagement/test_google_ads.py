"""Google Ads Customer Match (issue #16): a segment's consented members pushed through offline
user data jobs (create, addOperations with normalized SHA-256 identifiers, run) to a local fake
speaking the REST wire format, with partial failure, rate limits and refusals."""

from __future__ import annotations

import hashlib
import json

import pytest
from celery.exceptions import Retry
from django_tenants.utils import tenant_context

from analytics import registry as analytics_registry
from engagement.channels.base import PermanentError, TransientError
from engagement.models import AudienceDestination
from engagement.services.audience_google import normalized_email, normalized_phone, user_identifiers
from engagement.services.audiences import audience_destination_create, audience_members_push
from engagement.tasks import audience_members_task
from tests.analytics.factories import SegmentFactory
from tests.conftest import api_client
from tests.engagement import factories
from tests.engagement.fakes import GOOGLE_CUSTOMER_ID, FakeGoogleAds
from tests.integrations.fakes import Reply

USER_LIST = f"customers/{GOOGLE_CUSTOMER_ID}/userLists/4455667788"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def identifiers(email: str, phone: str) -> frozenset:
    return frozenset({(("hashedEmail", sha(email)),), (("hashedPhoneNumber", sha(phone)),)})


def test_normalization_follows_google():
    assert normalized_email("  John.Doe+Promo@GMail.com ") == "johndoe+promo@gmail.com"
    assert normalized_email("Ana.Perez@Example.com") == "ana.perez@example.com"
    assert normalized_phone("+54 9 11 5555-0123") == "+5491155550123"
    assert normalized_phone("123") == ""


def test_segment_changes_add_and_remove_people_at_the_user_list(in_alpha, google_ads, actor):
    # given a Google destination and a consented and a silent person entering the segment
    segment = SegmentFactory()
    destination = audience_destination_create(platform="google", audience_id="4455667788", segment_id=segment.pk,
                                              actor=actor)
    ana = factories.person(consent=("email",), email="Ana.Perez@Example.com", phone="+54 9 11 5555-0123")
    silent = factories.person(consent=())

    analytics_registry.bus.publish([("segment.entered", {"segment_id": segment.pk, "segment_name": segment.name,
                                                         "customer_ids": [ana.pk, silent.pk]})])

    # then one job was created for the list with consent declared, filled and run: Ana is a member
    create = google_ads.hits("offlineUserDataJobs:create")[0]
    job = create.json()["job"]
    assert job["type"] == "CUSTOMER_MATCH_USER_LIST"
    assert job["customerMatchUserListMetadata"] == {
        "userList": USER_LIST, "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}}
    assert create.headers["developer-token"] and create.headers["authorization"].startswith("Bearer ")
    operations = google_ads.hits(":addOperations")[0].json()
    assert operations["enablePartialFailure"] is True and len(operations["operations"]) == 1
    assert len(google_ads.hits(":run")) == 1
    assert google_ads.members[USER_LIST] == {identifiers("ana.perez@example.com", "+5491155550123")}

    # when she leaves the segment, a remove job takes her out
    analytics_registry.bus.publish([("segment.left", {"segment_id": segment.pk, "segment_name": segment.name,
                                                      "customer_ids": [ana.pk]})])
    assert google_ads.members[USER_LIST] == set()
    destination.refresh_from_db()
    assert (destination.sent_count, destination.removed_count, destination.invalid_count) == (1, 1, 0)
    assert destination.last_job.startswith(f"customers/{GOOGLE_CUSTOMER_ID}/offlineUserDataJobs/")


def test_partial_failure_counts_the_rejected_rows(in_alpha, google_ads, actor, monkeypatch):
    # given three people, one of whose identifiers comes out malformed
    segment = SegmentFactory()
    destination = audience_destination_create(platform="google", audience_id="4455667788", segment_id=segment.pk,
                                              actor=actor)
    people = [factories.person(consent=("email",), email=f"p{n}@example.com", phone="") for n in range(3)]
    real = user_identifiers

    def one_bad(customer):
        found = real(customer)
        return [{"hashedEmail": "not-a-digest"}] if customer.pk == people[1].pk else found

    monkeypatch.setattr("engagement.services.audience_google.user_identifiers", one_bad)

    # when they are pushed
    outcome = audience_members_push(destination_id=destination.pk, customer_ids=[p.pk for p in people])

    # then the job ran with the two good ones; the bad one is counted invalid, not an error
    assert outcome["received"] == 2 and outcome["invalid"] == 1
    assert len(google_ads.members[USER_LIST]) == 2
    destination.refresh_from_db()
    assert (destination.sent_count, destination.invalid_count, destination.last_error) == (2, 1, "")


def test_rate_limit_is_retried_after_the_delay_google_asks(in_alpha, google_ads, actor):
    segment = SegmentFactory()
    destination = audience_destination_create(platform="google", audience_id="4455667788", segment_id=segment.pk,
                                              actor=actor)
    person = factories.person(consent=("email",))
    google_ads.script(":addOperations", FakeGoogleAds.failure(
        429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"}, "Too many requests.", retry_delay="42s"))

    with pytest.raises(TransientError) as raised:
        audience_members_push(destination_id=destination.pk, customer_ids=[person.pk])
    assert raised.value.retry_after == 42.0
    destination.refresh_from_db()
    assert "RESOURCE_EXHAUSTED" in destination.last_error and destination.sent_count == 0
    assert google_ads.members[USER_LIST] == set()  # the half-filled job was never run

    # the task asks Celery to retry no sooner than Google asked
    google_ads.script(":addOperations", Reply(503, {"error": {"code": 503, "message": "unavailable",
                                                              "status": "UNAVAILABLE"}}, headers={"Retry-After": "90"}))
    with pytest.raises(Retry) as retried:
        audience_members_task.apply(kwargs={"destination_id": destination.pk, "customer_ids": [person.pk]},
                                    throw=True)
    assert retried.value.when == 90 or "90" in str(retried.value)

    # and a later push succeeds with a fresh job
    assert audience_members_push(destination_id=destination.pk, customer_ids=[person.pk])["received"] == 1
    assert len(google_ads.members[USER_LIST]) == 1


def test_refusals_are_permanent_and_recorded(in_alpha, google_ads, settings, actor):
    segment = SegmentFactory()
    destination = audience_destination_create(platform="google", audience_id="4455667788", segment_id=segment.pk,
                                              actor=actor)
    person = factories.person(consent=("email",))
    settings.ENGAGEMENT_GOOGLE_ADS_ACCESS_TOKEN = "expired"
    with pytest.raises(PermanentError):
        audience_members_push(destination_id=destination.pk, customer_ids=[person.pk])
    destination.refresh_from_db()
    assert "OAUTH_TOKEN_INVALID" in destination.last_error or "UNAUTHENTICATED" in destination.last_error
    # the task does not retry what cannot succeed
    outcome = audience_members_task.apply(kwargs={"destination_id": destination.pk, "customer_ids": [person.pk]},
                                          throw=True).get()
    assert outcome["failed"] is True


def test_api_creates_a_google_destination(world, api_key):
    with tenant_context(world.alpha):
        segment = SegmentFactory()
    client = api_client("alpha.localhost", api_key(world.alpha))
    body = {"platform": "google", "audience_id": "4455667788", "segment": segment.pk}
    created = client.post("/api/v1/engagement/destinations/", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201 and created.json()["platform"] == "google"
    again = client.post("/api/v1/engagement/destinations/", data=json.dumps(body), content_type="application/json")
    assert again.status_code == 400
    unknown = client.post("/api/v1/engagement/destinations/", data=json.dumps({**body, "platform": "tiktok"}),
                          content_type="application/json")
    assert unknown.status_code == 400 and "platform" in json.dumps(unknown.json())
    with tenant_context(world.alpha):
        assert AudienceDestination.objects.filter(platform="google").count() == 1

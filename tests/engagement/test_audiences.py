"""Audience destinations: a segment's consented members at a Meta Custom Audience fake,
normalized and SHA-256 hashed, added and removed as segment events arrive."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from analytics import registry as analytics_registry
from analytics.models import SegmentMembership
from engagement.models import AudienceDestination
from engagement.channels.base import ChannelError
from engagement.services.audiences import audience_destination_create, audience_members_push, normalized_phone
from tests.analytics.factories import SegmentFactory
from tests.conftest import api_client, host_client
from tests.engagement import factories


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_segment_changes_add_and_remove_people_at_the_audience(in_alpha, meta, actor):
    segment = SegmentFactory()
    destination = audience_destination_create(audience_id="23851234567890123", segment_id=segment.pk, actor=actor)
    ana = factories.person(consent=("email",), email="ana@example.com", phone="+54 9 11 5555-0123")
    silent = factories.person(consent=())

    analytics_registry.bus.publish([("segment.entered", {"segment_id": segment.pk, "segment_name": segment.name,
                                                         "customer_ids": [ana.pk, silent.pk]})])
    members = meta.members["23851234567890123"]
    assert members == {(sha("ana@example.com"), sha("5491155550123"))}  # the person without consent is left out
    request = meta.hits("/users", "POST")[0]
    assert json.loads(request.form()["payload"])["schema"] == ["EMAIL", "PHONE"]

    analytics_registry.bus.publish([("segment.left", {"segment_id": segment.pk, "segment_name": segment.name,
                                                      "customer_ids": [ana.pk]})])
    assert meta.members["23851234567890123"] == set()
    destination.refresh_from_db()
    assert (destination.sent_count, destination.removed_count, destination.invalid_count) == (1, 1, 0)
    assert destination.last_synced_at and destination.last_error == ""


def test_full_sync_through_the_api_and_roles(world, api_key, meta, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        segment = SegmentFactory()
        people = [factories.person(consent=("sms",)), factories.person(consent=())]
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer=p, added_at=timezone.now()) for p in people])
    client = api_client("alpha.localhost", api_key(world.alpha))
    body = {"audience_id": "777", "segment": segment.pk}
    viewer = host_client("alpha.localhost", world.user("alpha_analyst"))
    assert viewer.post("/api/v1/engagement/destinations/", data=json.dumps(body),
                       content_type="application/json").status_code == 403
    assert client.post("/api/v1/engagement/destinations/", data=json.dumps({**body, "audience_id": "x1"}),
                       content_type="application/json").status_code == 400
    created = client.post("/api/v1/engagement/destinations/", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    url = f"/api/v1/engagement/destinations/{created.json()['id']}/sync/"
    assert viewer.post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 202
    assert len(meta.members["777"]) == 1
    detail = client.get(f"/api/v1/engagement/destinations/{created.json()['id']}/").json()
    assert detail["sent_count"] == 1 and detail["removed_count"] == 1  # the other member is removed
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/engagement/destinations/{created.json()['id']}/").status_code == 404


def test_meta_error_is_recorded(in_alpha, meta, settings, actor):
    settings.ENGAGEMENT_META_ACCESS_TOKEN = "expired"
    segment = SegmentFactory()
    destination = audience_destination_create(audience_id="1", segment_id=segment.pk, actor=actor)
    person = factories.person(consent=("email",))
    with pytest.raises(ChannelError):
        audience_members_push(destination_id=destination.pk, customer_ids=[person.pk])
    assert "190" in AudienceDestination.objects.get(pk=destination.pk).last_error


def test_phone_normalization():
    assert normalized_phone("+54 9 (11) 5555-0123") == "5491155550123"
    assert normalized_phone("") == ""

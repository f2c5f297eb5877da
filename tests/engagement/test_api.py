"""The engagement API: templates, campaigns to a segment (preview, send, counts), notification
lists; who may do what; another tenant's ids; erasure."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from analytics.models import SegmentMembership
from customers.services.privacy import customer_pseudonymize
from engagement.models import Campaign, MessageTemplate, Notification
from engagement.services.campaigns import campaign_create, campaign_fan_out
from engagement.services.notifications import notification_enqueue, notification_send
from tenants.models import AuditLog
from tests.analytics.factories import SegmentFactory
from tests.conftest import api_client, host_client
from tests.engagement import factories


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


@pytest.fixture
def audience(world):
    """A segment of three people: two granted e-mail marketing, one did not."""
    with tenant_context(world.alpha):
        segment = SegmentFactory()
        people = [factories.person(consent=("email",)), factories.person(consent=("email",)),
                  factories.person(consent=())]
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer=p, added_at=timezone.now()) for p in people])
    return segment, people


CAMPAIGN = {"name": "Win-back", "channel": "email",
            "template": {"subject": "{{ first_name }}, te extrañamos", "body": "Volvé, {{ first_name }}."}}


def test_campaign_to_a_segment_end_to_end(world, alpha_api, audience, smtp, django_capture_on_commit_callbacks):
    segment, people = audience
    # create (inline template) and preview
    response = post(alpha_api, "/api/v1/campaigns/", {**CAMPAIGN, "segment": segment.pk})
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert campaign["status"] == "draft" and campaign["segment"] == segment.pk
    preview = alpha_api.get(f"/api/v1/campaigns/{campaign['id']}/preview/").json()
    assert preview == {"audience": 3, "consented": 2, "suppressed": 1}

    # send: 202 at once, the worker fans out and sends (eager in tests, after the commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(alpha_api, f"/api/v1/campaigns/{campaign['id']}/send/")
    assert response.status_code == 202 and response.json()["status"] == "sending"
    detail = alpha_api.get(f"/api/v1/campaigns/{campaign['id']}/").json()
    assert detail["status"] == "sent" and detail["audience_size"] == 3
    assert detail["counts"] == {"queued": 0, "sent": 2, "delivered": 0, "read": 0, "failed": 0, "suppressed": 1}
    assert sorted(m["To"] for m in smtp.messages) == sorted(p.email for p in people[:2])

    # a second send is refused; a redelivered fan-out adds nobody
    response = post(alpha_api, f"/api/v1/campaigns/{campaign['id']}/send/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "campaign_not_draft"
    with tenant_context(world.alpha):
        Campaign.objects.filter(pk=campaign["id"]).update(status="sending")
        assert campaign_fan_out(campaign_id=campaign["id"]) == {"members": 3, "queued": 0}
        assert Notification.objects.filter(campaign_id=campaign["id"]).count() == 3
    assert len(smtp.messages) == 2

    # the notification list filters by campaign and status
    listed = alpha_api.get("/api/v1/engagement/notifications/", {"campaign": campaign["id"], "status": "suppressed"})
    assert listed.status_code == 200 and [n["customer"] for n in listed.json()["results"]] == [people[2].pk]
    assert AuditLog.objects.filter(tenant=world.alpha, action="campaign.send").count() == 1


def test_templates_versions_validation_and_preview(world, alpha_api, audience):
    body = {"name": "tier", "channel": "email", "subject": "Nivel {{ tier }}", "body": "Hola {{ first_name }}"}
    first = post(alpha_api, "/api/v1/engagement/templates/", body)
    second = post(alpha_api, "/api/v1/engagement/templates/", {**body, "body": "Hola de nuevo {{ first_name }}"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)

    bad = post(alpha_api, "/api/v1/engagement/templates/", {**body, "body": "{{ password }}"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "template_variable_unknown"
    assert "body" in bad.json()["error"]["fields"]
    no_subject = post(alpha_api, "/api/v1/engagement/templates/", {**body, "subject": ""})
    assert no_subject.status_code == 400 and "subject" in no_subject.json()["error"]["fields"]
    whatsapp = post(alpha_api, "/api/v1/engagement/templates/", {**body, "channel": "whatsapp"})
    assert whatsapp.status_code == 400 and "whatsapp_template" in whatsapp.json()["error"]["fields"]

    person = audience[1][0]
    preview = post(alpha_api, f"/api/v1/engagement/templates/{second.json()['id']}/preview/",
                   {"customer": person.pk, "context": {"tier": "gold"}})
    assert preview.status_code == 200 and preview.json() == {"subject": "Nivel gold",
                                                               "body": f"Hola de nuevo {person.first_name}"}
    missing = post(alpha_api, f"/api/v1/engagement/templates/{second.json()['id']}/preview/", {"customer": 10**12})
    assert missing.status_code == 404


def test_campaign_input_errors(world, alpha_api, audience):
    segment = audience[0]
    for body, field in (({**CAMPAIGN, "segment": segment.pk, "template_id": 1}, "template"),
                        ({"name": "x", "segment": segment.pk, "template": CAMPAIGN["template"]}, "channel"),
                        ({**CAMPAIGN, "segment": "abc"}, "segment")):
        response = post(alpha_api, "/api/v1/campaigns/", body)
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.content
    assert post(alpha_api, "/api/v1/campaigns/", {**CAMPAIGN, "segment": 10**12}).status_code == 404


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_lower_roles_read_but_cannot_create_or_send(world, audience, role, actor):
    segment = audience[0]
    with tenant_context(world.alpha):
        template = factories.template("email")
        campaign = campaign_create(name="c", segment_id=segment.pk, template_id=template.pk, actor=actor)
    client = host_client("alpha.localhost", world.user(f"alpha_{role}"))
    assert client.get("/api/v1/campaigns/").status_code == 200
    assert client.get("/api/v1/engagement/notifications/").status_code == 200
    assert post(client, "/api/v1/campaigns/", {**CAMPAIGN, "segment": segment.pk}).status_code == 403
    assert post(client, f"/api/v1/campaigns/{campaign.pk}/send/").status_code == 403
    assert post(client, "/api/v1/engagement/templates/",
                {"name": "n", "channel": "sms", "body": "hola"}).status_code == 403
    with tenant_context(world.alpha):
        assert Campaign.objects.get(pk=campaign.pk).status == "draft"
        assert not MessageTemplate.objects.filter(name="n").exists()


def test_admin_role_may_send_and_read_only_key_may_not(world, api_key, audience, actor):
    with tenant_context(world.alpha):
        template = factories.template("email")
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=("read",)))
    assert post(reader, "/api/v1/campaigns/", {"name": "x", "segment": audience[0].pk,
                                                "template_id": template.pk}).status_code == 403
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    assert post(admin, "/api/v1/campaigns/", {"name": "x", "segment": audience[0].pk,
                                               "template_id": template.pk}).status_code == 201


def test_other_tenants_ids_are_404(world, api_key, audience, actor):
    with tenant_context(world.alpha):
        template = factories.template("email")
        campaign = campaign_create(name="c", segment_id=audience[0].pk, template_id=template.pk, actor=actor)
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert post(beta, f"/api/v1/campaigns/{campaign.pk}/send/").status_code == 404
    assert beta.get(f"/api/v1/engagement/templates/{template.pk}/").status_code == 404
    assert beta.get("/api/v1/campaigns/", {"ordering": "password"}).status_code == 400


def test_erasure_scrubs_the_persons_notifications(world, smtp, actor):
    with tenant_context(world.alpha):
        person, template = factories.person(consent=("email",)), factories.template("email")
        sent, _ = notification_enqueue(customer_id=person.pk, template_id=template.pk, trigger="t", key="1",
                                       context={"voucher_code": "ANA-2024"})
        notification_send(notification_id=sent.pk)
        queued, _ = notification_enqueue(customer_id=person.pk, template_id=template.pk, trigger="t", key="2")
        customer_pseudonymize(customer_id=person.pk, actor=actor, reason="request 7")
        for row in Notification.objects.filter(customer=person):
            assert (row.recipient, row.subject, row.body, row.context) == ("", "", "", {})
        assert Notification.objects.get(pk=queued.pk).status == "suppressed"
        assert Notification.objects.get(pk=sent.pk).status == "sent"  # results stay true

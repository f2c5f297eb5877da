"""Triggers: bus events become notifications through the tenant's rules, once per occasion."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from analytics import registry as analytics_registry
from customers import registry as customers_registry
from engagement.models import Notification, TriggerRule
from engagement.services.triggers import trigger_rule_create
from tests.analytics.factories import SegmentFactory
from tests.conftest import api_client, host_client
from tests.engagement import factories


def test_segment_entered_sends_once_even_when_the_event_is_redelivered(in_alpha, smtp, actor):
    segment = SegmentFactory()
    template = factories.template("email")
    rule = trigger_rule_create(event="segment.entered", template_id=template.pk, segment_id=segment.pk, actor=actor)
    consenting, silent = factories.person(consent=("email",)), factories.person(consent=())
    event = ("segment.entered", {"segment_id": segment.pk, "segment_name": segment.name,
                                 "customer_ids": [consenting.pk, silent.pk]})
    other_segment = ("segment.entered", {"segment_id": segment.pk + 1, "segment_name": "x",
                                         "customer_ids": [consenting.pk]})

    analytics_registry.bus.publish([event, other_segment])
    analytics_registry.bus.publish([event])  # the same event again

    rows = Notification.objects.filter(trigger=f"rule:{rule.pk}")
    assert sorted((r.customer_id, r.status) for r in rows) == sorted([(consenting.pk, "sent"),
                                                                      (silent.pk, "suppressed")])
    assert [m["To"] for m in smtp.messages] == [consenting.email]


def test_churn_worsened_and_welcome(in_alpha, smtp, actor):
    winback = factories.template("email", name="winback")
    welcome = factories.template("email", name="welcome", purpose="transactional")
    trigger_rule_create(event="churn.worsened", template_id=winback.pk, actor=actor)
    trigger_rule_create(event="customer.created", template_id=welcome.pk, actor=actor)
    worse, better = factories.person(consent=("email",)), factories.person(consent=("email",))

    analytics_registry.bus.publish([("churn.band_changed", {"changes": [
        {"customer_id": worse.pk, "old": "active", "new": "at_risk"},
        {"customer_id": better.pk, "old": "churning", "new": "active"}]})])
    customers_registry.publish([("customer.created", {"customer_id": better.pk, "source": "api"})] * 2)

    assert list(Notification.objects.filter(template=winback).values_list("customer_id", flat=True)) == [worse.pk]
    assert list(Notification.objects.filter(template=welcome).values_list("customer_id", flat=True)) == [better.pk]
    assert len(smtp.messages) == 2


def test_no_rule_no_task(in_alpha, smtp, monkeypatch):
    calls = []
    monkeypatch.setattr("engagement.services.triggers.enqueue", lambda *a, **k: calls.append(a))
    customers_registry.publish([("customer.created", {"customer_id": 1, "source": "api"})])
    assert calls == []


def test_rules_api_roles_and_validation(world, api_key):
    with tenant_context(world.alpha):
        template = factories.template("email")
    body = {"event": "customer.created", "template": template.pk}
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    response = viewer.post("/api/v1/engagement/triggers/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    client = api_client("alpha.localhost", api_key(world.alpha))
    bad = client.post("/api/v1/engagement/triggers/", data=json.dumps({**body, "event": "segment.entered"}),
                      content_type="application/json")
    assert bad.status_code == 400 and "segment" in bad.json()["error"]["fields"]
    ok = client.post("/api/v1/engagement/triggers/", data=json.dumps(body), content_type="application/json")
    assert ok.status_code == 201 and viewer.get("/api/v1/engagement/triggers/").json()["count"] == 1
    with tenant_context(world.alpha):
        assert TriggerRule.objects.count() == 1

"""Click tracking (opt-in) and campaign results with attributed revenue (issue #16)."""

from __future__ import annotations

import datetime
import json
import re
from urllib.parse import urlsplit

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from analytics.models import SegmentMembership
from customers.services.consent import consent_unsubscribe, unsubscribe_token
from engagement.models import Notification
from engagement.services.campaigns import campaign_create, campaign_send
from engagement.services.settings import engagement_settings_update
from engagement.services.tracking import click_token
from tests.analytics.factories import SegmentFactory
from tests.conftest import api_client, host_client
from tests.customers.factories import OrderFactory
from tests.engagement import factories

BODY = "Hola {{ first_name }}: mirá https://shop.example.com/sale?utm=cdp. Baja: {{ unsubscribe_url }}"


def tracked_campaign(world, actor, people, *, track: bool):
    segment = SegmentFactory()
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment=segment, customer=p, added_at=timezone.now()) for p in people])
    engagement_settings_update(actor=actor, track_clicks=track, attribution_days=7)
    template = factories.template("email", name="sale", body=BODY)
    return campaign_create(name="Sale", segment_id=segment.pk, template_id=template.pk, actor=actor)


def test_clicks_are_counted_and_redirect_only_where_the_message_pointed(
        world, smtp, actor, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        ana = factories.person(consent=("email",), email="click@example.com")
        campaign = tracked_campaign(world, actor, [ana], track=True)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_send(campaign_id=campaign.pk, actor=actor)
        notification = Notification.objects.get(campaign=campaign)
    body = smtp.messages[0].get_payload(decode=True).decode()
    # the shop link is tracked; the unsubscribe link is left as it is
    tracked = re.search(r"https://alpha\.localhost(/engagement/c/[^/\s]+/)", body).group(1)
    assert "shop.example.com" not in body and "/customers/unsubscribe/" in body

    reader = Client(HTTP_HOST="alpha.localhost")
    response = reader.get(tracked)
    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/sale?utm=cdp"
    reader.get(tracked)
    with tenant_context(world.alpha):
        notification.refresh_from_db()
        assert notification.click_count == 2 and notification.clicked_at is not None
        forged = click_token(notification.pk, "https://evil.example.com/")
    assert reader.get(tracked.replace(tracked.split("/")[3], tracked.split("/")[3][:-2] + "xx")).status_code == 404
    assert Client(HTTP_HOST="beta.localhost").get(tracked).status_code == 404  # another tenant's link
    # a token signed for another schema is refused even when well-formed
    assert Client(HTTP_HOST="beta.localhost").get(f"/engagement/c/{forged}/").status_code == 404


def test_without_opt_in_links_are_left_alone(world, smtp, actor, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        ana = factories.person(consent=("email",), email="noclick@example.com")
        campaign = tracked_campaign(world, actor, [ana], track=False)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_send(campaign_id=campaign.pk, actor=actor)
    assert "https://shop.example.com/sale?utm=cdp" in smtp.messages[0].get_payload(decode=True).decode()


def test_results_count_clicks_unsubscribes_and_attributed_revenue(
        world, smtp, actor, api_key, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        buyer, leaver, silent = (factories.person(consent=("email",), email=f"r{n}@example.com") for n in range(3))
        campaign = tracked_campaign(world, actor, [buyer, leaver, silent], track=True)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_send(campaign_id=campaign.pk, actor=actor)
        now = timezone.now()
        # the buyer orders twice within the window, once after it, and once before the message
        OrderFactory(customer=buyer, order_date=now + datetime.timedelta(days=1), total_amount="150.00")
        OrderFactory(customer=buyer, order_date=now + datetime.timedelta(days=3), total_amount="50.00")
        OrderFactory(customer=buyer, order_date=now + datetime.timedelta(days=9), total_amount="999.00")
        OrderFactory(customer=buyer, order_date=now - datetime.timedelta(days=1), total_amount="777.00")
        OrderFactory(customer=buyer, order_date=now + datetime.timedelta(days=2), total_amount="10.00",
                     status="cancelled")
        # someone outside the campaign buys too
        OrderFactory(order_date=now + datetime.timedelta(days=1), total_amount="500.00")
        consent_unsubscribe(token=unsubscribe_token(customer_id=leaver.pk, channel="email"), ip_address="203.0.113.2")
    body = smtp.messages[0].get_payload(decode=True).decode()
    Client(HTTP_HOST="alpha.localhost").get(urlsplit(re.search(r"https://alpha\.localhost/engagement/c/\S+/",
                                                               body).group(0)).path)

    client = api_client("alpha.localhost", api_key(world.alpha))
    results = client.get(f"/api/v1/campaigns/{campaign.pk}/results/").json()
    assert results["sent"] == 3 and results["clicked"] == 1 and results["unsubscribed"] == 1
    assert results["attribution_days"] == 7
    assert results["revenue"] == [{"currency": "ARS", "orders": 2, "amount": "200.00"}]
    wider = client.get(f"/api/v1/campaigns/{campaign.pk}/results/", {"days": 10}).json()
    assert wider["revenue"] == [{"currency": "ARS", "orders": 3, "amount": "1199.00"}]
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/results/", {"days": 0}).status_code == 400
    # readers may see results; another tenant may not
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    assert viewer.get(f"/api/v1/campaigns/{campaign.pk}/results/").status_code == 200
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/campaigns/{campaign.pk}/results/").status_code == 404
    assert json.dumps(results)  # JSON all the way

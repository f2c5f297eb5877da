"""Engagement's portal pages (issue #16): campaigns with their results, destinations; members
only, each tenant its own."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from tests.analytics.factories import SegmentFactory
from tests.engagement.factories import CampaignFactory


def test_campaign_pages_for_members_only(world, alpha_client, beta_client):
    with tenant_context(world.alpha):
        campaign = CampaignFactory(segment_id=SegmentFactory().pk, name="Día del padre")
    viewer = alpha_client(world.user("alpha_viewer"))
    listing = viewer.get("/engagement/campaigns/")
    assert listing.status_code == 200 and "Día del padre" in listing.content.decode()
    results = viewer.get(f"/engagement/campaigns/{campaign.pk}/")
    assert results.status_code == 200 and b"<meter" in results.content
    assert viewer.get("/engagement/destinations/").status_code == 200
    # signed out: to the sign-in page; another tenant's id: 404
    assert alpha_client(None).get("/engagement/campaigns/").status_code == 302
    assert beta_client(world.user("beta_owner")).get(f"/engagement/campaigns/{campaign.pk}/").status_code == 404

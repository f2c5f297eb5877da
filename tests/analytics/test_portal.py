"""The analytics portal pages and the Customer 360's scores section."""

import datetime

from django_tenants.utils import tenant_context


AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


def test_customer_360_page_shows_the_scores_with_their_template(world, alpha_client, scored_alpha):
    target = scored_alpha[0]
    with tenant_context(world.alpha):
        rfm = target.analytics_rfm
    page = alpha_client(world.user("alpha_viewer")).get(f"/customers/{target.pk}/").content.decode()
    assert 'id="scores-h"' in page and f"RFM {rfm.rfm_score}" in page


def test_portal_dashboard_and_pages_render_with_drill_down_links(world, alpha_client, scored_alpha):
    viewer = alpha_client(world.user("alpha_viewer"))
    page = viewer.get("/analytics/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "/customers/?rfm_segment=" in html and "Run analytics now" not in html
    analyst = alpha_client(world.user("alpha_analyst"))
    assert "Run analytics now" in analyst.get("/analytics/").content.decode()
    assert viewer.post("/analytics/run/").status_code == 403
    quality = viewer.get("/analytics/data-quality/").content.decode()
    assert "Data-health score" in quality and f"/customers/{scored_alpha[0].pk}/" in quality
    created = analyst.post("/analytics/segments/", {"name": "Portal seg", "description": "", "is_active": "on",
                                                     "g0-r0-field": "country", "g0-r0-operator": "eq",
                                                     "g0-r0-value": "AR"})
    assert created.status_code == 302
    detail = analyst.get(created["Location"])
    # the export link is for holders of ``export`` (admins, owners): tests/security/test_exports.py
    assert detail.status_code == 200 and "Export CSV" not in detail.content.decode()
    assert "Export CSV" in alpha_client(world.user("alpha_admin")).get(created["Location"]).content.decode()
    bad = analyst.post("/analytics/segments/", {"name": "Bad", "g0-r0-field": "country", "g0-r0-operator": "gt"})
    assert bad.status_code == 400 and "choose how to compare" in bad.content.decode()
    assert alpha_client(world.user("outsider")).get("/analytics/").status_code == 403

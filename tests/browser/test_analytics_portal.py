"""The analytics dashboard in a real browser (read-only: the live server sees committed data)."""

import pytest

from tests.browser.test_portal import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_analyst_reaches_the_analytics_dashboard_from_the_nav(page, live_url):
    base = live_url("alpha.localhost")
    sign_in(page, base, "analyst@alpha.test")
    page.wait_for_url(f"{base}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.wait_for_url(f"{base}/analytics/")
    assert page.get_by_role("heading", name="Analytics", exact=True).is_visible()
    for name in ("Trends", "RFM segments", "Customer lifetime value", "Churn risk", "Runs"):
        assert page.get_by_role("heading", name=name).is_visible()
    assert page.get_by_role("button", name="Run analytics now").is_visible()
    page.get_by_role("link", name="Data quality").click()
    page.wait_for_url(f"{base}/analytics/data-quality/")
    assert page.get_by_role("heading", name="Data quality").is_visible()

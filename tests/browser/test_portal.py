import pytest

from tests.conftest import PASSWORD

# django_db: makes pytest-django create the test database (the server thread reads the
# committed session world through its own connection).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def sign_in(page, base: str, email: str):
    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_member_signs_in_and_sees_the_dashboard(page, live_url):
    base = live_url("alpha.localhost")
    sign_in(page, base, "owner@alpha.test")
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert "Alpha Store" in page.title()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").is_visible()
    page.screenshot(path="/tmp/cdp-dashboard.png", full_page=True)
    # the stylesheet is served locally (no CDN)
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"


def test_member_of_another_tenant_is_refused_in_the_browser(page, live_url):
    base = live_url("beta.localhost")
    sign_in(page, base, "owner@alpha.test")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("alert").is_visible()

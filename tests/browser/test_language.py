"""The header's language selector, in a real browser: Spanish, then Brazilian Portuguese."""

import pytest

from tests.browser.test_portal import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def choose(page, label: str):
    with page.expect_navigation():
        page.get_by_label("Language").or_(page.get_by_label("Idioma")).select_option(label=label)


def test_a_member_switches_the_portal_to_spanish_and_to_portuguese(page, live_url):
    base = live_url("alpha.localhost")
    sign_in(page, base, "analyst@alpha.test")
    page.wait_for_url(f"{base}/")
    page.set_viewport_size({"width": 1366, "height": 800})
    try:
        choose(page, "Español")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.get_by_role("heading", name="Panel").is_visible()
        page.get_by_role("navigation", name="Principal").get_by_role("link", name="Clientes").click()
        page.wait_for_url(f"{base}/customers/")
        assert page.get_by_role("heading", name="Clientes").is_visible()
        assert page.get_by_role("button", name="Buscar").is_visible()

        choose(page, "Português (Brasil)")
        assert page.locator("html").get_attribute("lang") == "pt-BR"
        assert page.get_by_role("heading", name="Clientes").is_visible()
        assert page.get_by_role("button", name="Sair").is_visible()
        page.goto(f"{base}/members/")
        assert page.get_by_role("heading", name="Membros").is_visible()
        page.screenshot(path="/tmp/cdp-members-pt-br.png", full_page=True)
    finally:
        # the live server's world is committed: give the person the organization's language back
        page.goto(f"{base}/")
        with page.expect_navigation():
            page.locator("#language-select").select_option(value="")
    assert page.locator("html").get_attribute("lang") == "en"

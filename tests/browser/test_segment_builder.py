"""The visual segment builder in Chromium, in Spanish and in Brazilian Portuguese: rows, value
lists, groups, the live count, and the saved segment read back as a sentence. And the header at
a laptop's 1366 px and a phone's 414 px.

The live server commits what the browser creates: the segments made here are deleted after."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context
from safedelete import HARD_DELETE

from tests.browser.test_billing_portal import _committed
from tests.browser.test_portal import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WORDS = {
    "es": {"field": "Total gastado", "band": "Banda de abandono", "at_risk": "En riesgo", "add": "Agregar una condición",
           "group": "Agregar un grupo", "create": "Crear", "match": r"\d+ clientes? coincid",
           "sentence": "Total gastado es al menos 100 y Banda de abandono es En riesgo", "heading": "Segmentos"},
    "pt-br": {"field": "Total gasto", "band": "Faixa de churn", "at_risk": "Em risco", "add": "Adicionar uma condição",
              "group": "Adicionar um grupo", "create": "Criar", "match": r"\d+ clientes? correspond",
              "sentence": "Total gasto é pelo menos 100 e Faixa de churn é Em risco", "heading": "Segmentos"},
}


@pytest.fixture
def segments_cleanup(_world):
    yield

    def cleanup():
        from analytics.models import Segment
        from tenants.models import AuditLog

        with tenant_context(_world.alpha):
            # all_objects and a hard delete: segments are soft-deleted (restorable) otherwise, and a
            # deleted one still shows under "Recently deleted" on the segments page
            made = Segment.all_objects.filter(name__startswith="Navegador")
            ids = [str(pk) for pk in made.values_list("id", flat=True)]
            made.delete(force_policy=HARD_DELETE)
        AuditLog.objects.filter(tenant=_world.alpha, resource_type="segment", resource_id__in=ids).delete()

    _committed(cleanup)


def _in_language(page, base: str, language: str):
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_an_analyst_builds_a_segment_with_the_visual_builder(page, live_url, segments_cleanup, language):
    words = WORDS[language]
    base = live_url("alpha.localhost")
    sign_in(page, base, "analyst@alpha.test")
    page.wait_for_url(f"{base}/")
    _in_language(page, base, language)
    page.goto(f"{base}/analytics/segments/")
    assert page.locator("html").get_attribute("lang").lower() == language
    assert page.get_by_role("heading", name=words["heading"], exact=True).is_visible()
    form = page.locator("#segment-builder")
    form.locator("input[name=name]").fill(f"Navegador {language}")

    # a number: field, comparison, value; the count follows as the rows change
    form.locator("select[name='g0-r0-field']").select_option(label=words["field"])
    form.locator("select[name='g0-r0-operator']").select_option(value="gte")
    form.locator("input[name='g0-r0-value']").fill("100")
    page.wait_for_function("document.querySelector('[data-count]').textContent.trim().length > 0")
    assert re.search(words["match"], form.locator("[data-count]").inner_text())

    # a field with choices: its values are a list, in the reader's language
    form.get_by_role("button", name=words["add"]).click()
    form.locator("select[name='g0-r1-field']").select_option(label=words["band"])
    value = form.locator("select[name='g0-r1-value']")
    assert value.locator("option", has_text=words["at_risk"]).count() == 1
    value.select_option(label=words["at_risk"])
    page.wait_for_function("document.querySelector('[data-sentence]').textContent.includes(%r)" % words["at_risk"])
    assert form.locator("[data-sentence]").inner_text() == words["sentence"]

    # a second group comes and goes in place
    form.get_by_role("button", name=words["group"]).click()
    assert form.locator("fieldset[data-group]").count() == 2
    form.locator("fieldset[data-group]").nth(1).locator("[data-remove-row]").click()
    assert form.locator("fieldset[data-group]").count() == 1

    with page.expect_navigation():
        form.get_by_role("button", name=words["create"], exact=True).click()
    assert page.get_by_role("heading", name=f"Navegador {language}").is_visible()
    assert page.locator("[data-rules-sentence]").inner_text() == words["sentence"]
    page.screenshot(path=f"/tmp/cdp-segment-{language}.png", full_page=True)


@pytest.mark.parametrize("width", [1366, 414])
def test_the_header_fits_a_laptop_and_a_phone(page, live_url, width):
    base = live_url("alpha.localhost")
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, base, "owner@alpha.test")
    page.wait_for_url(f"{base}/")
    for language in ("en", "es", "pt-br"):
        _in_language(page, base, language)
        page.goto(f"{base}/")
        # nothing sticks out sideways (no horizontal scrolling on a phone)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        nav = page.get_by_role("navigation").first
        links = nav.get_by_role("link")
        boxes = [links.nth(i).bounding_box() for i in range(links.count())]
        assert all(box and box["x"] >= 0 and box["x"] + box["width"] <= width for box in boxes)
        if width == 1366:  # on a laptop the whole header is one row: brand, tabs, language, sign out
            assert len({round(box["y"]) for box in boxes}) == 1, (language, boxes)
            tops = page.evaluate("""[...document.querySelectorAll('.topbar > *')].map(e => e.getBoundingClientRect())
                                     .map(r => Math.round(r.top + r.height / 2))""")
            assert max(tops) - min(tops) < 12, (language, tops)
        assert page.locator("nav a[aria-current=page]").count() == 1  # the current tab
        page.screenshot(path=f"/tmp/cdp-header-{width}-{language}.png")

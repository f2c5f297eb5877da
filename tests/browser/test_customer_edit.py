"""An admin edits a customer's profile in Chromium, in Spanish and in Portuguese: the form in the
reader's language, a refused value shown on its field, the saved change on the profile."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.browser.test_billing_portal import _committed
from tests.browser.test_portal import sign_in
from tests.browser.test_segment_builder import _in_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WORDS = {"es": {"edit": "Editar perfil", "save": "Guardar", "saved": "Cliente guardado."},
         "pt-br": {"edit": "Editar perfil", "save": "Salvar", "saved": "Cliente salvo."}}


@pytest.fixture
def committed_customer(_world):
    from customers.models import Customer, CustomerChangeLog
    from tenants.models import AuditLog

    state = {}

    def create():
        with tenant_context(_world.alpha):
            state["id"] = Customer.objects.create(first_name="Navegador", last_name="Prueba", city="Rosario",
                                                  country="AR", email="navegador.prueba@example.com").pk

    def delete():
        with tenant_context(_world.alpha):
            CustomerChangeLog.objects.filter(customer_id=state["id"]).delete()
            Customer.objects.filter(pk=state["id"]).delete()
        AuditLog.objects.filter(tenant=_world.alpha, resource_type="customer", resource_id=str(state["id"])).delete()

    _committed(create)
    yield state
    _committed(delete)


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_an_admin_edits_a_customer(page, live_url, committed_customer, language):
    words = WORDS[language]
    base = live_url("alpha.localhost")
    sign_in(page, base, "admin@alpha.test")
    page.wait_for_url(f"{base}/")
    _in_language(page, base, language)
    page.goto(f"{base}/customers/{committed_customer['id']}/")
    page.get_by_role("link", name=words["edit"]).click()
    page.wait_for_url(f"{base}/customers/{committed_customer['id']}/edit/")
    assert page.locator("html").get_attribute("lang").lower() == language
    page.locator("input[name=email]").fill("not an email")
    page.locator("input[name=city]").fill("Córdoba")
    page.get_by_role("button", name=words["save"]).click()
    page.locator(".errorlist").first.wait_for(state="visible")  # the refusal, on the e-mail field (after the post)
    page.locator("input[name=email]").fill("navegador.prueba@example.com")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(f"{base}/customers/{committed_customer['id']}/")
    assert page.get_by_text(words["saved"]).is_visible()
    assert page.get_by_text("Córdoba").first.is_visible()

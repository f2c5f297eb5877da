"""Seed 003's reports (issue #21 item 11): geographic distribution, change analysis and the
data-update rate, through the API and the portal (charts), with the capability they need."""

from __future__ import annotations

import decimal

import pytest
from django_tenants.utils import tenant_context

from customers.models import Customer, CustomerChangeLog
from customers.services import customer_update
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def people(world, actor):
    with tenant_context(world.alpha):
        CustomerFactory(country="AR", state="Buenos Aires", city="La Plata", total_spent=decimal.Decimal("100"),
                        total_orders=1, phone="+541144445555")
        CustomerFactory(country="AR", state="Buenos Aires", city="CABA", total_spent=decimal.Decimal("50"),
                        total_orders=2)
        CustomerFactory(country="AR", state="Córdoba", city="Córdoba", phone="", email=None)
        CustomerFactory(country="BR", state="SP", city="São Paulo", total_spent=decimal.Decimal("900"),
                        total_orders=3)
        merged = CustomerFactory(country="CL", status=Customer.Status.MERGED)
        edited = CustomerFactory(country="UY")
        customer_update(customer_id=edited.pk, data={"first_name": "Nuevo", "city": "Montevideo"}, actor=actor)
        CustomerChangeLog.objects.create(customer=edited, field="order.status", old_value="a", new_value="b",
                                         source="vtex")
        return {"merged": merged, "edited": edited}


@pytest.fixture
def analyst_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "analytics"]))


def test_geography_by_country_state_and_city(people, analyst_api):
    by_country = analyst_api.get("/api/v1/analytics/reports/geography/").json()
    by_state = analyst_api.get("/api/v1/analytics/reports/geography/?level=state&country=ar").json()
    by_city = analyst_api.get("/api/v1/analytics/reports/geography/?level=city&country=AR").json()

    assert by_country["total_customers"] == 5  # the merged one counts in its survivor
    assert by_country["rows"][0] == {"country": "AR", "customers": 3, "buyers": 2, "revenue": "150.00"}
    assert {row["country"] for row in by_country["rows"]} == {"AR", "BR", "UY"}
    assert by_state["rows"][0] == {"country": "AR", "state": "Buenos Aires", "customers": 2, "buyers": 2,
                                   "revenue": "150.00"}
    assert len(by_city["rows"]) == 3


def test_change_analysis_and_update_rate(people, analyst_api):
    changes = analyst_api.get("/api/v1/analytics/reports/changes/?days=7").json()
    rate = analyst_api.get("/api/v1/analytics/reports/update-rate/?days=7").json()

    assert {row["field"] for row in changes["fields"]} == {"first_name", "city"}  # order.* left out
    assert changes["sources"] == [{"source": "manual", "changes": 2}]
    assert len(changes["per_day"]) == 7 and changes["per_day"][-1]["changes"] == 2 and changes["total"] == 2
    assert (rate["customers"], rate["updated"], rate["added"]) == (5, 1, 5)
    assert rate["update_rate"] == 0.2
    filled = {row["field"]: row["filled"] for row in rate["completeness"]}
    assert (filled["phone"], filled["email"], filled["country"]) == (1, 4, 5)


def test_bad_parameters_are_field_errors(people, analyst_api):
    for url in ("/api/v1/analytics/reports/geography/?level=planet",
                "/api/v1/analytics/reports/geography/?country=Argentina",
                "/api/v1/analytics/reports/changes/?days=0", "/api/v1/analytics/reports/update-rate/?days=x"):
        response = analyst_api.get(url)
        assert response.status_code == 400 and response.json()["error"]["fields"], url


def test_reports_need_the_analytics_capability(world, api_key, alpha_client):
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    viewer = alpha_client(world.user("alpha_viewer"))
    for url in ("/api/v1/analytics/reports/geography/", "/api/v1/analytics/reports/changes/",
                "/api/v1/analytics/reports/update-rate/"):
        assert reader.get(url).status_code == 403
        assert viewer.get(url).status_code == 403
    assert viewer.get("/analytics/reports/").status_code == 403
    assert alpha_client(world.user("alpha_analyst")).get("/api/v1/analytics/reports/changes/").status_code == 200


@pytest.mark.parametrize("language", ["en", "es", "pt-br"])
def test_portal_page_with_charts_translated(world, alpha_client, people, language):
    analyst = world.user("alpha_analyst")
    analyst.language = language
    analyst.save(update_fields=["language"])
    client = alpha_client(analyst)
    page = client.get("/analytics/reports/?level=state&country=AR&days=14")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") >= 5 and "Buenos Aires" in html
    title = {"en": "Geographic distribution", "es": "Distribución geográfica", "pt-br": "Distribuição geográfica"}
    assert title[language] in html
    bad = client.get("/analytics/reports/?days=9999")
    assert bad.status_code == 200


def test_reports_of_another_tenant_are_empty(world, api_key, people):
    beta = api_client("beta.localhost", api_key(world.beta, scopes=["read", "analytics"]))
    assert beta.get("/api/v1/analytics/reports/geography/").json()["total_customers"] == 0

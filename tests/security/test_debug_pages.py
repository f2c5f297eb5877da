"""Issue #12 item 10: debug pages only when a developer asks; the product's own 404 and 500; inputs
that used to raise unhandled errors answer 4xx."""

import importlib
import json

import pytest
from django.test import RequestFactory
from django.urls import get_resolver

from cdp.ids import MAX_ID, parse_id
from cdp.views import server_error
from tests.conftest import api_client


@pytest.fixture
def local_settings(monkeypatch):
    """``cdp.settings.local`` (what manage.py, wsgi and ``serve`` default to) as it would load."""
    def load(**env):
        monkeypatch.delenv("CDP_DEBUG", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        import cdp.settings.local as module

        return importlib.reload(module)

    return load


def test_the_default_settings_show_no_debug_pages(local_settings):
    assert local_settings().DEBUG is False


def test_a_developer_turns_debug_pages_on_explicitly(local_settings):
    assert local_settings(CDP_DEBUG="1").DEBUG is True


@pytest.mark.parametrize("urlconf", ["cdp.urls.public", "cdp.urls.tenant"])
def test_both_hosts_render_the_products_own_error_pages(urlconf):
    resolver = get_resolver(urlconf)
    assert resolver.resolve_error_handler(404).__name__ == "not_found"
    assert resolver.resolve_error_handler(500).__name__ == "server_error"


def test_the_500_page_is_the_products_own_and_names_nothing_internal():
    response = server_error(RequestFactory().get("/customers/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "Traceback" not in body and "settings" not in body.lower()


def test_an_api_500_keeps_the_api_error_shape():
    response = server_error(RequestFactory().get("/api/v1/customers/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


@pytest.mark.parametrize("value, expected", [
    ("42", 42), (42, 42), ("²", None), ("٣", None), ("-1", None), ("0", None), ("4 2", None),
    (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("9" * 40, None), (True, None), (None, None), ("", None),
])
def test_ids_are_ascii_digits_within_bigint(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("path", ["/api/v1/customers/%C2%B2/", f"/api/v1/customers/{MAX_ID + 1}/"])
def test_a_customer_id_that_cannot_exist_is_not_found(world, api_key, path):
    response = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"])).get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("rule", [
    {"field": "days_since_last_purchase", "operator": "gt", "value": 10**12},
    {"field": "days_since_last_purchase", "operator": "between", "value": [1, 10**6]},
    {"field": "total_orders", "operator": "eq", "value": 2**70},
    {"field": "total_orders", "operator": "in", "value": [1, -(2**64)]},
    {"field": "total_spent", "operator": "gt", "value": "1e400"},
    {"field": "total_spent", "operator": "gt", "value": "NaN"},
    {"field": "clv_total", "operator": "lt", "value": "-Infinity"},
])
def test_out_of_range_rule_values_are_a_field_error_not_a_crash(world, api_key, rule):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "analytics"]))
    response = client.post("/api/v1/analytics/segments/", {"name": "huge", "rules": {"op": "and", "rules": [rule]}},
                           content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_rules"

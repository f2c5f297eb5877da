"""The OpenAPI document is valid, and property-based fuzzing of the API finds no 5xx."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import Client
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings

from tests.conftest import OperationPicker, api_client, fuzz_config, openapi_operations, tenant_api_operations


@pytest.fixture
def tenant_schema_dict(world):
    response = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_served_operation_is_fuzzed(tenant_schema_dict):
    assert sorted(tenant_api_operations()) == sorted(openapi_operations(tenant_schema_dict))


def test_openapi_schema_is_valid_and_documents_the_api(tenant_schema_dict):
    validate_schema(tenant_schema_dict)  # raises on an invalid OpenAPI 3 document
    paths = tenant_schema_dict["paths"]
    assert "/api/v1/tenant/" in paths and "/api/v1/api-keys/" in paths
    assert "ApiKeyAuth" in tenant_schema_dict["components"]["securitySchemes"]


def test_operations_are_tagged_by_area_with_a_summary_each(tenant_schema_dict):
    from cdp.api.openapi import AREAS

    areas = [tag for tag, _summary, _segments in AREAS]
    tags = {tag["name"]: tag["description"] for tag in tenant_schema_dict["tags"]}
    assert set(tags) >= {"Orders", "Customers", "Analytics", "Integrations", "Account", "Billing"}
    assert all(tags[name] for name in areas if name in tags)
    for path, item in tenant_schema_dict["paths"].items():
        for method, operation in item.items():
            assert len(operation["tags"]) == 1 and operation["tags"][0] != "v1", (method, path)


def test_every_operation_documents_its_errors_in_the_one_error_shape(tenant_schema_dict):
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in tenant_schema_dict["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            wanted = {"401", "403", "429"} | ({"404"} if "{" in path else set()) | (
                {"400", "409"} if method in ("post", "put", "patch") else set())
            assert wanted <= set(responses), (method, path, sorted(responses))
            for status in ("401", "429"):  # views document some 4xx of their own; these two none do
                content = responses[status]["content"]["application/json"]
                assert content["schema"] == error and content["example"]["error"]["code"], (method, path, status)


def test_choice_sets_have_readable_names(tenant_schema_dict):
    names = [name for name in tenant_schema_dict["components"]["schemas"] if name.endswith("Enum")]
    assert not [name for name in names if any(ch.isdigit() for ch in name)]  # no StatusF6eEnum
    assert {"OrderStatusEnum", "CustomerStatusEnum", "BillingOrderStatusEnum"} <= set(names)


def test_the_documented_order_example_is_accepted_as_it_stands(tenant_schema_dict, world, api_key):
    body = tenant_schema_dict["paths"]["/api/v1/orders/ingest/"]["post"]["requestBody"]["content"]["application/json"]
    example = body["examples"]["vtex_order"]["value"]
    order = tenant_schema_dict["components"]["schemas"]["OrderRecordDocRequest"]["properties"]
    assert {"customer", "items", "order_number", "payment_status", "shipping_method"} <= set(order)
    assert "address" in tenant_schema_dict["components"]["schemas"]["CustomerRecordDocRequest"]["properties"]

    response = api_client("alpha.localhost", api_key(world.alpha)).post(
        "/api/v1/orders/ingest/", example, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "created", response.json()


def test_public_host_serves_its_own_schema_and_docs(world):
    client = Client(HTTP_HOST="localhost")
    schema = json.loads(client.get("/api/schema/?format=json").content)
    validate_schema(schema)
    assert "/api/v1/tenant/" not in schema["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_api_docs_are_served_offline_on_tenant_hosts(world):
    docs = Client(HTTP_HOST="alpha.localhost").get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content


@pytest.fixture
def wsgi_app(world):
    """The real WSGI app, inside the test's transaction (like Django's test client, the
    per-request connection recycling is paused so the rollback still covers the requests)."""
    from django.core.wsgi import get_wsgi_application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


OPERATIONS = tenant_api_operations()


@pytest.fixture(params=OPERATIONS, ids=[f"{method} {path}" for method, path in OPERATIONS])
def tenant_schema(request, served_tenant_schema):
    """One operation of the served document: one pytest test per operation, which xdist workers
    share; each operation is fuzzed exactly as when one test went through them all."""
    pick.current = request.param
    return served_tenant_schema


pick = OperationPicker()
schema = schemathesis.pytest.from_fixture("tenant_schema").include(pick)


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzzed_requests_never_cause_a_server_error(case, world, wsgi_app, api_key):
    key = api_key(world.alpha, scopes=["read", "write", "keys"])
    # Each example runs in a savepoint that is rolled back: a server error that aborts the
    # database transaction is reported for its own operation instead of failing every later one.
    with transaction.atomic():
        response = case.call(app=wsgi_app, base_url="http://alpha.localhost",
                             headers={"Authorization": f"Api-Key {key}"})
        transaction.set_rollback(True)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body["error"]) == {"code", "message", "fields"}


@pytest.fixture
def public_schema(world):
    """What the platform host documents (license validation, its public key, gateway callbacks):
    every operation there is reachable without signing in, so every one is fuzzed."""
    response = Client(HTTP_HOST="localhost").get("/api/schema/?format=json")
    connection.set_schema_to_public()
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content), config=fuzz_config())


public = schemathesis.pytest.from_fixture("public_schema")


@public.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzzed_public_requests_never_cause_a_server_error(case, world, wsgi_app):
    with transaction.atomic():
        response = case.call(app=wsgi_app, base_url="http://localhost")
        transaction.set_rollback(True)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"


def test_the_public_host_documents_what_it_serves(world):
    schema = json.loads(Client(HTTP_HOST="localhost").get("/api/schema/?format=json").content)
    assert {"/api/v1/licenses/validate", "/api/v1/licenses/public-key/",
            "/api/v1/billing/callbacks/{gateway}/"} <= set(schema["paths"])


def test_error_shapes_for_unknown_paths_and_malformed_json(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "keys"]))
    missing = client.get("/api/v1/nope/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    broken = client.post("/api/v1/api-keys/", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "parse_error"

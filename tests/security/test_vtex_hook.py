"""The inbound VTEX hook (review S6, and C8's hook part): its secret is compared without leaking
its length, calls are throttled per integration and client address, and a tenant that is not
active gets the API's answer (403 ``tenant_inactive``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tests.integrations import conftest as integration_fixtures
from tests.integrations.conftest import make_vtex_integration

# The integration suite's fixtures (fakes, fast HTTP settings, fresh Redis slots), used here too.
_fast_http = integration_fixtures._fast_http
_fresh_outbound_slots = integration_fixtures._fresh_outbound_slots
_no_outbound_in_requests = integration_fixtures._no_outbound_in_requests
_no_plan_quota = integration_fixtures._no_plan_quota
vtex = integration_fixtures.vtex

SECRET = "hook-secret-alpha-0001"
NOTE = {"OrderId": "1172452900001-01", "State": "handling"}


def post(integration_id, body=NOTE, secret=SECRET, ip="203.0.113.7"):
    client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR=ip)
    return client.post(f"/api/v1/hooks/vtex/{integration_id}/", body, content_type="application/json",
                       HTTP_X_CDP_HOOK_SECRET=secret)


@pytest.fixture
def integration(world, vtex, actor):
    with tenant_context(world.alpha):
        return make_vtex_integration(vtex, actor)


def test_a_suspended_tenants_hook_is_refused_like_its_api(world, integration, vtex):
    from tenants.models import Tenant

    Tenant.objects.filter(pk=world.alpha.pk).update(status="suspended")

    answer = post(integration.pk)

    assert answer.status_code == 403, answer.content
    assert answer.json()["error"]["code"] == "tenant_inactive"
    assert not vtex.requests


def test_the_secret_comparison_does_not_depend_on_its_length(world, integration, monkeypatch):
    from integrations.services import hooks

    compared = []
    real = hooks.hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hooks.hmac, "compare_digest", spy)

    for guess in ("", "x", "hook-secret", SECRET + "-and-more", SECRET):
        post(integration.pk, secret=guess)
    post(999999, secret="x")  # unknown integration: the same work

    # every comparison is between two digests of one length, whatever was sent
    assert compared and all(a == b == 32 for a, b in compared)


def test_the_hook_is_throttled_per_integration_and_address(world, integration, vtex, actor, settings):
    settings.INTEGRATIONS_VTEX_HOOK_RATE = "3/min"

    answers = [post(integration.pk, secret="wrong").status_code for _ in range(3)]
    throttled = post(integration.pk)  # even with the right secret: the budget is spent

    assert answers == [403, 403, 403]
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert throttled.headers["Retry-After"]
    # another address, or another integration, has its own budget
    assert post(integration.pk, body={"hookConfig": "ping"}, ip="198.51.100.9").status_code == 200
    with tenant_context(world.alpha):
        from integrations.services import integration_create

        other = integration_create(integration_type="vtex", account_name="other", base_url=vtex.url, actor=actor,
                                   credentials={"app_key": "k-0001", "app_token": "t-0001",
                                                "hook_secret": SECRET})
    assert post(other.pk, body={"hookConfig": "ping"}).status_code == 200

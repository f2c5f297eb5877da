"""Helpers shared by the security tests (the session-wide world is in tests/conftest.py)."""

from __future__ import annotations

import itertools
import json

import pytest
from django.test import Client

from cdp import registry as cdp_registry
from cdp.context import Actor
from tests.conftest import PASSWORD

SYSTEM = Actor.system("tests")
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_plan_quota():
    """Plan quotas are licensing's to test; here they would only couple the suites."""
    with cdp_registry.quota_guards_disabled():
        yield


def post_json(client, url, body=None, method="post"):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


def admin_customer_form(client, customer_id: int, **changes) -> dict:
    """The tenant admin's change form of a customer as a browser would post it, with ``changes``."""
    page = client.get(f"/admin/customers/customer/{customer_id}/change/")
    assert page.status_code == 200, page.status_code
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if name in ("tags",):
            value = ",".join(value or [])
        elif name == "metadata":
            value = json.dumps(value or {})
        elif name == "marketing_consent":
            if not value:
                continue
            value = "on"
        data[name] = "" if value is None else value
    for prefix in ("identities", "addresses", "orders", "change_logs"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


@pytest.fixture
def person(world):
    """``person(tenant, role)``: a new user who is a member of ``tenant`` with ``role``."""
    from tenants.services import membership_set, user_create

    def make(tenant, role="viewer", *, email=None, **extra):
        user = user_create(email=email or f"sec{next(_seq)}@{tenant.slug}.test", password=PASSWORD, actor=SYSTEM,
                           **extra)
        membership_set(user=user, tenant=tenant, role=role, actor=SYSTEM)
        return user

    return make


def actor_of(user) -> Actor:
    return Actor(label=user.email, user_id=user.pk)


def key_actor(api_key) -> Actor:
    return Actor(label=f"api-key:{api_key.prefix}", api_key_id=api_key.pk)


def sign_in(host: str, username: str, password: str = PASSWORD, *, path="/accounts/login/", ip="127.0.0.1",
            client: Client | None = None):
    """A real sign-in through the form (not ``force_login``): returns the client and the response."""
    client = client or Client(HTTP_HOST=host, REMOTE_ADDR=ip)
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def suspend(world):
    """``suspend(tenant, reason)``: the tenant is suspended for this test (rolled back after)."""
    from tenants.services import tenant_update

    def run(tenant, reason="Invoice 2026-11 unpaid", status="suspended"):
        return tenant_update(tenant=tenant, actor=SYSTEM, status=status, status_reason=reason)

    return run

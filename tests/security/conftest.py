"""Helpers shared by the security tests (erasure, admin history, invalid values)."""

from __future__ import annotations

import json

import pytest

from cdp.context import Actor


@pytest.fixture
def actor():
    return Actor.system("tests")


@pytest.fixture(autouse=True)
def _no_plan_quota():
    """Plan quotas are licensing's to test; here they would only couple the suites."""
    from cdp import registry as cdp_registry

    saved = list(cdp_registry._quota_guards)
    cdp_registry._quota_guards.clear()
    yield
    cdp_registry._quota_guards[:] = saved


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

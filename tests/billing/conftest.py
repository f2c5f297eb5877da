from __future__ import annotations

import json

import pytest
from django.test import Client

from cdp.context import Actor
from licensing import store
from tests.conftest import two_factor_pass

ACTOR = Actor.system("tests")


@pytest.fixture(autouse=True)
def _clean_licensing_redis():
    """Licenses issued by checkouts touch the licensing cache (not rolled back with the test)."""
    store.clear_all()
    yield
    store.clear_all()


class Api:
    def __init__(self, host: str, user=None, **extra):
        self.client = Client(HTTP_HOST=host, **extra)
        if user is not None:
            self.client.force_login(user)
            if user.is_staff or user.is_superuser:
                two_factor_pass(self.client, user)  # operators always pass two-factor sign-in

    def get(self, path, **params):
        return self.client.get(f"/api/v1/billing/{path}", params)

    def post(self, path, payload=None):
        return self.client.post(f"/api/v1/billing/{path}", json.dumps(payload or {}), content_type="application/json")


@pytest.fixture
def owner_api(world):
    return lambda tenant=None, role="owner": Api(f"{(tenant or world.alpha).slug}.localhost",
                                                 world.user(f"{(tenant or world.alpha).slug}_{role}"))


@pytest.fixture
def staff_api(world):
    return lambda tenant=None: Api(f"{(tenant or world.alpha).slug}.localhost", world.staff)

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from licensing import signing, store
from licensing.services import validation_log_flush


@pytest.fixture(autouse=True)
def _clean_licensing_redis():
    """Redis is not rolled back with the test transaction: start and end every test clean, so
    rate windows, snapshots and cached tenant limits never leak between tests (or into others')."""
    store.clear_all()
    yield
    store.clear_all()


@pytest.fixture
def issue(world):
    """``issue(tenant, plan_code="starter", **kwargs)`` -> License with its clear ``.key``."""
    from tests.licensing.factories import LicenseFactory

    def _issue(tenant=None, plan_code="starter", **kwargs):
        return LicenseFactory(tenant=tenant or world.alpha, plan_code=plan_code, **kwargs)

    return _issue


class Validator:
    """Posts to the public validation endpoint and checks every answer's signature."""

    def __init__(self):
        self.client = Client(HTTP_HOST="localhost")

    def raw(self, payload, ip="203.0.113.10", content_type="application/json"):
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return self.client.post("/api/v1/licenses/validate", body, content_type=content_type, REMOTE_ADDR=ip)

    def __call__(self, key, fingerprint="fp-1", ip="203.0.113.10", **extra):
        payload = {"key": key, **({"fingerprint": fingerprint} if fingerprint is not None else {}), **extra}
        response = self.raw(payload, ip=ip)
        assert signing.verify(response.content, response["X-Signature"]), "answer must be signed"
        return response


@pytest.fixture
def validate(world):
    return Validator()


def verify_with_pem(pem: str, body: bytes, signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        load_pem_public_key(pem.encode()).verify(base64.b64decode(signature_b64), body)
    except InvalidSignature:
        return False
    return True


@pytest.fixture
def flush():
    return validation_log_flush

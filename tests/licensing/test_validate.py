"""POST /api/v1/licenses/validate: every code, seats, expiry edges and signatures."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from cdp.context import Actor
from licensing import keys, store
from licensing.codes import ValidationCode
from licensing.models import License, Machine, ValidationLog
from licensing.services import (
    license_reinstate,
    license_suspend,
    license_update,
    license_validate,
    machine_ban,
)
from tenants.services import tenant_update
from tests.licensing.conftest import verify_with_pem

ACTOR = Actor.system("tests")


def meta(response):
    return response.json()["meta"]


def test_valid_key_binds_machine_and_answers_valid_with_entitlements(world, issue, validate):
    # given
    license = issue(world.alpha, "professional")
    # when
    response = validate(license.key, fingerprint="laptop-1", nonce="abc123")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["valid"] is True and body["meta"]["code"] == "VALID"
    assert body["meta"]["nonce"] == "abc123" and body["meta"]["ts"] and body["meta"]["detail"]
    lic = body["data"]["license"]
    assert lic["status"] == "active" and lic["plan"] == "professional" and lic["expires_at"] is None
    assert lic["entitlements"]["features"]["clv_prediction"] is True
    assert lic["entitlements"]["limits"]["customers"] == 250_000
    assert body["data"]["machine"] == {"fingerprint": "laptop-1", "bound_now": True, "status": "active"}
    assert Machine.objects.filter(license=license, fingerprint="laptop-1").exists()
    # the same machine again: valid, not bound again
    again = validate(license.key, fingerprint="laptop-1").json()
    assert again["meta"]["code"] == "VALID" and again["data"]["machine"]["bound_now"] is False
    assert again["meta"]["nonce"] != "abc123"  # the server makes one up when none is sent


def test_seats_bind_until_full_then_too_many_machines(world, issue, validate):
    license = issue(world.alpha, "starter", max_machines=2)
    assert meta(validate(license.key, fingerprint="a"))["code"] == "VALID"
    assert meta(validate(license.key, fingerprint="b"))["code"] == "VALID"
    third = validate(license.key, fingerprint="c")
    assert third.status_code == 200
    assert meta(third)["valid"] is False and meta(third)["code"] == "TOO_MANY_MACHINES"
    assert third.json()["data"]["license"]["machines_used"] == 2
    assert Machine.objects.filter(license=license).count() == 2
    # bound machines keep working
    assert meta(validate(license.key, fingerprint="a"))["code"] == "VALID"


def test_unknown_and_mistyped_keys_are_not_found(world, issue, validate):
    license = issue(world.alpha)
    typo = license.key[:-1] + ("X" if license.key[-1] != "X" else "Y")
    for key in [typo, "CDPL-00000-00000-00000-00000-00000-00000", "hello", keys.generate()]:
        response = validate(key)
        assert response.status_code == 200
        assert meta(response)["code"] == "NOT_FOUND" and meta(response)["valid"] is False
        assert response.json()["data"] == {}


def test_mistyped_key_is_rejected_without_a_database_query(world, issue, django_assert_num_queries):
    license = issue(world.alpha)
    typo = license.key[:-2] + ("00" if license.key[-2:] != "00" else "11")
    store.client().set(store.LOG_FLUSH_FLAG, "1", ex=60)  # as if the log was just flushed
    with django_assert_num_queries(0):
        result = license_validate(key=typo, fingerprint="x", ip="198.51.100.1")
    assert result.code == ValidationCode.NOT_FOUND


def test_key_spelling_is_forgiven(world, issue, validate):
    license = issue(world.alpha)
    sloppy = license.key.lower().replace("-", " ")
    assert meta(validate(sloppy))["code"] == "VALID"


def test_suspended_then_reinstated(world, issue, validate):
    license = issue(world.alpha)
    license_suspend(license=license, actor=ACTOR, reason="unpaid")
    assert meta(validate(license.key))["code"] == "SUSPENDED"
    license_reinstate(license=license, actor=ACTOR)
    assert meta(validate(license.key))["code"] == "VALID"


def test_suspended_tenant_suspends_its_licenses(world, issue, validate):
    license = issue(world.beta)
    tenant_update(tenant=world.beta, actor=ACTOR, status="suspended")
    try:
        assert meta(validate(license.key))["code"] == "SUSPENDED"
    finally:
        tenant_update(tenant=world.beta, actor=ACTOR, status="active")


def test_cancelled_license(world, issue, validate):
    license = issue(world.alpha)
    license_update(license=license, actor=ACTOR, status=License.Status.CANCELLED)
    assert meta(validate(license.key))["code"] == "CANCELLED"


def test_expiry_edges(world, issue):
    # given a license that expires at an exact instant
    license = issue(world.alpha, expires_at=timezone.now() + datetime.timedelta(days=1))
    edge = license.expires_at
    # then: a microsecond before it is valid, at it and after it is expired
    assert license_validate(key=license.key, fingerprint="m", ip="192.0.2.1",
                            now=edge - datetime.timedelta(microseconds=1)).code == ValidationCode.VALID
    assert license_validate(key=license.key, fingerprint="m", ip="192.0.2.1", now=edge).code == ValidationCode.EXPIRED
    assert license_validate(key=license.key, fingerprint="m", ip="192.0.2.1",
                            now=edge + datetime.timedelta(days=400)).code == ValidationCode.EXPIRED


def test_expired_status_and_expired_trial(world, issue, validate):
    expired = issue(world.alpha)
    license_update(license=expired, actor=ACTOR, status=License.Status.EXPIRED)
    assert meta(validate(expired.key))["code"] == "EXPIRED"
    trial = issue(world.alpha, status=License.Status.TRIAL)
    assert trial.expires_at is not None  # the plan's trial days
    body = validate(trial.key).json()
    assert body["meta"]["code"] == "VALID" and body["data"]["license"]["status"] == "trial"
    result = license_validate(key=trial.key, fingerprint="fp-1", ip="192.0.2.1",
                              now=trial.expires_at + datetime.timedelta(seconds=1))
    assert result.code == ValidationCode.EXPIRED


def test_fingerprint_scope_required(world, issue, validate):
    license = issue(world.alpha)
    response = validate(license.key, fingerprint=None)
    assert meta(response)["code"] == "FINGERPRINT_SCOPE_REQUIRED" and meta(response)["valid"] is False
    assert meta(validate(license.key, fingerprint="  "))["code"] == "FINGERPRINT_SCOPE_REQUIRED"
    assert not Machine.objects.filter(license=license).exists()


def test_banned_machine(world, issue, validate):
    license = issue(world.alpha, max_machines=2)
    validate(license.key, fingerprint="pirate")
    machine_ban(machine=Machine.objects.get(license=license, fingerprint="pirate"), actor=ACTOR)
    assert meta(validate(license.key, fingerprint="pirate"))["code"] == "BANNED"
    # a banned machine keeps its seat: a new fingerprint cannot take it
    validate(license.key, fingerprint="second")
    assert meta(validate(license.key, fingerprint="third"))["code"] == "TOO_MANY_MACHINES"


def test_malformed_requests_are_400_in_the_common_error_shape(world, validate):
    for payload in [b"not json", b"[1, 2]", {"fingerprint": "x"}, {"key": 42}, {"key": "k", "fingerprint": 7},
                    {"key": "x" * 500}]:
        response = validate.raw(payload)
        assert response.status_code == 400, payload
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["code"] == "invalid"


def test_every_answer_is_signed_and_a_tampered_body_is_rejected(world, issue, validate, public_client):
    # given the published public key
    pem = public_client().get("/api/v1/licenses/public-key/").json()["public_key"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    license = issue(world.alpha)
    response = validate(license.key)
    signature = response["X-Signature"]
    # then the genuine body verifies with the PEM alone
    assert verify_with_pem(pem, response.content, signature)
    # and any change to the body does not
    tampered = json.loads(response.content)
    tampered["meta"]["valid"] = False
    assert not verify_with_pem(pem, json.dumps(tampered, separators=(",", ":")).encode(), signature)
    forged = response.content.replace(b'"VALID"', b'"BANNED"')
    assert not verify_with_pem(pem, forged, signature)
    # a NOT_FOUND answer and a 400 are signed too
    missing = validate("nope")
    assert verify_with_pem(pem, missing.content, missing["X-Signature"])
    bad = validate.raw(b"{}")
    assert verify_with_pem(pem, bad.content, bad["X-Signature"])


def test_rate_limit_per_key_answers_rate_limited_in_the_documented_shape(world, issue, validate, settings):
    settings.CDP_LICENSE_RATE_PER_KEY = "3/min"
    license = issue(world.alpha)
    codes = [validate(license.key, ip=f"198.51.100.{i}").status_code for i in range(3)]
    assert codes == [200, 200, 200]
    limited = validate(license.key, ip="198.51.100.99")
    assert limited.status_code == 429
    assert limited.json()["meta"]["code"] == "RATE_LIMITED" and limited.json()["meta"]["valid"] is False
    assert int(limited["Retry-After"]) >= 1


def test_rate_limit_per_ip(world, issue, validate, settings):
    settings.CDP_LICENSE_RATE_PER_IP = "2/min"
    first, second = issue(world.alpha), issue(world.alpha)
    assert validate(first.key, ip="192.0.2.50").status_code == 200
    assert validate("garbage-key", ip="192.0.2.50").status_code == 200
    assert meta(validate(second.key, ip="192.0.2.50"))["code"] == "RATE_LIMITED"
    assert meta(validate(second.key, ip="192.0.2.51"))["code"] == "VALID"


def test_validation_log_is_written_in_batches(world, issue, validate, flush):
    license = issue(world.alpha)
    validate(license.key, fingerprint="m1", ip="192.0.2.7")
    validate("CDPL-nope")
    flush()
    rows = list(ValidationLog.objects.filter(ip_address="192.0.2.7").values_list("code", "license", "fingerprint"))
    assert rows == [("VALID", license.pk, "m1")]
    assert ValidationLog.objects.filter(code="NOT_FOUND", license__isnull=True).exists()
    license.refresh_from_db()
    assert license.last_validated_at is not None
    machine = Machine.objects.get(license=license, fingerprint="m1")
    assert machine.last_ip == "192.0.2.7"


def test_a_key_never_reveals_another_tenants_license(world, issue, validate):
    alpha_license = issue(world.alpha, "enterprise")
    beta_license = issue(world.beta, "starter")
    body = validate(beta_license.key).content.decode()
    assert alpha_license.key_prefix not in body and "enterprise" not in body
    assert "Alpha Store" not in body and "Beta Store" not in body and '"alpha"' not in body
    assert json.loads(body)["data"]["license"]["key_prefix"] == beta_license.key_prefix


def test_validate_is_on_the_public_host_only(world, issue):
    from django.test import Client

    license = issue(world.alpha)
    response = Client(HTTP_HOST="alpha.localhost").post("/api/v1/licenses/validate", {"key": license.key},
                                                         content_type="application/json")
    assert response.status_code == 404


@pytest.mark.parametrize("slash", ["", "/"])
def test_validate_accepts_a_trailing_slash(world, issue, validate, slash):
    license = issue(world.alpha)
    response = validate.client.post(f"/api/v1/licenses/validate{slash}", {"key": license.key, "fingerprint": "f"},
                                    content_type="application/json")
    assert response.status_code == 200 and response.json()["meta"]["code"] == "VALID"


def test_the_routed_view_answers_like_the_fast_path(world, issue):
    """Without licensing.middleware (e.g. a deployment that drops it) the URL route answers the same."""
    from django.test import RequestFactory

    from licensing import signing
    from licensing.api.views import LicenseValidateView

    license = issue(world.alpha)
    request = RequestFactory().post("/api/v1/licenses/validate", json.dumps({"key": license.key, "fingerprint": "r"}),
                                    content_type="application/json", REMOTE_ADDR="192.0.2.77")
    response = LicenseValidateView.as_view()(request)
    assert response.status_code == 200 and json.loads(response.content)["meta"]["code"] == "VALID"
    assert signing.verify(response.content, response["X-Signature"])


def test_public_schema_documents_validation(world):
    from django.test import Client

    public = json.loads(Client(HTTP_HOST="localhost").get("/api/schema/?format=json").content)["paths"]
    assert "/api/v1/licenses/validate" in public and "/api/v1/licenses/public-key/" in public
    assert "/api/v1/licenses/validate/" not in public  # the slash variant is an alias


def test_tenant_schema_documents_license_and_releases(world):
    from django.test import Client

    tenant = json.loads(Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").content)["paths"]
    assert "/api/v1/license/" in tenant and "/api/v1/releases/{id}/download/" in tenant
    assert "/api/v1/licenses/validate" not in tenant


def test_releasing_a_machine_frees_its_seat(world, issue, validate):
    from licensing.services import machine_release

    license = issue(world.alpha, max_machines=1)
    validate(license.key, fingerprint="old-laptop")
    assert meta(validate(license.key, fingerprint="new-laptop"))["code"] == "TOO_MANY_MACHINES"
    machine_release(machine=Machine.objects.get(license=license), actor=ACTOR)
    assert meta(validate(license.key, fingerprint="new-laptop"))["code"] == "VALID"


def test_expire_due_marks_past_licenses_expired(world, issue):
    from licensing.services import license_expire_due

    license = issue(world.alpha, expires_at=timezone.now() + datetime.timedelta(hours=1))
    assert license_expire_due(actor=ACTOR, now=timezone.now()) == 0
    assert license_expire_due(actor=ACTOR, now=timezone.now() + datetime.timedelta(hours=2)) >= 1
    license.refresh_from_db()
    assert license.status == License.Status.EXPIRED

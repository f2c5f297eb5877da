"""Consent per channel and purpose with proof and history (seed 003): the API, the signed
one-click unsubscribe link, the defaults a send reads, and erasure of the proof."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from customers.models import Consent, ConsentEvent
from customers.selectors.consent import consent_allowed_ids, consent_allows
from customers.services.consent import consent_record, unsubscribe_token
from customers.services.privacy import customer_pseudonymize
from tenants.models import AuditLog
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def person(world):
    with tenant_context(world.alpha):
        return CustomerFactory(email="consent.person@example.com", phone="+5491155550123")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json",
                        HTTP_USER_AGENT="Mozilla/5.0 (proof)")


def test_api_records_consent_with_proof_and_history(world, api_key, person):
    client = api_client("alpha.localhost", api_key(world.alpha))
    url = f"/api/v1/customers/{person.pk}/consents/"

    # given nothing recorded: marketing is off, transactional on
    matrix = {(row["channel"], row["purpose"]): row for row in client.get(url).json()}
    assert len(matrix) == 6
    assert matrix[("email", "marketing")]["granted"] is False and not matrix[("email", "marketing")]["recorded"]
    assert matrix[("sms", "transactional")]["granted"] is True

    # when the person grants marketing by e-mail, then withdraws it
    response = patch(client, url, {"channel": "email", "purpose": "marketing", "granted": True, "text_version": "v3",
                                   "source": "portal", "ip_address": "203.0.113.9"})
    assert response.status_code == 200, response.content
    row = next(r for r in response.json() if r["channel"] == "email" and r["purpose"] == "marketing")
    assert row["granted"] is True and row["recorded"] and row["source"] == "portal" and row["text_version"] == "v3"
    assert patch(client, url, {"channel": "email", "purpose": "marketing", "granted": False}).status_code == 200

    # then the history keeps both with their proof, newest first, and each change is audited
    history = client.get(f"{url}history/").json()["results"]
    assert [(h["previous"], h["granted"]) for h in history] == [(True, False), (None, True)]
    assert history[1]["ip_address"] == "203.0.113.9" and history[1]["user_agent"] == "Mozilla/5.0 (proof)"
    assert history[0]["recorded_by"].startswith("api-key")
    with tenant_context(world.alpha):
        assert consent_allows(customer_id=person.pk, channel="email", purpose="marketing") is False
    assert AuditLog.objects.filter(tenant=world.alpha, action="consent.record", resource_id=str(person.pk)).count() == 2


def test_bad_input_is_a_field_error(world, api_key, person):
    client = api_client("alpha.localhost", api_key(world.alpha))
    url = f"/api/v1/customers/{person.pk}/consents/"
    response = patch(client, url, {"channel": "fax", "purpose": "marketing", "granted": True})
    assert response.status_code == 400 and "channel" in response.json()["error"]["fields"]
    response = patch(client, url, {"channel": "sms", "purpose": "marketing", "granted": True, "source": "unsubscribe"})
    assert response.status_code == 400 and "source" in response.json()["error"]["fields"]
    response = patch(client, url, {"channel": "sms", "purpose": "marketing"})
    assert response.status_code == 400 and "granted" in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_lower_roles_read_but_cannot_record(world, person, role):
    client = host_client("alpha.localhost", world.user(f"alpha_{role}"))
    url = f"/api/v1/customers/{person.pk}/consents/"
    assert client.get(url).status_code == 200
    response = patch(client, url, {"channel": "email", "purpose": "marketing", "granted": True})
    assert response.status_code == 403
    with tenant_context(world.alpha):
        assert not Consent.objects.filter(customer=person).exists()


def test_admin_records_and_read_only_key_cannot(world, api_key, person):
    url = f"/api/v1/customers/{person.pk}/consents/"
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    assert patch(admin, url, {"channel": "whatsapp", "purpose": "marketing", "granted": True}).status_code == 200
    reader = api_client("alpha.localhost", api_key(world.alpha, scopes=("read",)))
    assert patch(reader, url, {"channel": "whatsapp", "purpose": "marketing", "granted": False}).status_code == 403


def test_other_tenant_and_unknown_ids_are_404(world, api_key, person):
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get(f"/api/v1/customers/{person.pk}/consents/").status_code == 404
    response = patch(beta, f"/api/v1/customers/{person.pk}/consents/",
                     {"channel": "email", "purpose": "marketing", "granted": True})
    assert response.status_code == 404
    alpha = api_client("alpha.localhost", api_key(world.alpha))
    assert alpha.get("/api/v1/customers/99999999999/consents/").status_code == 404
    assert alpha.get("/api/v1/customers/99999999999999999999999/consents/").status_code == 404


def test_one_click_unsubscribe(world, actor, person):
    with tenant_context(world.alpha):
        consent_record(customer_id=person.pk, channel="email", purpose="marketing", granted=True, source="api",
                       actor=actor)
        token = unsubscribe_token(customer_id=person.pk, channel="email")
    client = host_client("alpha.localhost")
    client.handler.enforce_csrf_checks = True  # a mail client's one-click POST carries no CSRF token
    url = f"/customers/unsubscribe/{token}/"

    # a GET (a link scanner, a preview) changes nothing
    assert client.get(url).status_code == 200
    with tenant_context(world.alpha):
        assert consent_allows(customer_id=person.pk, channel="email", purpose="marketing")

    # RFC 8058 one-click POST withdraws, with the address and agent as proof, and is audited
    response = client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded",
                           HTTP_USER_AGENT="MailProvider/1.0", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    with tenant_context(world.alpha):
        assert not consent_allows(customer_id=person.pk, channel="email", purpose="marketing")
        event = ConsentEvent.objects.filter(customer=person).first()
        assert (event.source, event.granted, event.previous, event.user_agent, event.recorded_by) == \
            ("unsubscribe", False, True, "MailProvider/1.0", "customer")
        assert event.ip_address == "198.51.100.7"
    assert AuditLog.objects.filter(tenant=world.alpha, action="consent.unsubscribe").exists()


def test_forged_or_other_tenant_unsubscribe_tokens_are_refused(world, person):
    with tenant_context(world.alpha):
        token = unsubscribe_token(customer_id=person.pk, channel="email")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert host_client("alpha.localhost").post(f"/customers/unsubscribe/{tampered}/").status_code == 404
    # a genuine alpha token on beta's host names another schema
    assert host_client("beta.localhost").post(f"/customers/unsubscribe/{token}/").status_code == 404
    with tenant_context(world.alpha):
        assert not ConsentEvent.objects.filter(customer=person).exists()


def test_defaults_and_bulk_check(world, actor):
    with tenant_context(world.alpha):
        granted, silent, blocked = CustomerFactory(), CustomerFactory(), CustomerFactory(status="blocked")
        for customer in (granted, blocked):
            consent_record(customer_id=customer.pk, channel="sms", purpose="marketing", granted=True, source="api",
                           actor=actor)
        consent_record(customer_id=silent.pk, channel="sms", purpose="transactional", granted=False, source="api",
                       actor=actor)
        ids = [granted.pk, silent.pk, blocked.pk]
        assert consent_allowed_ids(customer_ids=ids, channel="sms", purpose="marketing") == {granted.pk}
        assert consent_allowed_ids(customer_ids=ids, channel="sms", purpose="transactional") == {granted.pk}
        assert consent_allowed_ids(customer_ids=ids, channel="email", purpose="transactional") == {granted.pk, silent.pk}


def test_erasure_withdraws_consent_and_blanks_its_proof(world, actor, person):
    with tenant_context(world.alpha):
        consent_record(customer_id=person.pk, channel="email", purpose="marketing", granted=True, source="api",
                       actor=actor, ip_address="203.0.113.50", user_agent="Browser/1")
        customer_pseudonymize(customer_id=person.pk, actor=actor, reason="ticket 1")
        consent = Consent.objects.get(customer=person)
        assert (consent.granted, consent.source, consent.ip_address, consent.user_agent) == (False, "erasure", None, "")
        assert not ConsentEvent.objects.filter(customer=person).exclude(ip_address=None).exists()
        assert not ConsentEvent.objects.filter(customer=person).exclude(user_agent="").exists()
        assert not consent_allows(customer_id=person.pk, channel="email", purpose="transactional")

"""Per-tenant provider accounts (issue #16): encrypted at rest with cdp.crypto, never echoed,
used instead of the platform's settings when present, and set through the tenant admin."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from cdp.exceptions import ApplicationError
from engagement.models import ProviderCredentials
from engagement.selectors import provider_config, provider_credentials_summary
from engagement.services.notifications import notification_enqueue
from engagement.services.settings import provider_credentials_remove, provider_credentials_set
from tenants.models import AuditLog
from tests.conftest import host_client
from tests.engagement import factories
from tests.engagement.fakes import TWILIO_SID, TWILIO_TOKEN


def test_tenant_account_is_used_instead_of_the_platforms(in_alpha, twilio, settings, actor,
                                                         django_capture_on_commit_callbacks):
    # given the platform's Twilio settings are wrong, and the tenant saved its own account
    settings.ENGAGEMENT_TWILIO_ACCOUNT_SID, settings.ENGAGEMENT_TWILIO_AUTH_TOKEN = "ACplatform", "platform-token"
    provider_credentials_set(provider="twilio", public={"account_sid": TWILIO_SID, "from": "+15005550099"},
                             secrets={"auth_token": TWILIO_TOKEN}, actor=actor)

    # when an SMS goes out
    customer, template = factories.person(consent=("sms",)), factories.template("sms")
    with django_capture_on_commit_callbacks(execute=True):
        notification, _ = notification_enqueue(customer_id=customer.pk, template_id=template.pk, trigger="t", key="1")

    # then it went through the tenant's account
    notification.refresh_from_db()
    assert notification.status == "sent"
    request = twilio.hits("/Messages.json")[0]
    assert TWILIO_SID in request.path and request.form()["From"] == "+15005550099"

    # and without it, the platform's account applies again
    provider_credentials_remove(provider="twilio", actor=actor)
    assert provider_config("twilio")["account_sid"] == "ACplatform"
    assert provider_config("twilio")["owner"] == "platform"


def test_secrets_are_encrypted_never_echoed_and_blank_keeps_them(in_alpha, actor):
    provider_credentials_set(provider="whatsapp", public={"phone_number_id": "1065"},
                             secrets={"token": "EAAG-secret-token", "app_secret": "app-secret-1"}, actor=actor)
    row = ProviderCredentials.objects.get(provider="whatsapp")
    assert "EAAG-secret-token" not in row.secrets_encrypted and "EAAG" not in json.dumps(row.public)
    summary = next(s for s in provider_credentials_summary() if s["provider"] == "whatsapp")
    assert summary == {"provider": "whatsapp", "owner": "tenant", "public": {"phone_number_id": "1065"},
                       "secrets_set": ["app_secret", "token"]}
    assert "secret" not in json.dumps(summary).replace("secrets_set", "").replace("app_secret", "")

    # a blank secret keeps the stored one; a new one replaces it
    provider_credentials_set(provider="whatsapp", public={"phone_number_id": "2000"},
                             secrets={"token": "", "app_secret": "app-secret-2"}, actor=actor)
    config = provider_config("whatsapp")
    assert (config["phone_number_id"], config["token"], config["app_secret"]) == ("2000", "EAAG-secret-token",
                                                                                 "app-secret-2")
    # the audit trail names what changed, never a value
    entries = AuditLog.objects.filter(action="provider_credentials.set", resource_id="whatsapp")
    assert entries.count() == 2
    assert all("secret-" not in json.dumps(entry.changes) and "EAAG" not in json.dumps(entry.changes)
               for entry in entries)


def test_bad_accounts_are_field_errors(in_alpha, actor, settings):
    with pytest.raises(ApplicationError) as refused:
        provider_credentials_set(provider="twilio", public={"account_sid": "AC1"}, secrets={}, actor=actor)
    assert "auth_token" in refused.value.fields
    with pytest.raises(ApplicationError) as refused:
        provider_credentials_set(provider="meta", public={"nope": "1"}, secrets={"access_token": "x"}, actor=actor)
    assert "nope" in refused.value.fields
    # a tenant's SMTP relay must not point into the platform's network
    settings.ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS = False
    with pytest.raises(ApplicationError) as refused:
        provider_credentials_set(provider="smtp", public={}, secrets={"url": "smtp://user:pw@127.0.0.1:25"},
                                 actor=actor)
    assert "url" in refused.value.fields and "pw" not in refused.value.message
    assert not ProviderCredentials.objects.exists()


def test_admin_form_saves_without_showing_secrets_and_lower_roles_are_refused(world):
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    url = "/admin/engagement/providercredentials/add/"
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"provider": "meta", "is_active": "on", "meta__access_token": "EAAB-meta-secret"})
    assert response.status_code == 302, response.content[:2000]
    with tenant_context(world.alpha):
        row = ProviderCredentials.objects.get(provider="meta")
        assert provider_config("meta")["access_token"] == "EAAB-meta-secret"
    page = admin.get(f"/admin/engagement/providercredentials/{row.pk}/change/")
    assert page.status_code == 200 and b"EAAB-meta-secret" not in page.content
    assert b"EAAB-meta-secret" not in admin.get("/admin/engagement/providercredentials/").content
    # an analyst does not reach the tenant admin at all
    analyst = host_client("alpha.localhost", world.user("alpha_analyst"))
    assert analyst.get(url).status_code in (302, 403)

"""Consent and safety (issue #16): double opt-in for e-mail, consent and engagement data in the
data-subject export, and the old ``marketing_consent`` flag mirroring the consent records."""

from __future__ import annotations

import importlib
import json
import re

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client

from customers.models import Consent, ConsentEvent, Customer, CustomerChangeLog
from customers.selectors.consent import consent_allows
from customers.services.consent import consent_record
from customers.services.privacy import customer_export, customer_pseudonymize
from customers.services.profile import customer_update
from engagement.models import OptInRequest
from engagement.services.optin import opt_in_token
from engagement.services.settings import engagement_settings_update
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def double_opt_in(in_alpha, actor):
    engagement_settings_update(actor=actor, double_opt_in_email=True)


def confirm_link(smtp) -> str:
    body = smtp.messages[-1].get_payload(decode=True).decode()
    return re.search(r"https://alpha\.localhost(/engagement/opt-in/[^/\s]+/)", body).group(1)


def test_double_opt_in_records_consent_only_when_the_person_confirms(
        world, double_opt_in, smtp, api_key, django_capture_on_commit_callbacks):
    # given a tenant that requires double opt-in and a person without consent
    customer = CustomerFactory(email="doi@example.com", first_name="Ana")
    client = api_client("alpha.localhost", api_key(world.alpha))
    url = f"/api/v1/customers/{customer.pk}/consents/"

    # when a signup form grants e-mail marketing through the API
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(url, data=json.dumps({"channel": "email", "purpose": "marketing", "granted": True,
                                                      "text_version": "signup-v2", "ip_address": "203.0.113.5"}),
                                content_type="application/json", HTTP_USER_AGENT="SignupForm/1.0")

    # then nothing is recorded yet (202), and a confirmation e-mail went to that address
    assert response.status_code == 202, response.content
    assert not consent_allows(customer_id=customer.pk, channel="email", purpose="marketing")
    assert not Consent.objects.filter(customer=customer).exists()
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "doi@example.com"
    request = OptInRequest.objects.get(customer=customer)
    assert (request.status, request.request_ip, request.text_version) == ("pending", "203.0.113.5", "signup-v2")
    path = confirm_link(smtp)

    # when a mail scanner fetches the link, nothing changes
    reader = Client(HTTP_HOST="alpha.localhost", HTTP_USER_AGENT="Mozilla/5.0 (person)", REMOTE_ADDR="198.51.100.7")
    page = reader.get(path)
    assert page.status_code == 200 and b"<form" in page.content
    assert not Consent.objects.filter(customer=customer).exists()

    # when the person clicks the button
    assert reader.post(path).status_code == 200

    # then the grant is recorded with the proof of the click and the wording they were asked with
    consent = Consent.objects.get(customer=customer, channel="email", purpose="marketing")
    assert consent.granted and consent.text_version == "signup-v2" and consent.recorded_by == "customer"
    assert consent.user_agent == "Mozilla/5.0 (person)" and consent.ip_address
    event = ConsentEvent.objects.get(customer=customer)
    assert "double opt-in confirmed" in event.reason
    request.refresh_from_db()
    assert request.status == "confirmed" and request.confirm_user_agent == "Mozilla/5.0 (person)"
    assert Customer.objects.get(pk=customer.pk).marketing_consent is True  # the flag mirrors the records
    assert AuditLog.objects.filter(tenant=world.alpha, action="opt_in.confirm").count() == 1

    # when the link is clicked again, nothing more is recorded
    assert reader.post(path).status_code == 200
    assert ConsentEvent.objects.filter(customer=customer).count() == 1


def test_without_double_opt_in_the_grant_is_recorded_at_once(in_alpha, actor):
    customer = CustomerFactory()
    consent = consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=True, source="api",
                             actor=actor)
    assert consent is not None and consent.granted and not OptInRequest.objects.exists()


def test_double_opt_in_holds_only_email_marketing_grants(in_alpha, double_opt_in, actor):
    customer = CustomerFactory()
    assert consent_record(customer_id=customer.pk, channel="whatsapp", purpose="marketing", granted=True,
                          source="api", actor=actor).granted
    # a withdrawal is never held back
    assert consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=False,
                          source="api", actor=actor) is not None
    assert consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=True,
                          source="api", actor=actor) is None


def test_forged_expired_or_other_tenant_links_are_refused(world, double_opt_in, actor, settings):
    customer = CustomerFactory()
    consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=True, source="api",
                   actor=actor)
    request = OptInRequest.objects.get(customer=customer)
    token = opt_in_token(request.pk)
    reader = Client(HTTP_HOST="alpha.localhost")
    assert reader.post(f"/engagement/opt-in/{token}x/").status_code == 404
    assert Client(HTTP_HOST="beta.localhost").post(f"/engagement/opt-in/{token}/").status_code == 404
    settings.ENGAGEMENT_OPT_IN_MAX_AGE_DAYS = -1  # every token is too old
    assert reader.post(f"/engagement/opt-in/{token}/").status_code == 404
    assert not Consent.objects.filter(customer=customer, channel="email").exists()


def test_erased_person_cannot_confirm(in_alpha, double_opt_in, actor):
    customer = CustomerFactory(email="gone@example.com")
    consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=True, source="api",
                   actor=actor, ip_address="203.0.113.9")
    token = opt_in_token(OptInRequest.objects.get(customer=customer).pk)
    customer_pseudonymize(customer_id=customer.pk, actor=actor)
    assert Client(HTTP_HOST="alpha.localhost").post(f"/engagement/opt-in/{token}/").status_code == 404
    request = OptInRequest.objects.get(customer=customer)
    assert request.request_ip is None and request.requested_by == ""  # the proof is erased too


def test_export_has_consents_history_messages_and_opt_ins(in_alpha, double_opt_in, actor,
                                                          django_capture_on_commit_callbacks):
    # given a person with a consent, a change of it, a pending opt-in and its confirmation e-mail
    customer = CustomerFactory(email="export@example.com")
    consent_record(customer_id=customer.pk, channel="sms", purpose="marketing", granted=True, source="api",
                   actor=actor, ip_address="203.0.113.1")
    consent_record(customer_id=customer.pk, channel="sms", purpose="marketing", granted=False, source="api",
                   actor=actor)
    with django_capture_on_commit_callbacks(execute=False):
        consent_record(customer_id=customer.pk, channel="email", purpose="marketing", granted=True, source="portal",
                       actor=actor, text_version="v9")

    # when the person asks for their data
    data = json.loads(json.dumps(customer_export(customer_id=customer.pk, actor=actor)))

    # then consents, their history with proof, the message and the opt-in request are in it
    assert [(c["channel"], c["granted"]) for c in data["consents"]] == [("sms", False)]
    assert [(e["granted"], e["ip_address"]) for e in data["consent_history"]] == [(True, "203.0.113.1"),
                                                                                  (False, None)]
    section = data["engagement"]
    assert [n["trigger"] for n in section["notifications"]] == ["opt_in.confirm"]
    assert section["opt_in_requests"][0]["text_version"] == "v9"
    assert section["opt_in_requests"][0]["status"] == "pending"


def test_marketing_consent_flag_mirrors_the_records(in_alpha, actor):
    customer = CustomerFactory()
    assert not customer.marketing_consent
    consent_record(customer_id=customer.pk, channel="whatsapp", purpose="marketing", granted=True, source="api",
                   actor=actor)
    assert Customer.objects.get(pk=customer.pk).marketing_consent is True
    consent_record(customer_id=customer.pk, channel="whatsapp", purpose="marketing", granted=False, source="api",
                   actor=actor)
    assert Customer.objects.get(pk=customer.pk).marketing_consent is False


def test_editing_the_flag_records_consent(in_alpha, actor):
    # given a person with marketing granted on two channels
    customer = CustomerFactory()
    for channel in ("email", "sms"):
        consent_record(customer_id=customer.pk, channel=channel, purpose="marketing", granted=True, source="api",
                       actor=actor)

    # when staff untick the old flag, every channel's marketing is withdrawn, with history
    customer_update(customer_id=customer.pk, data={"marketing_consent": False}, actor=actor)
    assert not any(consent_allows(customer_id=customer.pk, channel=ch, purpose="marketing")
                   for ch in ("email", "whatsapp", "sms"))
    assert Customer.objects.get(pk=customer.pk).marketing_consent is False

    # when they tick it, e-mail marketing (what the flag meant) is granted
    customer_update(customer_id=customer.pk, data={"marketing_consent": True}, actor=actor)
    assert consent_allows(customer_id=customer.pk, channel="email", purpose="marketing")
    assert not consent_allows(customer_id=customer.pk, channel="sms", purpose="marketing")
    assert Customer.objects.get(pk=customer.pk).marketing_consent is True
    assert ConsentEvent.objects.filter(customer=customer, reason__startswith="marketing_consent set by").count() == 4
    # and the profile's change log shows the flag going off and on (what a revert reads)
    assert list(CustomerChangeLog.objects.filter(customer=customer, field="marketing_consent")
                .order_by("id").values_list("old_value", "new_value")) == [("True", "False"), ("False", "True")]


def test_data_migration_turns_legacy_flags_into_records(in_alpha, actor):
    # given legacy rows: a flag with no record, a flag contradicted by a withdrawal, a record with no flag
    flagged = CustomerFactory()
    unsubscribed = CustomerFactory()
    unflagged = CustomerFactory()
    consent_record(customer_id=unsubscribed.pk, channel="email", purpose="marketing", granted=False, source="api",
                   actor=actor)
    consent_record(customer_id=unflagged.pk, channel="sms", purpose="marketing", granted=True, source="api",
                   actor=actor)
    Customer.objects.filter(pk__in=[flagged.pk, unsubscribed.pk]).update(marketing_consent=True)
    Customer.objects.filter(pk=unflagged.pk).update(marketing_consent=False)

    # when the migration runs
    migration = importlib.import_module("customers.migrations.0016_marketing_consent_from_records")
    with connection.schema_editor() as editor:
        migration.records_from_flags(django_apps, editor)

    # then the flag became a record with its origin, and records win where they exist
    carried = Consent.objects.get(customer=flagged, channel="email", purpose="marketing")
    assert carried.granted and carried.source == "import" and carried.text_version == "legacy-marketing-consent"
    assert ConsentEvent.objects.get(customer=flagged).reason.startswith("carried over")
    flags = dict(Customer.objects.filter(pk__in=[flagged.pk, unsubscribed.pk, unflagged.pk])
                 .values_list("pk", "marketing_consent"))
    assert flags == {flagged.pk: True, unsubscribed.pk: False, unflagged.pk: True}
    assert not Consent.objects.get(customer=unsubscribed, channel="email").granted

"""Every portal page in Spanish and Brazilian Portuguese: nothing on it is left in English.

Each page is rendered in English and in the language under test, as a member who chose that
language (``User.language``) or, signed out, with the selector's cookie. A visible text (or a
title/aria-label/placeholder) fails the test when

- it is an English msgid of the catalog whose translation differs (the page bypassed gettext, or
  the catalog is not compiled), or
- it is word for word the same in both renderings and is not data (names, e-mails, numbers):
  English that never went through the catalog (a Python string not marked for translation).
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django_tenants.utils import tenant_context

from engagement.models import AudienceDestination
from tests.analytics.factories import ProcessingJobFactory, SegmentFactory
from tests.customers.factories import AddressFactory, CustomerFactory, IdentityFactory, OrderFactory
from tests.engagement.factories import CampaignFactory
from tests.i18n.test_catalogs import ROOT, _TextCollector
from tests.integrations.factories import IntegrationFactory, SyncLogFactory

LANGUAGES = {"es": "es", "pt-br": "pt_BR"}
# Not language: data of the pages (the world's names and addresses), codes and symbols.
DATA = re.compile(
    r"^(?:[\W\d_]*|.*@.*|CDP|Alpha Store|Beta Store|Ana\d+ Pérez|.*Pérez.*|vtex.*|ext-\d+|DNI \d+|AR|"
    r"[A-Z]{2,5}|RFM.*|CLV|CAC|ROAS|PDF|SHA-256|English|Español|Português \(Brasil\)|Segment \d+|"
    r"\d+ s|#\d+|rfm|ext-.*|BG/NBD.*|Av\. .*|.*localhost.*|[a-z_]+(, [a-z_]+)*,?|.* · Alpha Store|store\d+|"
    r"ord-\d+|VTEX · store\d+|\{.*\}|Mozilla/.*|[\w.-]+ \d+(\.\d+)* · [\w .-]+)$"  # user agents: browser tests' sessions
)


def catalog_words(language: str) -> tuple[set[str], set[str]]:
    """(English msgids translated differently, msgids the language writes the same: "No", "Total")."""
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as po_file:
        catalog = read_po(po_file)
    found, same = set(), set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for msgid in ids:
            if "%(" not in msgid and "<" not in msgid:
                (same if msgid in strings else found).add(msgid.strip())
    return found - same, same


def visible_text(html: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(html)
    return [" ".join(chunk.split()).rstrip(":") for chunk in collector.found if chunk.strip()]


@pytest.fixture
def pages(world):
    with tenant_context(world.alpha):
        customer = CustomerFactory(document_type="dni", document_number="30111222")
        IdentityFactory(customer=customer)
        AddressFactory(customer=customer, is_default=True)
        OrderFactory(customer=customer)
        job = ProcessingJobFactory()
        segment = SegmentFactory()
        integration = IntegrationFactory()
        SyncLogFactory(integration=integration)
        campaign = CampaignFactory(segment_id=segment.pk, name="winback")  # data: a name
        AudienceDestination.objects.create(audience_id="123", segment_id=segment.pk)
    return {
        "signed_in": [
            "/", "/members/", "/settings/api-keys/", "/settings/sessions/", "/settings/sessions/members/",
            "/customers/", f"/customers/{customer.pk}/", f"/customers/{customer.pk}/changes/",
            "/analytics/", f"/analytics/runs/{job.pk}/", "/analytics/data-quality/", "/analytics/segments/",
            f"/analytics/segments/{segment.pk}/", "/integrations/", f"/integrations/{integration.pk}/",
            "/license/", "/billing/", "/no-such-page/",
            "/engagement/campaigns/", f"/engagement/campaigns/{campaign.pk}/", "/engagement/destinations/",
        ],
        "signed_out": [
            "/accounts/login/", "/accounts/password-reset/", "/accounts/password-reset/sent/",
            "/accounts/reset/MQ/bad-token/", "/invitations/not-a-token/", "/engagement/opt-in/not-a-token/",
        ],
    }


def render(client, path: str) -> str:
    response = client.get(path, follow=True)
    assert response.status_code in (200, 404, 410), (path, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_portal_page_is_translated(world, alpha_client, pages, language):
    msgids, same_words = catalog_words(LANGUAGES[language])
    owner = world.user("alpha_owner")
    problems = []
    for signed_in, paths in ((True, pages["signed_in"]), (False, pages["signed_out"])):
        english_client, client = alpha_client(owner if signed_in else None), alpha_client(owner if signed_in else None)
        if signed_in:
            owner.language = language
            owner.save(update_fields=["language"])
            english_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        else:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for path in paths:
            owner.language = language if signed_in else ""
            owner.save(update_fields=["language"])
            translated = render(client, path)
            assert f'<html lang="{language[:2]}' in translated, path
            owner.language = "en" if signed_in else ""
            owner.save(update_fields=["language"])
            english = set(visible_text(render(english_client, path)))
            for text in visible_text(translated):
                text = text.rstrip(":")  # a form label is its msgid with the label suffix
                if text in msgids or (text in english and text not in same_words and not DATA.match(text)):
                    problems.append((path, text))
    assert problems == [], "\n".join(f"{path}: {text!r}" for path, text in problems)

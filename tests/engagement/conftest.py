import pytest
from django_tenants.utils import tenant_context

from cdp.registry import quota_guards_disabled
from tests.engagement import fakes

@pytest.fixture(autouse=True)
def _engagement_settings(settings):
    settings.ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS = True
    settings.ENGAGEMENT_HTTP_DEADLINE = 5.0
    settings.ENGAGEMENT_SMTP_TIMEOUT = 5.0
    settings.ENGAGEMENT_RETRY_BASE = 0.0
    settings.ENGAGEMENT_MAX_ATTEMPTS = 3
    settings.CDP_FORBID_OUTBOUND_IN_REQUESTS = True


@pytest.fixture(autouse=True)
def _no_plan_quota():
    with quota_guards_disabled():
        yield


@pytest.fixture
def in_alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def smtp(settings):
    server = fakes.FakeSmtp().start()
    settings.CDP_SMTP_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def whatsapp(settings):
    server = fakes.FakeWhatsApp().start()
    settings.ENGAGEMENT_WHATSAPP_BASE_URL = server.url
    settings.ENGAGEMENT_WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
    settings.ENGAGEMENT_WHATSAPP_TOKEN = fakes.WHATSAPP_TOKEN
    settings.ENGAGEMENT_WHATSAPP_APP_SECRET = "meta-app-secret"
    settings.ENGAGEMENT_WHATSAPP_VERIFY_TOKEN = "verify-me"
    yield server
    server.stop()


@pytest.fixture
def twilio(settings):
    server = fakes.FakeTwilio().start()
    settings.ENGAGEMENT_TWILIO_BASE_URL = server.url
    settings.ENGAGEMENT_TWILIO_ACCOUNT_SID = fakes.TWILIO_SID
    settings.ENGAGEMENT_TWILIO_AUTH_TOKEN = fakes.TWILIO_TOKEN
    settings.ENGAGEMENT_TWILIO_FROM = "+15005550006"
    yield server
    server.stop()


@pytest.fixture
def meta(settings):
    server = fakes.FakeMeta().start()
    settings.ENGAGEMENT_META_BASE_URL = server.url
    settings.ENGAGEMENT_META_ACCESS_TOKEN = fakes.META_TOKEN
    yield server
    server.stop()


@pytest.fixture
def google_ads(settings):
    server = fakes.FakeGoogleAds().start()
    settings.ENGAGEMENT_GOOGLE_ADS_BASE_URL = server.url
    settings.ENGAGEMENT_GOOGLE_ADS_CUSTOMER_ID = fakes.GOOGLE_CUSTOMER_ID
    settings.ENGAGEMENT_GOOGLE_ADS_DEVELOPER_TOKEN = fakes.GOOGLE_DEVELOPER_TOKEN
    settings.ENGAGEMENT_GOOGLE_ADS_ACCESS_TOKEN = fakes.GOOGLE_TOKEN
    yield server
    server.stop()

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.registry import quota_guards_disabled
from tests.integrations import fakes


@pytest.fixture(autouse=True)
def _fast_http(settings):
    """Small waits so retries, Retry-After and timeouts take milliseconds, not seconds."""
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.5
    settings.INTEGRATIONS_HTTP_MAX_RETRIES = 2
    settings.INTEGRATIONS_HTTP_BACKOFF_BASE = 0.01
    settings.INTEGRATIONS_HTTP_BACKOFF_MAX = 0.05
    settings.INTEGRATIONS_HTTP_RETRY_AFTER_CAP = 0.2
    settings.INTEGRATIONS_INITIAL_BACKFILL_DAYS = 30
    settings.INTEGRATIONS_VTEX_PAGE_SIZE = 5
    settings.INTEGRATIONS_ML_PAGE_SIZE = 3
    settings.INTEGRATIONS_WEBHOOK_TIMEOUT = 1.0


@pytest.fixture(autouse=True)
def _no_outbound_in_requests(settings):
    """No request thread may call out (cdp.http raises instead of logging): every test here
    proves it for the paths it takes."""
    settings.CDP_FORBID_OUTBOUND_IN_REQUESTS = True


@pytest.fixture(autouse=True)
def _fresh_outbound_slots():
    """Per-tenant slots, drain flags and hook throttles live in Redis, outside the test's
    transaction: each test starts without any left by another."""
    from tests.integrations.fakes import clear_outbound_keys

    clear_outbound_keys()
    yield
    clear_outbound_keys()


@pytest.fixture(autouse=True)
def _no_plan_quota():
    """Plan quotas are licensing's to test; here they would only couple the suites."""
    with quota_guards_disabled():
        yield


@pytest.fixture
def in_alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


def _served(server):
    server.start()
    return server


@pytest.fixture
def vtex():
    server = _served(fakes.FakeVtex())
    yield server
    server.stop()


@pytest.fixture
def meli():
    server = _served(fakes.FakeMercadoLibre())
    yield server
    server.stop()


@pytest.fixture
def gads():
    server = _served(fakes.FakeGoogleAds())
    yield server
    server.stop()


@pytest.fixture
def meta():
    server = _served(fakes.FakeMeta())
    yield server
    server.stop()


@pytest.fixture
def receiver():
    """A webhook receiver: answers what tests script, records every request."""
    server = fakes.FakeServer()
    server.route("POST", r"/hook", lambda request: fakes.Reply(200, {"ok": True}))
    server.start()
    yield server
    server.stop()


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def make_vtex_integration(vtex, actor, **extra):
    from integrations.services import integration_create

    credentials = {"app_key": vtex.app_key, "app_token": vtex.app_token, "hook_secret": "hook-secret-alpha-0001"}
    return integration_create(integration_type="vtex", account_name="lojaalpha", base_url=vtex.url,
                              credentials=credentials, actor=actor, **extra)


def make_ml_integration(meli, actor):
    from integrations.services import integration_create

    return integration_create(integration_type="mercadolibre", account_name="tiendaalpha", base_url=meli.url,
                              config={"seller_id": "987654"}, actor=actor,
                              credentials={"client_id": meli.client_id, "client_secret": meli.client_secret,
                                           "refresh_token": meli.refresh_token})

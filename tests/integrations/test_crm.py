"""The CRM (webhook) integration: a sync pushes the customer profiles changed since the last push
to the CRM's endpoint in signed batches (a fake CRM checks signatures and upserts by id)."""

import pytest

from integrations.models import Integration
from tests.integrations import fakes


@pytest.fixture
def crm():
    server = fakes.FakeCrm().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _small_batches(settings):
    settings.INTEGRATIONS_CRM_BATCH_SIZE = 2
    settings.INTEGRATIONS_WINDOW_OVERLAP_SECONDS = 0  # exact windows, so each test sees what changed


def make_crm_integration(crm, actor, secret=None):
    from integrations.services import integration_create

    return integration_create(integration_type="crm_webhook", account_name="crm-alpha", actor=actor,
                              base_url=f"{crm.url}/api/cdp/customers",
                              credentials={"signing_secret": secret or crm.secret})


def customers(actor, *names):
    from customers.services import customer_create

    return [customer_create(data={"email": f"{name}@example.com", "first_name": name.title()}, actor=actor)
            for name in names]


def test_first_push_sends_every_profile_then_only_changes(in_alpha, crm, actor):
    from customers.models import Customer
    from customers.services import customer_update
    from integrations.services import integration_sync

    ana, *_ = customers(actor, "ana", "bruno", "carla", "davi", "eva")
    everyone = set(Customer.objects.values_list("id", flat=True))
    integration = make_crm_integration(crm, actor)

    # when the first sync runs
    first = integration_sync(integration_id=integration.pk)

    # then every profile reached the CRM, in signed batches of 2, each counted as new
    assert first.status == "success", first.error
    assert set(crm.profiles) == everyone and len(crm.batches) == -(-len(everyone) // 2)
    assert (first.records_fetched, first.records_created, first.records_updated) == (len(everyone), len(everyone), 0)
    assert first.pages == len(crm.batches)
    batch = crm.batches[0]
    assert batch["event"] == "customers.upsert" and batch["tenant"] == "alpha" and batch["id"]
    request = crm.hits("/api/cdp/customers")[0]
    assert request.headers["x-cdp-event"] == "customers.upsert"
    assert request.headers["x-cdp-event-id"] == batch["id"]
    profile = crm.profiles[ana.pk]
    assert profile["email"] == "ana@example.com" and profile["first_name"] == "Ana"
    assert profile["total_spent"] == "0.00" and profile["status"] == "active" and profile["merged_into_id"] is None

    # when nothing changed, nothing is sent
    assert integration_sync(integration_id=integration.pk).records_fetched == 0
    assert len(crm.hits("/api/cdp/customers")) == len(crm.batches)

    # when one profile changes and one is added, the next sync sends those two only
    customer_update(customer_id=ana.pk, data={"last_name": "Lima"}, actor=actor)
    (fiona,) = customers(actor, "fiona")
    sent_before = len(crm.batches)
    third = integration_sync(integration_id=integration.pk)
    assert third.status == "success", third.error
    assert (third.records_fetched, third.records_created, third.records_updated) == (2, 1, 1)
    assert {p["id"] for b in crm.batches[sent_before:] for p in b["data"]["customers"]} == {ana.pk, fiona.pk}
    assert crm.profiles[ana.pk]["last_name"] == "Lima"


def test_interrupted_push_resumes_after_the_last_accepted_batch(in_alpha, crm, actor):
    from customers.models import Customer
    from integrations.services import integration_sync

    customers(actor, "ana", "bruno", "carla", "davi", "eva")
    integration = make_crm_integration(crm, actor)
    # the CRM accepts the first batch, then fails beyond the retries
    failures = [None, *[fakes.Reply(503, {"error": "maintenance"})] * 3]
    receive = crm.routes[0][2]
    crm.routes[0] = ("POST", crm.routes[0][1], lambda request: (failures.pop(0) if failures else None)
                     or receive(request))

    first = integration_sync(integration_id=integration.pk)

    assert first.status == "error" and first.error_code == "source_unavailable"
    accepted = {p["id"] for p in crm.batches[0]["data"]["customers"]}
    assert first.pages == 1 and len(accepted) == 2 and set(crm.profiles) == accepted
    assert Integration.objects.get(pk=integration.pk).cursor["after"][1] == max(accepted)

    second = integration_sync(integration_id=integration.pk)

    # then the rest follows, and the accepted batch is not sent again
    assert second.status == "success", second.error
    assert set(crm.profiles) == set(Customer.objects.values_list("id", flat=True))
    resent = [p["id"] for b in crm.batches[1:] for p in b["data"]["customers"]]
    assert len(resent) == len(set(resent)) and not set(resent) & accepted


def test_refused_signature_is_an_auth_error_without_the_secret(in_alpha, crm, actor):
    from integrations.services import integration_sync

    customers(actor, "ana")
    integration = make_crm_integration(crm, actor, secret="not-the-crm-secret-0001")

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_auth_failed"
    assert "not-the-crm-secret-0001" not in log.error and not crm.profiles


def test_crm_integration_needs_an_endpoint_and_a_secret_and_is_scheduled(world, api_key, crm, settings):
    from tests.conftest import api_client

    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    body = {"integration_type": "crm_webhook", "account_name": "crm", "credentials": {}}
    missing = client.post("/api/v1/integrations/", body, content_type="application/json")
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"base_url", "credentials"}

    settings.CDP_ALLOW_PRIVATE_URLS = False
    internal = client.post("/api/v1/integrations/", {**body, "base_url": f"{crm.url}/api/cdp/customers",
                                                     "credentials": {"signing_secret": crm.secret}},
                           content_type="application/json")
    assert internal.status_code == 400 and internal.json()["error"]["code"] == "unsafe_url"

    settings.CDP_ALLOW_PRIVATE_URLS = True
    created = client.post("/api/v1/integrations/", {**body, "base_url": f"{crm.url}/api/cdp/customers",
                                                    "credentials": {"signing_secret": crm.secret}},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    from django_tenants.utils import tenant_context

    from integrations.selectors import integrations_due

    with tenant_context(world.alpha):
        assert created.json()["id"] in integrations_due()

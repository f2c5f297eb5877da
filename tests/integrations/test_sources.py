"""MercadoLibre (refresh-token flow, offset paging, packs, 64-bit ids), Google Ads searchStream
and Meta insights (string metrics, cursor paging, one purchase action type) against fakes."""

import datetime
import decimal
import logging
import time

import pytest

from integrations import crypto
from integrations.models import AdSpendDaily, Integration, MercadoLibreOrder
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_ml_integration


def test_ml_refresh_token_flow_paging_and_packs(in_alpha, meli, actor):
    from customers.models import Customer, Order
    from integrations.services import integration_credentials, integration_sync

    # given 7 orders: two carts (pack of 2, pack of 3) and two single orders, plus a test order
    meli.orders += [fakes.ml_order(1, created=days_ago(5)),
                    fakes.ml_order(2, created=days_ago(4), pack_id=2000000111111111),
                    fakes.ml_order(3, created=days_ago(4), pack_id=2000000111111111),
                    fakes.ml_order(4, created=days_ago(3), pack_id=2000000222222222),
                    fakes.ml_order(5, created=days_ago(3), pack_id=2000000222222222),
                    fakes.ml_order(6, created=days_ago(3), pack_id=2000000222222222, status="cancelled"),
                    fakes.ml_order(7, created=days_ago(2), tags=["test_order"])]
    integration = make_ml_integration(meli, actor)
    first_refresh = meli.refresh_token

    # when
    log = integration_sync(integration_id=integration.pk)

    # then the refresh token was traded and the NEW pair stored, encrypted
    assert log.status == "success", log.error
    token_call = meli.hits("/oauth/token")[0].form()
    assert token_call["grant_type"] == "refresh_token" and token_call["refresh_token"] == first_refresh
    integration.refresh_from_db()
    stored = integration_credentials(integration=integration)
    assert stored["refresh_token"] == meli.refresh_token != first_refresh
    assert stored["access_token"] == meli.access_token
    assert meli.refresh_token not in integration.credentials_encrypted
    # offset paging, seller and date window in the real parameter names
    searches = meli.hits("/orders/search")
    assert [s.query["offset"] for s in searches] == ["0", "3", "6"]
    assert searches[0].query["seller"] == "987654" and searches[0].query["sort"] == "date_asc"
    assert "order.date_created.from" in searches[0].query
    # carts are one order each; ids stay exact 64-bit strings; the test order is skipped
    ids = set(Order.objects.filter(source="mercadolibre").values_list("external_order_id", flat=True))
    assert ids == {"2000009876543211", "pack-2000000111111111", "pack-2000000222222222"}
    big = Order.objects.get(external_order_id="pack-2000000222222222")
    assert big.total_amount == decimal.Decimal("3001.00")  # the cancelled order of the cart is not counted
    assert MercadoLibreOrder.objects.filter(order_id="2000009876543216").exists()
    customer = Customer.objects.get(pk=big.customer_id)
    assert customer.document_number == "20123456"
    assert not customer.email  # the relay alias is not an address
    assert customer.identities.filter(source="mercadolibre", external_id="123456789").exists()


def test_ml_expired_access_token_is_refreshed_once_on_401(in_alpha, meli, actor):
    from integrations.services import integration_sync, integration_update

    meli.orders.append(fakes.ml_order(1, created=days_ago(1)))
    integration = make_ml_integration(meli, actor)
    integration_sync(integration_id=integration.pk)
    meli.access_token = "revoked-by-ml"  # the stored token no longer works
    integration_update(integration_id=integration.pk, actor=actor)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success", log.error
    assert len(meli.hits("/oauth/token")) == 2


def test_ml_refused_refresh_is_auth_error(in_alpha, meli, actor):
    from integrations.services import integration_sync

    integration = make_ml_integration(meli, actor)
    meli.refresh_token = "someone-else-used-it"

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_auth_failed"
    assert "invalid_grant" in log.error and "Reconnect" in log.error
    assert meli.client_secret not in log.error and "someone-else-used-it" not in log.error
    assert not meli.hits("/orders/search")


def gads_result(day: str, campaign: str, micros: str, conversions=4.0, value=540.0) -> dict:
    return {"campaign": {"resourceName": f"customers/1234567890/campaigns/{campaign}", "id": campaign,
                         "name": f"Campaign {campaign}"},
            "segments": {"date": day},
            "metrics": {"costMicros": micros, "clicks": "80", "impressions": "1000", "conversions": conversions,
                        "conversionsValue": value}}


def test_google_ads_search_stream_into_daily_spend(in_alpha, gads, actor):
    from integrations.services import integration_create, integration_sync

    today = datetime.date.today()
    day1, day2 = (today - datetime.timedelta(days=2)).isoformat(), (today - datetime.timedelta(days=1)).isoformat()
    gads.batches = [[gads_result(day1, "9876543210", "2500000000")],
                    [gads_result(day2, "9876543210", "1234567"), gads_result(day2, "9876543211", "0", 0.0, 0.0)]]
    integration = integration_create(
        integration_type="google_ads", account_name="ads-alpha", base_url=gads.url, actor=actor,
        config={"customer_id": "123-456-7890", "currency": "BRL"},
        credentials={"developer_token": gads.developer_token, "access_token": gads.access_token})

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success", log.error
    assert (log.pages, log.records_created) == (2, 3)
    call = gads.hits("googleAds:searchStream")[0]
    assert call.path == "/v21/customers/1234567890/googleAds:searchStream"
    assert "FROM campaign WHERE segments.date BETWEEN" in call.json()["query"]
    row = AdSpendDaily.objects.get(campaign_id="9876543210", date=day1)
    assert row.spend == decimal.Decimal("2500.00") and row.clicks == 80 and row.impressions == 1000
    assert row.conversions == decimal.Decimal("4.00") and row.conversion_value == decimal.Decimal("540.00")
    assert row.channel == "google_ads" and row.currency == "BRL"
    assert AdSpendDaily.objects.get(campaign_id="9876543210", date=day2).spend == decimal.Decimal("1.23")

    # a second sync restates the same days: updated or unchanged, never duplicated
    again = integration_sync(integration_id=integration.pk)
    assert again.records_created == 0 and AdSpendDaily.objects.count() == 3


def make_gads_integration(gads, actor, **credentials):
    from integrations.services import integration_create

    return integration_create(
        integration_type="google_ads", account_name="ads-alpha", base_url=gads.url, actor=actor,
        config={"customer_id": "123-456-7890", "currency": "BRL", "oauth_base_url": gads.url},
        credentials={"developer_token": gads.developer_token, "client_id": gads.client_id,
                     "client_secret": gads.client_secret, "refresh_token": gads.refresh_token, **credentials})


def test_google_ads_access_token_from_refresh_token_is_cached(in_alpha, gads, actor):
    from integrations.services import integration_credentials, integration_sync

    gads.batches = [[gads_result(datetime.date.today().isoformat(), "1", "1000000")]]
    integration = make_gads_integration(gads, actor)

    first = integration_sync(integration_id=integration.pk)

    # then the token endpoint at the configured base URL traded the refresh token for an access token
    assert first.status == "success", first.error
    (token_call,) = gads.hits("/token")
    assert token_call.path == "/token" and token_call.form() == {
        "grant_type": "refresh_token", "client_id": gads.client_id, "client_secret": gads.client_secret,
        "refresh_token": gads.refresh_token}
    assert "developer-token" not in token_call.headers and "authorization" not in token_call.headers
    (stream,) = gads.hits("googleAds:searchStream")
    assert stream.headers["authorization"] == "Bearer ya29.a0-access-0001-secret"
    assert stream.headers["developer-token"] == gads.developer_token
    integration.refresh_from_db()
    stored = integration_credentials(integration=integration)
    assert stored["access_token"] == "ya29.a0-access-0001-secret" and stored["expires_at"] > time.time() + 3000
    assert "ya29.a0-access-0001-secret" not in integration.credentials_encrypted

    # when the next sync runs within the token's life, it reuses the token
    assert integration_sync(integration_id=integration.pk).status == "success"
    assert len(gads.hits("/token")) == 1 and len(gads.hits("googleAds:searchStream")) == 2


def test_google_ads_token_is_refreshed_shortly_before_it_expires(in_alpha, gads, actor):
    from integrations.services import integration_sync

    gads.expires_in = 200  # still valid at the next sync, but within the 5-minute margin
    integration = make_gads_integration(gads, actor)
    integration_sync(integration_id=integration.pk)

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success", log.error
    assert len(gads.hits("/token")) == 2
    assert gads.hits("googleAds:searchStream")[-1].headers["authorization"] == "Bearer ya29.a0-access-0002-secret"


def test_google_ads_401_refreshes_once_then_retries(in_alpha, gads, actor):
    from integrations.services import integration_sync

    integration = make_gads_integration(gads, actor)
    integration_sync(integration_id=integration.pk)
    gads.revoke_tokens()  # the cached token still looks fresh to us

    # when the API refuses it: one refresh, one retry
    log = integration_sync(integration_id=integration.pk)
    assert log.status == "success", log.error
    assert len(gads.hits("/token")) == 2 and len(gads.hits("googleAds:searchStream")) == 3

    # a refusal that a new token does not cure ends the sync after one refresh, not in a loop
    gads.developer_token = "GADS-devtoken-rotated"
    log = integration_sync(integration_id=integration.pk)
    assert log.status == "error" and log.error_code == "source_auth_failed"
    assert len(gads.hits("/token")) == 3 and len(gads.hits("googleAds:searchStream")) == 5


def test_google_ads_refused_refresh_token_ends_the_sync_without_leaking(in_alpha, gads, actor, caplog):
    from cdp.exceptions import ApplicationError
    from integrations.services import integration_create, integration_sync

    caplog.set_level(logging.DEBUG)
    integration = make_gads_integration(gads, actor)
    secrets = [gads.client_secret, gads.refresh_token, gads.developer_token]
    gads.refresh_token = "1//issued-after-a-revocation"  # ours was revoked: invalid_grant

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "error" and log.error_code == "source_auth_failed"
    assert "invalid_grant" in log.error and "Reconnect" in log.error
    assert not gads.hits("googleAds:searchStream")
    integration.refresh_from_db()
    for text in (log.error, integration.last_sync_error, caplog.text):
        assert not any(secret in text for secret in secrets)
    # without an access token, the refresh credentials are required up front
    with pytest.raises(ApplicationError) as refused:
        integration_create(integration_type="google_ads", account_name="ads-beta", actor=actor,
                           config={"customer_id": "1"}, credentials={"developer_token": "x"})
    assert "refresh_token" in refused.value.fields["credentials"][0]


def meta_row(day: str, campaign: str, spend: str) -> dict:
    purchase = [{"action_type": t, "value": "3"} for t in
                ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")]
    values = [{"action_type": t, "value": "450.75"} for t in
              ("purchase", "omni_purchase", "offsite_conversion.fb_pixel_purchase")]
    return {"campaign_id": campaign, "campaign_name": f"FB {campaign}", "spend": spend, "impressions": "12000",
            "clicks": "340", "actions": [{"action_type": "link_click", "value": "340"}, *purchase],
            "action_values": values, "date_start": day, "date_stop": day}


def test_facebook_insights_cursor_paging_and_one_purchase_type(in_alpha, meta, actor):
    from integrations.services import integration_create, integration_sync

    today = datetime.date.today()
    days = [(today - datetime.timedelta(days=d)).isoformat() for d in (3, 2, 1)]
    meta.rows = [meta_row(day, campaign, "100.50") for day in days for campaign in ("23850001", "23850002")]
    integration = integration_create(
        integration_type="facebook_ads", account_name="fb-alpha", base_url=meta.url, actor=actor,
        config={"ad_account_id": "act_1234567", "purchase_action_type": "omni_purchase"},
        credentials={"access_token": meta.access_token})

    log = integration_sync(integration_id=integration.pk)

    assert log.status == "success", log.error
    assert log.pages == 3 and AdSpendDaily.objects.filter(channel="facebook_ads").count() == 6
    calls = meta.hits("/insights")
    assert calls[0].path == "/v21.0/act_1234567/insights" and "after" not in calls[0].query
    assert calls[1].query["after"] == "2" and calls[0].query["level"] == "campaign"
    assert "access_token" not in calls[0].query  # the token travels in a header
    row = AdSpendDaily.objects.get(campaign_id="23850001", date=days[0])
    assert row.spend == decimal.Decimal("100.50")
    assert row.conversions == decimal.Decimal("3.00")  # not 9: one purchase type, never the sum
    assert row.conversion_value == decimal.Decimal("450.75")


def test_facebook_interrupted_paging_resumes_from_cursor(in_alpha, meta, actor):
    from integrations.services import integration_create, integration_sync

    today = datetime.date.today()
    meta.rows = [meta_row((today - datetime.timedelta(days=d)).isoformat(), "1", "5") for d in range(6)]
    integration = integration_create(
        integration_type="facebook_ads", account_name="fb-alpha", base_url=meta.url, actor=actor,
        config={"ad_account_id": "1234567"}, credentials={"access_token": meta.access_token})
    meta.script("/insights", fakes.Reply(200, {"data": meta.rows[:2], "paging": {
        "cursors": {"before": "0", "after": "2"}, "next": "https://graph.facebook.com/x"}}),
        *[fakes.Reply(500, b"")] * 3)

    first = integration_sync(integration_id=integration.pk)
    assert first.status == "error" and AdSpendDaily.objects.count() == 2
    assert Integration.objects.get(pk=integration.pk).cursor["after"] == "2"

    second = integration_sync(integration_id=integration.pk)
    assert second.status == "success" and AdSpendDaily.objects.count() == 6
    assert meta.hits("/insights")[-3].query["after"] == "2"


def test_credentials_are_encrypted_at_rest_and_rotate(in_alpha, meli, actor, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from integrations.services import integration_credentials

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CDP_CREDENTIALS_KEYS = old  # the environment variable becomes this setting
    integration = make_ml_integration(meli, actor)
    token = Integration.objects.get(pk=integration.pk).credentials_encrypted
    assert meli.client_secret not in token

    # a new key first, the old one kept: old tokens still read; rotate re-encrypts with the new
    settings.CDP_CREDENTIALS_KEYS = f"{new},{old}"
    assert integration_credentials(integration=integration)["client_secret"] == meli.client_secret
    call_command("rotate_credentials", "--tenant", "alpha")
    settings.CDP_CREDENTIALS_KEYS = new
    integration.refresh_from_db()
    assert integration.credentials_encrypted != token
    assert integration_credentials(integration=integration)["client_secret"] == meli.client_secret
    assert crypto.fernet() is not None

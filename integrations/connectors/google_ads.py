"""Google Ads: ``POST /v{N}/customers/{id}/googleAds:searchStream`` with a GAQL campaign query.
The answer is a JSON array of batches; 64-bit numbers (``costMicros``, clicks) are strings.
Cost = costMicros / 1,000,000 in the account currency.

Every call carries the ``developer-token`` header and a bearer access token that Google's OAuth
server issues for the refresh token (``POST {oauth_base_url}/token``, about an hour long). The
OAuth server is another host (config ``oauth_base_url``, like ``base_url`` for the API), and it
gets neither the developer token nor an access token."""

from __future__ import annotations

from collections.abc import Iterator

from integrations.connectors.ads import CENT, AdsConnector, dec
from integrations.connectors.base import OAuthRefresh, Page
from integrations.http import HttpClient, SourceBadResponse

QUERY = ("SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros, metrics.clicks, "
         "metrics.impressions, metrics.conversions, metrics.conversions_value FROM campaign "
         "WHERE segments.date BETWEEN '{since}' AND '{until}'")
DEFAULT_OAUTH_BASE_URL = "https://oauth2.googleapis.com"


def google_ads_row(result: dict) -> dict:
    campaign = result.get("campaign") or {}
    metrics = result.get("metrics") or {}
    return {
        "channel": "google_ads",
        "date": (result.get("segments") or {}).get("date"),
        "campaign_id": str(campaign.get("id") or ""),
        "campaign_name": (campaign.get("name") or "")[:255],
        "spend": (dec(metrics.get("costMicros")) / 1_000_000).quantize(CENT),
        "clicks": int(dec(metrics.get("clicks"))),
        "impressions": int(dec(metrics.get("impressions"))),
        "conversions": dec(metrics.get("conversions")).quantize(CENT),
        "conversion_value": dec(metrics.get("conversionsValue")).quantize(CENT),
        "raw": result,
    }


class GoogleAdsConnector(OAuthRefresh, AdsConnector):
    default_base_url = "https://googleads.googleapis.com"
    required_credentials = ("developer_token",)
    required_config = ("customer_id",)
    token_path = "/token"

    def headers(self) -> dict:
        headers = {"Accept": "application/json", "developer-token": self.credentials["developer_token"]}
        if self.credentials.get("access_token"):
            headers["Authorization"] = f"Bearer {self.credentials['access_token']}"
        if self.config.get("login_customer_id"):
            headers["login-customer-id"] = str(self.config["login_customer_id"]).replace("-", "")
        return headers

    @classmethod
    def credential_urls(cls, integration) -> tuple[str, ...]:
        oauth = (integration.config or {}).get("oauth_base_url") or DEFAULT_OAUTH_BASE_URL
        return (*super().credential_urls(integration), oauth)

    def token_client(self) -> HttpClient:
        client = getattr(self, "_oauth_client", None)
        if client is None:
            client = self._oauth_client = self.new_client(
                base_url=self.config.get("oauth_base_url") or DEFAULT_OAUTH_BASE_URL,
                headers={"Accept": "application/json"}, label="google_ads oauth")
        return client

    def pages(self, cursor: dict) -> Iterator[Page]:
        since, until = self.date_window(cursor)
        version = str(self.config.get("api_version") or "v21").lstrip("v")
        customer_id = str(self.config["customer_id"]).replace("-", "")
        batches = self.authorized(lambda: self.client().post(
            f"/v{version}/customers/{customer_id}/googleAds:searchStream",
            json_body={"query": QUERY.format(since=since, until=until)}))
        if not isinstance(batches, list):
            raise SourceBadResponse("google_ads searchStream: expected a JSON array of result batches.")
        window = {"since_date": since.isoformat(), "until_date": until.isoformat()}
        if not batches:
            yield Page(items=[], cursor={"since_date": until.isoformat()}, window=window)
            return
        for index, batch in enumerate(batches):
            last = index == len(batches) - 1
            yield Page(items=list((batch or {}).get("results") or []),
                       cursor={"since_date": until.isoformat()} if last else window, window=window)

    def records(self, items: list[dict]) -> list[dict]:
        return [google_ads_row(item) for item in items]

"""Meta (Facebook) Ads insights: ``GET /v{N}/act_{id}/insights`` at campaign level, one row per
day, cursor paging. Every metric is a string. ``actions`` lists overlapping variants of one
purchase (``purchase``, ``omni_purchase``, ``offsite_conversion.fb_pixel_purchase``) with equal
values: we count ONE chosen type (config ``purchase_action_type``), never their sum."""

from __future__ import annotations

import json
from collections.abc import Iterator

from integrations.connectors.ads import CENT, AdsConnector, dec
from integrations.connectors.base import Page

FIELDS = "campaign_id,campaign_name,spend,impressions,clicks,actions,action_values,date_start,date_stop"
#: Tried in this order when the configured type is absent from a row.
PURCHASE_TYPES = ("omni_purchase", "purchase", "offsite_conversion.fb_pixel_purchase", "onsite_web_purchase")


def _action(rows, wanted: list[str]):
    by_type = {row.get("action_type"): row.get("value") for row in rows or [] if isinstance(row, dict)}
    for action_type in wanted:
        if action_type in by_type:
            return dec(by_type[action_type])
    return dec(0)


def facebook_ads_row(row: dict, *, purchase_type: str) -> dict:
    wanted = [purchase_type, *[t for t in PURCHASE_TYPES if t != purchase_type]]
    return {
        "channel": "facebook_ads",
        "date": row.get("date_start"),
        "campaign_id": str(row.get("campaign_id") or ""),
        "campaign_name": (row.get("campaign_name") or "")[:255],
        "spend": dec(row.get("spend")).quantize(CENT),
        "clicks": int(dec(row.get("clicks"))),
        "impressions": int(dec(row.get("impressions"))),
        "conversions": _action(row.get("actions"), wanted).quantize(CENT),
        "conversion_value": _action(row.get("action_values"), wanted).quantize(CENT),
        "raw": row,
    }


class FacebookAdsConnector(AdsConnector):
    default_base_url = "https://graph.facebook.com"
    required_credentials = ("access_token",)
    required_config = ("ad_account_id",)

    def headers(self) -> dict:
        # The token goes in a header, not the query string, so it never lands in access logs.
        return {"Accept": "application/json", "Authorization": f"Bearer {self.credentials['access_token']}"}

    def pages(self, cursor: dict) -> Iterator[Page]:
        since, until = self.date_window(cursor)
        version = str(self.config.get("api_version") or "v21.0").lstrip("v")
        account = str(self.config["ad_account_id"]).removeprefix("act_")
        after = cursor.get("after") if cursor.get("until_date") else None
        window = {"since_date": since.isoformat(), "until_date": until.isoformat()}
        while True:
            params = {"level": "campaign", "time_increment": 1, "fields": FIELDS, "limit": 500,
                      "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()})}
            if after:
                params["after"] = after
            answer = self.client().get(f"/v{version}/act_{account}/insights", params=params)
            paging = answer.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            rows = answer.get("data") or []
            if not paging.get("next") or not after or not rows:
                yield Page(items=rows, cursor={"since_date": until.isoformat()}, window=window)
                return
            yield Page(items=rows, cursor={**window, "after": after}, window=window)

    def records(self, items: list[dict]) -> list[dict]:
        purchase_type = self.config.get("purchase_action_type") or PURCHASE_TYPES[0]
        return [facebook_ads_row(item, purchase_type=purchase_type) for item in items]

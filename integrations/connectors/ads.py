"""What the two ad connectors share: date windows with a look-back (platforms restate recent
days as late conversions arrive) and decimal parsing of their string metrics."""

from __future__ import annotations

import datetime
import decimal

from integrations import conf
from integrations.connectors.base import Connector

CENT = decimal.Decimal("0.01")


def dec(value, default: str = "0") -> decimal.Decimal:
    try:
        return decimal.Decimal(str(value if value not in (None, "") else default))
    except decimal.InvalidOperation:
        return decimal.Decimal(default)


class AdsConnector(Connector):
    kind = "spend"

    def date_window(self, cursor: dict) -> tuple[datetime.date, datetime.date]:
        today = self.now().date()
        if cursor.get("until_date") and cursor.get("since_date"):  # an interrupted window
            return (datetime.date.fromisoformat(cursor["since_date"]),
                    datetime.date.fromisoformat(cursor["until_date"]))
        if cursor.get("since_date"):
            lookback = datetime.timedelta(days=int(conf.get("INTEGRATIONS_ADS_LOOKBACK_DAYS")))
            since = datetime.date.fromisoformat(cursor["since_date"]) - lookback
        else:
            since = today - datetime.timedelta(days=int(conf.get("INTEGRATIONS_INITIAL_BACKFILL_DAYS")))
        return min(since, today), today

    def currency(self) -> str:
        return (self.config.get("currency") or "").upper()

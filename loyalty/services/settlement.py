"""The partner settlement (seed 002's coalition economics): each month, what every partner funded
and what was redeemed at it.

- Funded: the ``partner_funded`` points of the ledger entries at the partner in the month (its
  funding share of the points members earned at it, less what was given back when an order
  stopped being a sale).
- Redeemed at the partner: the points of the rewards redeemed in the month whose voucher is valid
  only at the partner, or, for a reward valid anywhere, whose voucher was used at the partner.
- Net = funded - redeemed: > 0 the partner owes the program, < 0 the program owes it; in money at
  the program's ``point_value``.
Statements are stored (one per partner and month) and recomputed idempotently: nightly for the
current and previous month (``cdp/schedules.py``), or on demand (API, admin).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.services.common import audit
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import Partner, PartnerSettlement
from loyalty.selectors import loyalty_program_get, partner_settlement_figures, tenant_currency


def period_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The calendar month holding ``day``: (its first day, the next month's first day)."""
    start = day.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, end


@transaction.atomic
def partner_settlements_compute(*, period: datetime.date, actor: Actor,
                                now: datetime.datetime | None = None) -> list[PartnerSettlement]:
    """Compute (or recompute) every partner's statement for the month holding ``period``; returns
    them. Idempotent: a second run overwrites the figures of the first. 400 ``settlement_invalid``
    for a month that has not started."""
    now = now or timezone.now()
    start, end = period_bounds(period)
    if start > timezone.localdate(now):
        raise ApplicationError("This period has not started yet.", code=ErrorCode.SETTLEMENT_INVALID,
                               fields={"period": ["A month that has started."]})
    program = loyalty_program_get()
    point_value = Decimal(program.point_value)
    currency = tenant_currency()
    figures = partner_settlement_figures(start=start, end=end)
    statements = []
    for partner in Partner.objects.order_by("id"):
        row = figures.get(partner.pk, {})
        funded, redeemed = row.get("points_funded", 0), row.get("points_redeemed", 0)
        net = funded - redeemed
        statement, _ = PartnerSettlement.objects.update_or_create(
            partner=partner, period_start=start,
            defaults={"period_end": end, "points_earned": row.get("points_earned", 0), "points_funded": funded,
                      "points_redeemed": redeemed, "net_points": net, "point_value": point_value,
                      "amount": (net * point_value).quantize(Decimal("0.01")), "currency": currency,
                      "computed_at": now})
        statements.append(statement)
    audit(actor=actor, action=AuditAction.SETTLEMENT_COMPUTE, resource_type="loyalty_settlement",
          resource_id=start.isoformat(), changes={"period": start.strftime("%Y-%m"), "partners": len(statements)})
    return statements


def partner_settlements_refresh(*, now: datetime.datetime | None = None) -> int:
    """The nightly job: this month's and last month's statements (late reversals and voucher uses
    change last month's until it is settled). Returns the statements written."""
    today = timezone.localdate(now or timezone.now())
    this_month, _ = period_bounds(today)
    last_month, _ = period_bounds(this_month - datetime.timedelta(days=1))
    actor = Actor.system("loyalty-settlement")
    return sum(len(partner_settlements_compute(period=month, actor=actor, now=now))
               for month in (last_month, this_month))

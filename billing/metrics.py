"""Revenue metrics for staff (reads only). MRR excludes taxes; annual plans count price / 12.

Every change to recurring revenue is an ``MrrMovement`` (new, expansion, contraction, churn,
reactivation), so MRR at any instant is the sum of movements before it, and the monthly series
splits each month's change into its kinds.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.html import escape

from billing.models import Coupon, MrrMovement, Order, Subscription
from billing.money import ZERO, q2


def month_start(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime.datetime) -> datetime.datetime:
    return (moment.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def mrr_at(*, moment: datetime.datetime) -> Decimal:
    """Monthly recurring revenue in force just before ``moment``."""
    return MrrMovement.objects.filter(occurred_at__lt=moment).aggregate(v=Sum("amount"))["v"] or ZERO


def paying_accounts_at(*, moment: datetime.datetime) -> int:
    """Tenants whose recurring revenue was above zero just before ``moment``."""
    rows = (MrrMovement.objects.filter(occurred_at__lt=moment).values("tenant_id")
            .annotate(total=Sum("amount")).filter(total__gt=0))
    return rows.count()


def revenue_series(*, months: int = 12, now: datetime.datetime | None = None) -> list[dict]:
    """One row per calendar month (oldest first, the current month last): MRR at the month's end
    (or now), its new / expansion / contraction / churned MRR, ARR, paying accounts and ARPA."""
    now = now or timezone.now()
    first = month_start(now)
    for _ in range(months - 1):
        first = month_start(first - datetime.timedelta(days=1))
    rows = []
    start = first
    while start <= now:
        end = min(next_month(start), now)
        kinds = dict(MrrMovement.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
                     .values_list("kind").annotate(total=Sum("amount")).order_by())
        mrr = mrr_at(moment=end)
        accounts = paying_accounts_at(moment=end)
        rows.append({
            "month": start.strftime("%Y-%m"),
            "mrr": mrr,
            "arr": mrr * 12,
            "new": kinds.get(MrrMovement.Kind.NEW, ZERO),
            "expansion": kinds.get(MrrMovement.Kind.EXPANSION, ZERO),
            "contraction": -kinds.get(MrrMovement.Kind.CONTRACTION, ZERO),
            "churned": -kinds.get(MrrMovement.Kind.CHURN, ZERO),
            "reactivation": kinds.get(MrrMovement.Kind.REACTIVATION, ZERO),
            "accounts": accounts,
            "arpa": q2(mrr / accounts) if accounts else ZERO,
        })
        start = next_month(start)
    return rows


def coupon_conversion() -> list[dict]:
    """Per coupon: checkouts that tried it, those that were paid, conversion and revenue."""
    paid_states = [Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED]
    rows = Coupon.objects.annotate(
        attempts=Count("orders"),
        paid=Count("orders", filter=Q(orders__status__in=paid_states)),
        revenue=Sum("orders__total", filter=Q(orders__status__in=paid_states)),
    ).order_by("code")
    return [{"code": c.code, "attempts": c.attempts, "paid": c.paid, "revenue": c.revenue or ZERO,
             "conversion": (q2(Decimal(c.paid) * 100 / c.attempts) if c.attempts else ZERO)} for c in rows]


def revenue_summary(*, now: datetime.datetime | None = None) -> dict:
    """Headline figures now: MRR, ARR, paying accounts, ARPA, this month's movements, and coupon
    conversion (share of coupon checkouts that were paid)."""
    now = now or timezone.now()
    series = revenue_series(months=12, now=now)
    current = series[-1]
    coupons = coupon_conversion()
    attempts = sum(c["attempts"] for c in coupons)
    paid = sum(c["paid"] for c in coupons)
    return {
        **current,
        "subscriptions": Subscription.objects.exclude(status=Subscription.Status.CANCELLED).count(),
        "past_due": Subscription.objects.filter(status=Subscription.Status.PAST_DUE).count(),
        "coupon_conversion": q2(Decimal(paid) * 100 / attempts) if attempts else ZERO,
        "coupons": coupons,
        "series": series,
    }


def mrr_chart_svg(series: list[dict], *, width: int = 720, height: int = 240) -> str:
    """A bar chart of MRR by month, as inline SVG (server-side: no script, no CDN)."""
    pad_left, pad_bottom, pad_top = 60, 30, 14
    values = [float(row["mrr"]) for row in series] or [0.0]
    top = max(values) or 1.0
    bar_space = (width - pad_left - 10) / max(len(series), 1)
    plot_h = height - pad_bottom - pad_top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="MRR by month" '
             f'viewBox="0 0 {width} {height}" width="100%" class="mrr-chart">',
             f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 10}" y2="{pad_top + plot_h}" '
             'stroke="#9ca3af"/>',
             f'<text x="{pad_left - 6}" y="{pad_top + 4}" text-anchor="end" font-size="10">{top:,.0f}</text>',
             f'<text x="{pad_left - 6}" y="{pad_top + plot_h}" text-anchor="end" font-size="10">0</text>']
    for i, (row, value) in enumerate(zip(series, values)):
        h = plot_h * value / top
        x = pad_left + i * bar_space + bar_space * 0.15
        w = bar_space * 0.7
        y = pad_top + plot_h - h
        label = escape(row["month"])
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#2563eb">'
                     f'<title>{label}: {value:,.2f}</title></rect>')
        parts.append(f'<text x="{x + w / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="10">'
                     f'{label[2:]}</text>')
    parts.append("</svg>")
    return "".join(parts)

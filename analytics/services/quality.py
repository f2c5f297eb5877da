"""Data-quality checks over customers and orders, and the data-health score."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from analytics import conf
from analytics.figures import data_health_score
from analytics.models import DataQualityCheck
from customers.models import Customer, DuplicateCandidate, Order, OrderItem
from customers.selectors import counted_statuses

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
PHONE_RE = r"^\+[1-9][0-9]{6,14}$"
#: An order still waiting for its payment after this long was most likely never paid.
STALE_PENDING = datetime.timedelta(days=14)


def _invalid_document() -> Q:
    # Documents are sealed at rest: whether each passes its type's check digits and format is kept
    # beside it (customers/documents.py); new ones are refused, older ones are flagged here.
    return Q(document_number__isnull=False) & Q(document_valid=False)


def _checks(now):
    """(code, label, target, severity, condition, alone): ``alone`` conditions are counted in a
    query of their own (a correlated EXISTS is a join there, a per-row probe inside an aggregate).
    Checks about sales use the tenant's counted-sale rule (customers owns it)."""
    sale = Q(status__in=counted_statuses())
    pending_pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.PENDING)
    in_pair = Q(Exists(pending_pairs.filter(customer_a=OuterRef("pk")))) | Q(
        Exists(pending_pairs.filter(customer_b=OuterRef("pk"))))
    yield "missing_email", "Customers without an email", "customer", "warning", Q(email__isnull=True), False
    yield ("invalid_email", "Customers with an invalid email", "customer", "error",
           Q(email__isnull=False) & ~Q(email__regex=EMAIL_RE), False)
    yield "missing_phone", "Customers without a phone", "customer", "info", Q(phone=""), False
    yield ("invalid_phone", "Phones not in E.164 form", "customer", "warning", ~Q(phone="") & ~Q(phone__regex=PHONE_RE),
           False)
    yield ("missing_document", "Customers without a document", "customer", "info", Q(document_number__isnull=True),
           False)
    yield "invalid_document", "Documents failing their check digits or format", "customer", "error", _invalid_document(), False
    yield "duplicate_candidates", "Customers in unreviewed duplicate pairs", "customer", "warning", in_pair, True
    yield ("orders_without_items", "Orders without items", "order", "warning",
           ~Q(Exists(OrderItem.objects.filter(order=OuterRef("pk")))), True)
    yield "non_positive_totals", "Sales with a zero or negative total", "order", "error", sale & Q(total_amount__lte=0), False
    yield ("sales_without_payment", "Sales whose payment failed, was cancelled or refunded", "order", "warning",
           sale & Q(payment_status__in=[Order.PaymentStatus.FAILED, Order.PaymentStatus.CANCELLED,
                                        Order.PaymentStatus.REFUNDED]), False)
    yield ("stale_pending", "Orders pending for more than two weeks (not counted as sales)", "order", "info",
           ~sale & Q(status=Order.Status.PENDING, order_date__lt=now - STALE_PENDING), False)
    yield "future_dates", "Orders dated in the future", "order", "error", Q(order_date__gt=now), False


def data_quality_check(*, tenant, as_of: datetime.date, job=None) -> dict:
    """Run every check, replace the day's results and return the step summary with the score.
    Each table is counted in one pass for all its simple checks."""
    now = timezone.now()
    sample_size = int(conf.get("ANALYTICS_DQ_SAMPLE_SIZE"))
    querysets = {"customer": Customer.objects.exclude(status=Customer.Status.MERGED), "order": Order.objects.all()}
    checks = list(_checks(now))
    counts = {}
    for target, queryset in querysets.items():
        counts.update(queryset.aggregate(
            **{f"checked_{target}": Count("pk")},
            **{code: Count("pk", filter=condition) for code, _, kind, _, condition, alone in checks
               if kind == target and not alone},
        ))
    DataQualityCheck.objects.filter(as_of=as_of).delete()
    results = []
    for code, label, target, severity, condition, alone in checks:
        offending = querysets[target].filter(condition)
        failed = offending.count() if alone else counts[code]
        sample = []
        if failed and target == "order":
            sample = [{"id": oid, "customer_id": cid}
                      for oid, cid in offending.order_by("-id").values_list("id", "customer_id")[:sample_size]]
        elif failed:
            sample = [{"id": cid, "customer_id": cid}
                      for cid in offending.order_by("-id").values_list("id", flat=True)[:sample_size]]
        results.append(DataQualityCheck(job=job, as_of=as_of, code=code, label=label, target=target,
                                        severity=severity, checked=counts[f"checked_{target}"], failed=failed,
                                        sample_ids=sample))
    DataQualityCheck.objects.bulk_create(results)
    return {"rows": len(results), "health_score": data_health_score(results),
            "failed": {check.code: check.failed for check in results}}

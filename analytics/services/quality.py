"""Data-quality checks over customers and orders, and the data-health score."""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from analytics import conf
from analytics.models import DataQualityCheck
from customers.models import Customer, DuplicateCandidate, Order, OrderItem

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
PHONE_RE = r"^\+[1-9][0-9]{6,14}$"
# Digits expected per document type; other types need 5–20 digits.
DOCUMENT_RES = {"dni": r"^[0-9]{7,8}$", "cpf": r"^[0-9]{11}$", "cuit": r"^[0-9]{11}$", "cuil": r"^[0-9]{11}$",
                "rut": r"^[0-9]{8,9}$"}
SEVERITY_WEIGHT = {"error": 3, "warning": 2, "info": 1}


def _invalid_document() -> Q:
    known = Q()
    invalid = Q()
    for doc_type, pattern in DOCUMENT_RES.items():
        known |= Q(document_type=doc_type)
        invalid |= Q(document_type=doc_type) & ~Q(document_number__regex=pattern)
    invalid |= ~known & ~Q(document_number__regex=r"^[0-9]{5,20}$")
    return Q(document_number__isnull=False) & invalid


def _checks(now):
    customers = Customer.objects.exclude(status=Customer.Status.MERGED)
    orders = Order.objects.all()
    pending_pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.PENDING)
    in_pair = Q(Exists(pending_pairs.filter(customer_a=OuterRef("pk")))) | Q(
        Exists(pending_pairs.filter(customer_b=OuterRef("pk"))))
    yield "missing_email", "Customers without an email", "customer", "warning", customers, Q(email__isnull=True)
    yield ("invalid_email", "Customers with an invalid email", "customer", "error", customers,
           Q(email__isnull=False) & ~Q(email__regex=EMAIL_RE))
    yield "missing_phone", "Customers without a phone", "customer", "info", customers, Q(phone="")
    yield ("invalid_phone", "Phones not in E.164 form", "customer", "warning", customers,
           ~Q(phone="") & ~Q(phone__regex=PHONE_RE))
    yield ("missing_document", "Customers without a document", "customer", "info", customers,
           Q(document_number__isnull=True))
    yield "invalid_document", "Documents with a wrong length or format", "customer", "error", customers, _invalid_document()
    yield "duplicate_candidates", "Customers in unreviewed duplicate pairs", "customer", "warning", customers, in_pair
    yield ("orders_without_items", "Orders without items", "order", "warning", orders,
           ~Q(Exists(OrderItem.objects.filter(order=OuterRef("pk")))))
    yield "non_positive_totals", "Orders with a zero or negative total", "order", "error", orders, Q(total_amount__lte=0)
    yield "future_dates", "Orders dated in the future", "order", "error", orders, Q(order_date__gt=now)


def data_quality_check(*, tenant, as_of: datetime.date, job=None) -> dict:
    """Run every check, replace the day's results and return the step summary with the score."""
    now = timezone.now()
    sample_size = int(conf.get("ANALYTICS_DQ_SAMPLE_SIZE"))
    DataQualityCheck.objects.filter(as_of=as_of).delete()
    results = []
    for code, label, target, severity, queryset, condition in _checks(now):
        checked = queryset.count()
        offending = queryset.filter(condition)
        failed = offending.count()
        if target == "order":
            sample = [{"id": oid, "customer_id": cid}
                      for oid, cid in offending.order_by("-id").values_list("id", "customer_id")[:sample_size]]
        else:
            sample = [{"id": cid, "customer_id": cid}
                      for cid in offending.order_by("-id").values_list("id", flat=True)[:sample_size]]
        results.append(DataQualityCheck(job=job, as_of=as_of, code=code, label=label, target=target,
                                        severity=severity, checked=checked, failed=failed, sample_ids=sample))
    DataQualityCheck.objects.bulk_create(results)
    return {"rows": len(results), "health_score": data_health_score(results),
            "failed": {check.code: check.failed for check in results}}


def data_health_score(checks) -> float:
    """0–100: the pass rates of the checks, weighted by severity (errors count three times)."""
    total = sum(SEVERITY_WEIGHT[c.severity] for c in checks)
    if not total:
        return 100.0
    return round(100 * sum(SEVERITY_WEIGHT[c.severity] * c.pass_rate for c in checks) / total, 1)

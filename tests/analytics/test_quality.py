"""Data-quality checks and the data-health score."""

import datetime

from django.utils import timezone

from analytics.models import DataQualityCheck
from analytics.services import data_quality_check

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


def test_data_quality_findings_and_score(alpha, customer_with):
    from customers.models import Order

    good = customer_with(alpha, [(AS_OF - D(days=3), 10)], phone="+5491122334455", document_type="dni",
                         document_number="30123456")
    bad = customer_with(alpha, [(AS_OF - D(days=3), 10)], email="not-an-email", phone="12",
                        document_type="cpf", document_number="123")
    customer_with(alpha, [], email=None)
    Order.objects.filter(customer=good).update(order_date=timezone.now() + D(days=3))
    Order.objects.filter(customer=bad).update(total_amount=0)
    # sales by the counted-sale rule: a free cancelled order is fine, a paid sale whose payment was
    # refunded is not; an order pending for a month was probably never paid
    complete = {"phone": "+5491122334466", "document_type": "dni"}
    customer_with(alpha, [(AS_OF - D(days=3), 0, "cancelled")], document_number="30123457", **complete)
    refunded = customer_with(alpha, [(AS_OF - D(days=3), 50, "paid")], document_number="30123458", **complete)
    Order.objects.filter(customer=refunded).update(payment_status="refunded")
    customer_with(alpha, [(AS_OF - D(days=40), 20, "pending"), (timezone.localdate() - D(days=1), 20, "pending")],
                  document_number="30123459", **complete)
    summary = data_quality_check(tenant=alpha, as_of=AS_OF)
    failed = summary["failed"]
    assert failed["invalid_email"] == 1 and failed["missing_email"] == 1
    assert failed["invalid_phone"] == 1 and failed["missing_phone"] == 1
    assert failed["invalid_document"] == 1 and failed["missing_document"] == 1
    assert failed["future_dates"] == 1 and failed["non_positive_totals"] == 1
    assert failed["sales_without_payment"] == 1 and failed["stale_pending"] == 1
    assert failed["orders_without_items"] == 6
    check = DataQualityCheck.objects.get(as_of=AS_OF, code="invalid_email")
    assert check.sample_ids == [{"id": bad.pk, "customer_id": bad.pk}]
    assert 0 < summary["health_score"] < 100

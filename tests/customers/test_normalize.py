"""Normalization rules, and the bulk loader's SQL restatement of them agreeing with Python."""

from __future__ import annotations

import csv

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from customers.models import Customer
from customers.services.normalize import (
    country_normalize,
    document_number_normalize,
    email_normalize,
    gender_normalize,
    phone_error,
    phone_normalize,
)

PHONES = [("11 4444-5555", "AR"), ("+55 (11) 98888-7777", ""), ("0054 11 4444 5555", ""), ("011 4444 5555", "AR"),
          ("5491144445555", "AR"), ("12345", "AR"), ("555-1234", ""), ("(55) 1234-5678", "MX"), ("abc", "AR"),
          ("+1234567890123456", ""), ("00 12345", ""), ("11 4444 5555 ext 2", "AR"), ("123456", "")]


def test_pure_rules():
    assert email_normalize("  Ana.Perez @Mail.COM ") == "ana.perez@mail.com"
    assert document_number_normalize("20.123.456-7") == "201234567"
    assert document_number_normalize("ab-12 3", "passport") == "AB123"
    assert phone_normalize("11 4444-5555", "AR") == "+541144445555"
    assert phone_normalize("+55 (11) 98888-7777") == "+5511988887777"
    assert phone_normalize("555-1234") == "5551234"
    assert country_normalize("arg") == "AR" and country_normalize("Brasil") == "BR" and country_normalize("X1") is None
    assert gender_normalize("Femenino") == "female" and gender_normalize("?") == ""
    # what a normalizer cannot read is refused, never stored as ""
    assert phone_error("abc") and phone_error("12345") and phone_error("+1234567890123456")
    assert phone_error("") is None and phone_error("011 4444-5555") is None and phone_error("123456") is None


@pytest.mark.parametrize("mode", ["bulk", "records"])
def test_bulk_sql_normalizes_like_python(world, tmp_path, mode):
    path = tmp_path / "phones.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_order_id", "order_date", "total_amount", "customer_email", "customer_phone",
                         "customer_country", "customer_gender"])
        for n, (phone, country) in enumerate(PHONES):
            writer.writerow([f"o{n}", "2024-01-01", "1", f"p{n}@x.com", phone, country, "F" if n % 2 else "hombre"])

    call_command("import_orders", str(path), "--tenant", "alpha", "--mode", mode, "--no-progress")

    with tenant_context(world.alpha):
        got = dict(Customer.objects.values_list("email", "phone"))
        genders = dict(Customer.objects.values_list("email", "gender"))
    for n, (phone, country) in enumerate(PHONES):
        if phone_error(phone):  # the row is rejected on both paths
            assert f"p{n}@x.com" not in got, phone
            continue
        assert got[f"p{n}@x.com"] == phone_normalize(phone, country), phone
        assert genders[f"p{n}@x.com"] == ("female" if n % 2 else "male")

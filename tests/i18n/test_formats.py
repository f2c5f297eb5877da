"""Money, numbers, dates and date inputs as the reader's language and the tenant's zone write them."""

from __future__ import annotations

import datetime
import decimal

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from cdp.formats import format_money, format_number
from customers.filters import CustomerFilter
from customers.models import Customer
from tests.customers.factories import CustomerFactory, OrderFactory


@pytest.mark.parametrize(("language", "currency", "expected"), [
    ("es", "ARS", "$122.400,50"),           # Spanish as written in Argentina: its own peso sign
    ("pt-br", "ARS", "$ 122.400,50"),       # Brazilian separators, the peso's home symbol
    ("en", "ARS", "$122,400.50"),
    ("pt-br", "BRL", "R$ 122.400,50"),
    ("es", "BRL", "122.400,50 R$"),         # Spanish is not official in Brazil: Spanish order, real sign
    ("en", "EUR", "€122,400.50"),
])
def test_money_uses_the_currency_symbol_and_the_locale_separators(language, currency, expected):
    with translation.override(language):
        assert format_money(decimal.Decimal("122400.50"), currency).replace("\xa0", " ") == expected


def test_numbers_get_thousands_separators():
    with translation.override("es"):
        assert format_number(5906500) == "5.906.500" and format_number("54689.816", 2) == "54.689,82"
    with translation.override("en"):
        assert format_number(5906500) == "5,906,500" and format_money(None, "ARS") == ""


def test_the_customer_list_shows_money_and_dates_the_readers_way(world, alpha_client):
    # given an Argentine tenant (pesos, Buenos Aires time) and a customer who spent 46,050,300
    world.alpha.settings = {**world.alpha.settings, "currency": "ARS", "timezone": "America/Argentina/Buenos_Aires"}
    world.alpha.save(update_fields=["settings"])
    with tenant_context(world.alpha):
        # 02:30 UTC on 1 March is still 28 February in Buenos Aires (UTC-3)
        CustomerFactory(first_name="Lucía", total_spent=decimal.Decimal("46050300.00"), total_orders=1234,
                        last_purchase_at=datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC))
    user = world.user("alpha_viewer")
    # when a Spanish reader and an English reader open the list
    user.language = "es"
    user.save(update_fields=["language"])
    spanish = alpha_client(user).get("/customers/").content.decode().replace("\xa0", " ")
    user.language = "en"
    user.save(update_fields=["language"])
    english = alpha_client(user).get("/customers/").content.decode().replace("\xa0", " ")
    # then each sees the peso sign, their separators, and the day it was in Buenos Aires
    assert "$46.050.300,00" in spanish and "1.234" in spanish and "28/02/2026" in spanish
    assert "$46,050,300.00" in english and "1,234" in english and "2026-02-28" in english


def test_order_times_are_in_the_tenants_zone(world, alpha_client):
    world.alpha.settings = {**world.alpha.settings, "timezone": "America/Sao_Paulo"}
    world.alpha.save(update_fields=["settings"])
    with tenant_context(world.alpha):
        customer = CustomerFactory()
        OrderFactory(customer=customer, order_date=datetime.datetime(2026, 1, 10, 12, 0, tzinfo=datetime.UTC))
    page = alpha_client(world.user("alpha_viewer")).get(f"/customers/{customer.pk}/").content.decode()
    assert "2026-01-10 09:00" in page  # 12:00 UTC is 09:00 in São Paulo


def test_date_filters_accept_the_locale_order_and_iso(world):
    with tenant_context(world.alpha):
        CustomerFactory(last_purchase_at=datetime.datetime(2026, 3, 5, 15, tzinfo=datetime.UTC))
        queryset = Customer.objects.all()
        with translation.override("es"):
            spanish = CustomerFilter({"last_purchase_after": "01/03/2026"}, queryset=queryset)
            assert spanish.is_valid() and spanish.qs.count() == 1
            assert 'placeholder="dd/mm/aaaa"' in str(spanish.form["last_purchase_after"])
            assert CustomerFilter({"last_purchase_after": "06/03/2026"}, queryset=queryset).qs.count() == 0
        with translation.override("en"):
            iso = CustomerFilter({"last_purchase_after": "2026-03-01"}, queryset=queryset)
            assert iso.is_valid() and iso.qs.count() == 1
            wrong = CustomerFilter({"last_purchase_after": "13/13/2026"}, queryset=queryset)
            assert not wrong.is_valid() and "last_purchase_after" in wrong.errors

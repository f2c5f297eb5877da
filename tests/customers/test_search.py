"""Search the way people search, in the portal, the admin and the API (customers/search.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from customers.models import Customer
from customers.search import ACCENTED, PLAIN, fold, search_terms
from customers.services.profile import customer_update
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def people(world):
    with tenant_context(world.alpha):
        lucia = CustomerFactory(first_name="Lucía", last_name="Rojas", email="lucia.rojas@example.com",
                                document_type="dni", document_number="30111222", phone="+5491155551234")
        CustomerFactory(first_name="Luciano", last_name="Pérez", email="lp@example.com")
        CustomerFactory(first_name="Ana", last_name="Díaz", email="ana@example.com", document_type="cpf",
                        document_number="12345678909")
        return {"lucia": lucia}


def found(world, text: str) -> list[str]:
    from customers.search import customer_search

    with tenant_context(world.alpha):
        return sorted(c.first_name for c in customer_search(Customer.objects.all(), text))


@pytest.mark.parametrize(("query", "expected"), [
    ("lucia", ["Luciano", "Lucía"]),           # accent- and case-insensitive, and a prefix
    ("LUCÍA", ["Luciano", "Lucía"]),
    ("Lucía Rojas", ["Lucía"]),                # every word must match
    ("rojas lucia", ["Lucía"]),
    ("luc roj", ["Lucía"]),                    # partial words
    ("lucia.rojas", ["Lucía"]),                # part of an e-mail
    ("lucia.rojas@example.com", ["Lucía"]),    # the whole e-mail
    ("30.111.222", ["Lucía"]),                 # a document with punctuation
    ("30111222", ["Lucía"]),                   # and without
    ("123.456.789-09", ["Ana"]),               # a CPF as printed
    ("1155551234", ["Lucía"]),                 # a phone's local number
    ("diaz", ["Ana"]),
    ("nobody", []),
    ("' & | ! ( ) :*", ["Ana", "Luciano", "Lucía"]),  # no words: no filter, and never a query error
])
def test_search_finds_people_as_they_are_typed(world, people, query, expected):
    assert found(world, query) == expected


def test_the_column_follows_every_write(world, people, actor):
    # given a customer found by her name
    lucia = people["lucia"]
    with tenant_context(world.alpha):
        # when her name changes through the service, and her e-mail through a bulk-style SQL update
        customer_update(customer_id=lucia.pk, data={"last_name": "Núñez"}, actor=actor, reason="test")
        Customer.objects.filter(pk=lucia.pk).update(email="l.nunez@example.com")
    # then the search follows both
    assert found(world, "nunez") == ["Lucía"] and found(world, "rojas") == []
    assert found(world, "l.nunez") == ["Lucía"] and found(world, "lucia.rojas") == []


def test_the_sql_folding_matches_the_python_folding(world):
    # The migration copies the character map; the trigger and the query must fold alike.
    with tenant_context(world.alpha), connection.cursor() as cursor:
        cursor.execute("SELECT customer_search_words(%s, %s, NULL, NULL, NULL)::text", [ACCENTED, PLAIN])
        lexemes = cursor.fetchone()[0]
    assert fold(ACCENTED) == PLAIN and f"'{PLAIN}'" in lexemes


def test_search_terms_squeeze_punctuation_and_bound_the_query():
    assert search_terms("  Lucía.Rojas  30.111.222 ") == ["luciarojas", "30111222"]
    assert len(search_terms("a " * 50)) == 8


def test_portal_search(world, alpha_client, people):
    client = alpha_client(world.user("alpha_viewer"))
    page = client.get("/customers/", {"q": "lucia rojas"})
    assert page.status_code == 200 and [c.first_name for c in page.context["page"]] == ["Lucía"]


def test_portal_invalid_filter_is_a_form_error_not_the_whole_list(world, alpha_client, people):
    response = alpha_client(world.user("alpha_viewer")).get("/customers/", {"last_purchase_after": "yesterday-ish"})
    assert response.status_code == 400
    assert list(response.context["page"]) == [] and "last_purchase_after" in response.context["filter"].errors
    assert 'class="errorlist' in response.content.decode()


def test_api_search_is_honoured(world, api_key, people):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "unmask"]))
    response = client.get("/api/v1/customers/", {"search": "lucia.rojas"})
    assert response.status_code == 200
    assert [row["email"] for row in response.json()["results"]] == ["lucia.rojas@example.com"]
    assert [row["email"] for row in client.get("/api/v1/customers/", {"search": "LUCÍA ROJAS"}).json()["results"]] \
        == ["lucia.rojas@example.com"]


def test_api_invalid_filter_is_a_400(world, api_key, people):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    response = client.get("/api/v1/customers/", {"last_purchase_after": "not-a-date"})
    assert response.status_code == 400 and "last_purchase_after" in response.json()["error"]["fields"]


def test_admin_search(world, people):
    from tests.conftest import host_client

    admin = host_client("alpha.localhost", world.user("alpha_owner"))
    response = admin.get("/admin/customers/customer/", {"q": "lucia rojas"})
    assert response.status_code == 200
    assert [c.first_name for c in response.context["cl"].result_list] == ["Lucía"]

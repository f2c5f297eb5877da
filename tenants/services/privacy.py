"""Who sees personal data in full: the owners' per-tenant choice of which roles hold ``unmask``
and ``sensitive`` (tenants/roles.py). Owners always hold both; the choice is theirs alone."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError, PermissionDenied
from tenants.codes import AuditAction
from tenants.models import Role, Tenant
from tenants.roles import DEFAULT_PRIVACY_GRANTS, GRANTABLE, ROLE_RANK, tenant_privacy_grants
from tenants.services.audit import audit_record, changes_between
from tenants.services.authz import actor_authority

#: The roles an owner chooses for (owners themselves always hold everything).
CHOOSABLE_ROLES = (Role.ADMIN, Role.ANALYST, Role.VIEWER)


def privacy_grants_clean(value) -> dict[str, list[str]]:
    """``{role: [capability, ...]}`` for every choosable role, validated; field errors otherwise."""
    if not isinstance(value, dict):
        raise ApplicationError(_("Invalid privacy grants."),
                               fields={"grants": [_("An object of role: [capability, ...].")]})
    errors: dict[str, list[str]] = {}
    unknown_roles = sorted(set(value) - set(CHOOSABLE_ROLES))
    if unknown_roles:
        errors["grants"] = [_("Unknown or fixed role(s): %(roles)s. Choose for: %(valid)s.")
                            % {"roles": ", ".join(map(str, unknown_roles)), "valid": ", ".join(CHOOSABLE_ROLES)}]
    clean: dict[str, list[str]] = {}
    for role in CHOOSABLE_ROLES:
        caps = value.get(role, list(DEFAULT_PRIVACY_GRANTS[role]))
        if not isinstance(caps, list) or not all(isinstance(cap, str) for cap in caps):
            errors[role] = [_("A list of capabilities.")]
            continue
        bad = [cap for cap in caps if cap not in GRANTABLE]
        if bad:
            errors[role] = [_("Not grantable here: %(caps)s. Valid: %(valid)s.")
                            % {"caps": ", ".join(bad), "valid": ", ".join(GRANTABLE)}]
            continue
        clean[role] = sorted(set(caps))
    if errors:
        raise ApplicationError(_("Invalid privacy grants."), fields=errors)
    return clean


def privacy_grants_get(*, tenant: Tenant) -> dict[str, list[str]]:
    """The grants in force (the tenant's choice or the defaults), one entry per choosable role."""
    chosen = tenant_privacy_grants(tenant) or {}
    return {role: sorted(chosen.get(role, DEFAULT_PRIVACY_GRANTS[role])) for role in CHOOSABLE_ROLES}


@transaction.atomic
def privacy_grants_set(*, tenant: Tenant, grants: dict, actor: Actor) -> dict[str, list[str]]:
    """Set which roles below owner see personal data in full (``unmask``) and read/change the
    sensitive fields (``sensitive``). Owners only (and platform operators): an admin cannot widen
    or narrow what admins see. Audited as ``tenant.privacy_grants`` with the diff."""
    authority = actor_authority(actor=actor, tenant=tenant, platform_perm="tenants.change_tenant")
    if authority.rank < ROLE_RANK[Role.OWNER]:
        raise PermissionDenied(_("Only the tenant's owners choose who sees personal data."))
    clean = privacy_grants_clean(grants)
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = privacy_grants_get(tenant=locked)
    locked.settings = {**(locked.settings or {}), "privacy_grants": clean}
    locked.save(update_fields=["settings", "updated_at"])
    changes = changes_between(before, clean)
    audit_record(actor=actor, action=AuditAction.TENANT_PRIVACY_GRANTS, resource_type="tenant", resource_id=locked.pk,
                 tenant=locked, changes=changes)
    tenant.settings = locked.settings
    return clean

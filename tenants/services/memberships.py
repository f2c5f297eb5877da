"""Users and memberships, with the role hierarchy every interface goes through.

The rules (enforced here, so the API, the portal, the tenant admin and the operators' admin all
get them the same way):

- managing people needs the ``members`` capability (owners and admins; keys scoped for it);
- only owners grant, change or remove the owner and admin roles; below owners, nobody acts on a
  member whose role is at or above their own, nor grants a role at or above their own (an admin
  manages analysts and viewers; an API key ranks as an admin);
- a tenant keeps at least one owner: the last owner is never demoted nor removed, by anyone;
- people join a tenant only by accepting an e-mail invitation (``tenants.services.invitations``).
  Attaching an existing platform user directly (``membership_set`` on a non-member) is for
  platform operators and the system only;
- platform staff (superusers; staff holding the model permission) may do anything else.

Every change takes a lock on the tenant row first, so two owners demoting each other at the same
moment cannot both succeed and leave the tenant without an owner.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cdp import registry
from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound, PermissionDenied
from tenants.codes import AuditAction, ErrorCode
from tenants.models import Membership, Role, Tenant, User
from tenants.roles import MEMBERS
from tenants.services.audit import audit_record, changes_between
from tenants.services.authz import Authority, actor_authority


class LastOwner(ApplicationError):
    code = ErrorCode.LAST_OWNER
    http_status = 409


def user_create(*, email: str, password: str | None, full_name: str = "", is_staff: bool = False,
                is_superuser: bool = False, actor: Actor) -> User:
    """Create a user with a normalized (lowercase) email; a taken email is a field error."""
    email = (email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError("That email is already registered.", fields={"email": ["Already registered."]})
    with transaction.atomic():
        try:
            if is_superuser:
                user = User.objects.create_superuser(email, password, full_name=full_name)
            else:
                user = User.objects.create_user(email, password, full_name=full_name, is_staff=is_staff)
        except ValidationError as exc:
            raise ApplicationError("The user could not be created.", fields=exc.message_dict) from exc
        audit_record(actor=actor, action=AuditAction.USER_CREATE, resource_type="user", resource_id=user.pk,
                     changes={"email": user.email, "is_staff": user.is_staff, "is_superuser": user.is_superuser})
    return user


USER_EDITABLE = ("email", "full_name", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


def _user_state(user: User) -> dict:
    return {"email": user.email, "full_name": user.full_name, "is_active": user.is_active,
            "is_staff": user.is_staff, "is_superuser": user.is_superuser,
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "user_permissions": sorted(f"{app}.{codename}" for app, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"))}


def user_update(*, user: User, actor: Actor, **fields) -> User:
    """Change a user's e-mail, name, access flags, groups or permissions (platform operators):
    audited with each changed field as ``[old, new]``, so who made whom a superuser is on record."""
    unknown = set(fields) - set(USER_EDITABLE)
    if unknown:
        raise ApplicationError(f"Not editable: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = _user_state(user)
        if "email" in fields:
            email = (fields["email"] or "").strip().lower()
            if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                raise ApplicationError("That email is already registered.", fields={"email": ["Already registered."]})
            fields["email"] = email
        for name in ("email", "full_name", "is_active", "is_staff", "is_superuser"):
            if name in fields:
                setattr(user, name, fields[name])
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise ApplicationError("The user could not be saved.", fields=exc.message_dict) from exc
        user.save()
        if "groups" in fields:
            user.groups.set(fields["groups"])
        if "user_permissions" in fields:
            user.user_permissions.set(fields["user_permissions"])
        changes = changes_between(before, _user_state(user))
        if changes:
            audit_record(actor=actor, action=AuditAction.USER_UPDATE, resource_type="user", resource_id=user.pk,
                         changes=changes)
    return user


def user_password_set(*, user: User, password: str, actor: Actor) -> User:
    """Set a user's password (an operator's reset); audited without the password, of course."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=actor, action=AuditAction.USER_PASSWORD_SET, resource_type="user", resource_id=user.pk,
                     changes={"email": user.email})
    return user


def role_check(role: str) -> None:
    if role not in Role.values:
        raise ApplicationError(_("Unknown role."), code=ErrorCode.ROLE_INVALID,
                               fields={"role": [_("Choose one of: %(roles)s.") % {"roles": ", ".join(Role.values)}]})


def membership_authority(*, actor: Actor, tenant: Tenant, perm: str = "tenants.change_membership") -> Authority:
    """The actor's power over ``tenant``'s members (platform staff need Django's ``perm``)."""
    return actor_authority(actor=actor, tenant=tenant, platform_perm=perm)


def grantable_roles(*, actor: Actor, tenant: Tenant) -> list[str]:
    """The roles ``actor`` may give on ``tenant`` (for the choices forms offer), highest first."""
    authority = membership_authority(actor=actor, tenant=tenant)
    if not (authority.is_platform or MEMBERS in authority.capabilities):
        return []
    return [role for role in Role.values if authority.outranks(role)]


def check_may_manage(authority: Authority, *, current_role: str | None = None, new_role: str | None = None) -> None:
    """Raise ``PermissionDenied`` unless ``authority`` may move a member from ``current_role``
    (None: not a member yet) to ``new_role`` (None: removal)."""
    if not (authority.is_platform or MEMBERS in authority.capabilities):
        raise PermissionDenied(_("You may not manage this organization's members."))
    if current_role is not None and not authority.outranks(current_role):
        raise PermissionDenied(_("Only owners change or remove members whose role is at or above your own."))
    if new_role is not None and not authority.outranks(new_role):
        raise PermissionDenied(_("Only owners grant the role '%(role)s'.") % {"role": new_role})


def tenant_lock(tenant: Tenant) -> None:
    Tenant.objects.select_for_update().filter(pk=tenant.pk).exists()


def _ensure_not_last_owner(membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    others = Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise LastOwner(_("A tenant keeps at least one owner: make someone else owner first."))


def membership_create_locked(*, user: User, tenant: Tenant, role: str, actor: Actor, action: str,
                             extra: dict | None = None) -> Membership:
    """Create ``user``'s membership (caller holds the tenant lock and has checked the rules)."""
    # The plan may cap the number of users (licensing registers the guard).
    registry.quota_check("users", tenant=tenant, adding=1)
    membership = Membership.objects.create(user=user, tenant=tenant, role=role)
    audit_record(actor=actor, action=action, resource_type="membership", resource_id=membership.pk, tenant=tenant,
                 changes={"user": user.email, "role": [None, role], **(extra or {})})
    return membership


def membership_set(*, user: User, tenant: Tenant, role: str, actor: Actor) -> Membership:
    """Give ``user`` the ``role`` in ``tenant``.

    For an existing member this is ``membership_role_change``. Creating a membership directly
    (attaching a platform user who did not accept an invitation) is refused to everyone but
    platform operators and the system: tenants invite people by e-mail instead."""
    role_check(role)
    if tenant.is_public:
        raise ApplicationError("Memberships belong to a tenant.", fields={"tenant": ["Not a tenant."]})
    existing = Membership.objects.filter(user=user, tenant=tenant).values_list("pk", flat=True).first()
    if existing is not None:
        return membership_role_change(membership_id=existing, tenant=tenant, role=role, actor=actor)
    authority = membership_authority(actor=actor, tenant=tenant, perm="tenants.add_membership")
    if not authority.is_platform:
        raise PermissionDenied(_("People join an organization by accepting an e-mail invitation."),
                               code=ErrorCode.INVITATION_REQUIRED)
    with transaction.atomic():
        tenant_lock(tenant)
        existing = Membership.objects.filter(user=user, tenant=tenant).first()
        if existing is not None:
            return existing if existing.role == role else _role_change_locked(existing, role=role, actor=actor)
        return membership_create_locked(user=user, tenant=tenant, role=role, actor=actor,
                                        action=AuditAction.MEMBERSHIP_SET)


def _role_change_locked(membership: Membership, *, role: str, actor: Actor) -> Membership:
    old_role = membership.role
    if role != Role.OWNER:
        _ensure_not_last_owner(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(actor=actor, action=AuditAction.MEMBERSHIP_SET, resource_type="membership", resource_id=membership.pk,
                 tenant=membership.tenant,
                 changes={"user": membership.user.email, **changes_between({"role": old_role}, {"role": role})})
    return membership


def membership_role_change(*, membership_id: int, tenant: Tenant, role: str, actor: Actor) -> Membership:
    """Change a member's role within the hierarchy (see the module doc). Idempotent: the same
    role again writes nothing. Another tenant's membership is not found."""
    role_check(role)
    authority = membership_authority(actor=actor, tenant=tenant)
    with transaction.atomic():
        tenant_lock(tenant)
        membership = Membership.objects.select_related("user", "tenant").filter(pk=membership_id, tenant=tenant).first()
        if membership is None:
            raise NotFound(_("No such member."))
        if membership.role == role:
            check_may_manage(authority, current_role=membership.role)
            return membership
        check_may_manage(authority, current_role=membership.role, new_role=role)
        return _role_change_locked(membership, role=role, actor=actor)


def membership_remove(*, membership_id: int, tenant: Tenant, actor: Actor) -> None:
    """Remove a member within the hierarchy; the last owner cannot be removed, so a tenant is
    never orphaned. Another tenant's membership is not found."""
    authority = membership_authority(actor=actor, tenant=tenant, perm="tenants.delete_membership")
    with transaction.atomic():
        tenant_lock(tenant)
        membership = Membership.objects.select_related("user").filter(pk=membership_id, tenant=tenant).first()
        if membership is None:
            raise NotFound(_("No such member."))
        check_may_manage(authority, current_role=membership.role)
        _ensure_not_last_owner(membership)
        audit_record(actor=actor, action=AuditAction.MEMBERSHIP_REMOVE, resource_type="membership",
                     resource_id=membership.pk, tenant=tenant,
                     changes={"user": membership.user.email, "role": membership.role})
        membership.delete()

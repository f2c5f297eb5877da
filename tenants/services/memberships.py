from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from cdp import registry
from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from tenants.models import Membership, Role, Tenant, User
from tenants.services.audit import audit_record


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
        audit_record(actor=actor, action="user.create", resource_type="user", resource_id=user.pk,
                     changes={"email": user.email, "is_staff": user.is_staff, "is_superuser": user.is_superuser})
    return user


def membership_set(*, user: User, tenant: Tenant, role: str, actor: Actor) -> Membership:
    """Give ``user`` the ``role`` in ``tenant`` (creating the membership if needed)."""
    if role not in Role.values:
        raise ApplicationError("Unknown role.", fields={"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if tenant.is_public:
        raise ApplicationError("Memberships belong to a tenant.", fields={"tenant": ["Not a tenant."]})
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        # The plan may cap the number of users (licensing registers the guard).
        registry.quota_check("users", tenant=tenant, adding=1)
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, tenant=tenant, defaults={"role": role}
        )
        old_role = None if created else membership.role
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role", "updated_at"])
        if created or old_role != role:
            audit_record(actor=actor, action="membership.set", resource_type="membership",
                         resource_id=membership.pk, tenant=tenant,
                         changes={"user": user.email, "role": [old_role, role]})
    return membership


def membership_remove(*, membership_id: int, tenant: Tenant, actor: Actor) -> None:
    """Remove a member; the last owner cannot be removed, so a tenant is never orphaned."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(pk=membership_id, tenant=tenant).first()
        if membership is None:
            raise NotFound("No such member.")
        if membership.role == Role.OWNER and not tenant.memberships.filter(role=Role.OWNER).exclude(
            pk=membership.pk
        ).exists():
            raise ApplicationError("A tenant keeps at least one owner.", code="last_owner")
        audit_record(actor=actor, action="membership.remove", resource_type="membership",
                     resource_id=membership.pk, tenant=tenant,
                     changes={"user": membership.user.email, "role": membership.role})
        membership.delete()

"""E-mail invitations: the only way a person joins a tenant.

An owner or admin (or a key scoped ``members``) invites an address with a role they may grant
(``tenants.services.memberships`` rules). The address gets a link to the tenant's own host (its
primary domain, never the host the request came in on); the link carries a 256-bit token of which
only a SHA-256 is stored. Accepting it is single-use, before ``expires_at``, unless revoked:

- a person who already has a platform account proves it (signed in as that e-mail, or with its
  password, checked by the interface through ``authenticate`` so sign-in limits apply);
- a new person chooses a password and gets an account for exactly the invited e-mail.

Nobody ever picks a platform user from a list, and the inviter never sees the link (it would let
them create an account in someone else's name).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from tenants.codes import AuditAction, ErrorCode
from tenants.models import Invitation, Membership, Tenant, User
from tenants.selectors import invitation_existing_user
from tenants.services.audit import audit_record
from tenants.services.memberships import (
    check_may_manage,
    membership_authority,
    membership_create_locked,
    role_check,
    tenant_lock,
    user_create,
)

INVITATION_TTL = datetime.timedelta(days=7)
TOKEN_BYTES = 32


class InvitationInvalid(ApplicationError):
    code = ErrorCode.INVITATION_INVALID
    http_status = 410


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(*, tenant: Tenant, token: str, scheme: str = "https", port: str | None = None) -> str:
    """The accept page on the tenant's primary domain (the request's host is never trusted)."""
    host = tenant.get_primary_domain().domain
    if port and str(port) not in ("80", "443"):
        host = f"{host}:{port}"
    return f"{scheme}://{host}/invitations/{token}/"


def _send(*, invitation_id: int, link: str) -> None:
    invitation = Invitation.objects.select_related("tenant").get(pk=invitation_id)
    context = {"invitation": invitation, "tenant": invitation.tenant, "link": link,
               "inviter": invitation.invited_by_label}
    subject = render_to_string("tenants/invitation_subject.txt", context).strip()
    body = render_to_string("tenants/invitation_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def invitation_create(*, tenant: Tenant, email: str, role: str, actor: Actor, scheme: str = "https",
                      port: str | None = None) -> Invitation:
    """Invite ``email`` to ``tenant`` as ``role`` and e-mail the link (after commit). A new
    invitation to the same address replaces the open one. Refused: roles the actor may not grant,
    addresses that are already members, suspended tenants."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(_("Enter a valid e-mail address."),
                               fields={"email": [_("Enter a valid e-mail address.")]})
    role_check(role)
    if tenant.is_public:
        raise ApplicationError("Invitations belong to a tenant.", fields={"tenant": ["Not a tenant."]})
    authority = membership_authority(actor=actor, tenant=tenant, perm="tenants.add_invitation")
    check_may_manage(authority, new_role=role)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        tenant_lock(tenant)
        if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
            raise Conflict(_("That person is already a member."), code=ErrorCode.MEMBER_EXISTS,
                           fields={"email": [_("Already a member.")]})
        replaced = list(Invitation.objects.filter(tenant=tenant, email__iexact=email, accepted_at__isnull=True,
                                                  revoked_at__isnull=True).values_list("pk", flat=True))
        Invitation.objects.filter(pk__in=replaced).update(revoked_at=now, updated_at=now)
        invitation = Invitation.objects.create(
            tenant=tenant, email=email, role=role, token_hash=_hash(token), invited_by_id=actor.user_id,
            invited_by_label=actor.label[:255], expires_at=now + INVITATION_TTL,
        )
        audit_record(actor=actor, action=AuditAction.INVITATION_CREATE, resource_type="invitation",
                     resource_id=invitation.pk,
                     tenant=tenant, changes={"email": email, "role": role, "expires_at": invitation.expires_at,
                                             "replaced": replaced})
        link = invitation_link(tenant=tenant, token=token, scheme=scheme, port=port)
        transaction.on_commit(lambda: _send(invitation_id=invitation.pk, link=link))
    return invitation


def invitation_revoke(*, invitation_id: int, tenant: Tenant, actor: Actor) -> Invitation:
    """Withdraw an open invitation (its link stops working). Idempotent on a closed one; another
    tenant's invitation is not found. Needs the power to grant the invitation's role."""
    authority = membership_authority(actor=actor, tenant=tenant, perm="tenants.change_invitation")
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id, tenant=tenant).first()
        if invitation is None:
            raise NotFound(_("No such invitation."))
        check_may_manage(authority, new_role=invitation.role)
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at", "updated_at"])
            audit_record(actor=actor, action=AuditAction.INVITATION_REVOKE, resource_type="invitation",
                         resource_id=invitation.pk, tenant=tenant,
                         changes={"email": invitation.email, "role": invitation.role})
    return invitation


def invitation_get_open(*, token: str, tenant: Tenant) -> Invitation:
    """The open invitation for ``token`` on ``tenant``'s host, or ``InvitationInvalid``. One
    answer for unknown, used, revoked, expired and other tenants' tokens."""
    invitation = Invitation.objects.select_related("tenant").filter(token_hash=_hash(token or ""),
                                                                    tenant=tenant).first()
    if invitation is None or invitation.status != "pending":
        raise InvitationInvalid(_("This invitation link is invalid, has expired, was revoked or was already used."))
    return invitation


def invitation_accept(*, token: str, tenant: Tenant, actor: Actor, user: User | None = None,
                      password: str | None = None, full_name: str = "") -> Membership:
    """Use the invitation: ``user`` (an existing account, already authenticated by the interface
    as the invited e-mail) joins; without ``user``, a new account is created for the invited
    e-mail with ``password``. Single use under concurrency (the row is locked). Returns the
    membership (an existing member keeps their role)."""
    with transaction.atomic():
        tenant_lock(tenant)
        invitation = invitation_get_open(token=token, tenant=tenant)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != "pending":
            raise InvitationInvalid(_("This invitation link is invalid, has expired, was revoked or was already used."))
        existing = invitation_existing_user(invitation=invitation)
        if user is not None:
            if not user.is_active or user.email.lower() != invitation.email.lower():
                raise PermissionDenied(_("This invitation was sent to another e-mail address."))
        elif existing is not None:
            raise Conflict(_("An account with this e-mail already exists: sign in with its password to accept."),
                           code=ErrorCode.ACCOUNT_EXISTS,
                           fields={"password": [_("Sign in with your existing password.")]})
        else:
            try:
                validate_password(password or "", user=User(email=invitation.email, full_name=full_name))
            except ValidationError as exc:
                raise ApplicationError(_("Choose another password."), fields={"password": exc.messages}) from exc
            user = user_create(email=invitation.email, password=password, full_name=(full_name or "").strip()[:255],
                               actor=actor)
        membership = Membership.objects.filter(user=user, tenant=tenant).first()
        if membership is None:
            membership = membership_create_locked(user=user, tenant=tenant, role=invitation.role, actor=actor,
                                                  action=AuditAction.MEMBERSHIP_JOIN,
                                                  extra={"invitation": invitation.pk})
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        audit_record(actor=Actor(label=user.email, user_id=user.pk, ip=actor.ip), action=AuditAction.INVITATION_ACCEPT,
                     resource_type="invitation", resource_id=invitation.pk, tenant=tenant,
                     changes={"email": invitation.email, "role": invitation.role, "member_role": membership.role})
    return membership
